// The DAP side: translates Debug Adapter Protocol requests into calls on the
// gdb engine (./mi/gdb.ts) and its events back into DAP events. Runs inline in
// the extension host or as its own process (adapterMain.ts); no vscode import.
import fs from 'node:fs';
import path from 'node:path';
import {
  Breakpoint, DebugSession, ExitedEvent, Handles, InitializedEvent, OutputEvent, Scope, Source, StackFrame,
  StoppedEvent, TerminatedEvent, Thread,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { Engine } from '../engine/engine';
import { containerRef } from '../engine/engines';
import type { SidecarAttachArguments } from './config';
import { GDB_IMAGE_SETTING, type GdbSidecar, startGdbSidecar } from './gdbSidecar';
import { Gdb, type Frame, GdbGoneError, MiError, type StopInfo, type VarObject } from './mi/gdb';
import { list, str, tuple } from './mi/parser';
import { createSourceMap, type SourceMap } from './sourceMap';

export interface SessionOptions {
  engine: Engine;
  /** The engine's id for container: URIs of sources outside the workspace; none for the default engine. */
  engineId?: string;
  /** The image from the setting, when the configuration names none. */
  defaultImage?: string;
  /** Progress text while the sidecar starts (image pull, start). */
  onProgress?: (msg: string) => void;
  /** The attach request has been answered (either way). */
  onAttachDone?: () => void;
}

type VarRef =
  | { kind: 'scope'; scope: 'locals' | 'args' | 'registers'; threadId: number; level: number }
  | { kind: 'var'; name: string; threadId?: number; level?: number };

/** A user-facing failure: shown as is, with no stack trace. */
class UserError extends Error {}

export class SidecarDebugSession extends DebugSession {
  private sidecar?: GdbSidecar;
  private gdb?: Gdb;
  private args?: SidecarAttachArguments;
  private sources?: SourceMap;
  private pid = 0;
  private frameHandles = new Handles<{ threadId: number; level: number }>();
  private varHandles = new Handles<VarRef>();
  /** gdb breakpoint numbers per source (remote path) and for functions. */
  private readonly lineBreakpoints = new Map<string, number[]>();
  private functionBreakpoints: number[] = [];
  /** Whether a build path exists in the target container, per path. */
  private readonly containerFiles = new Map<string, Promise<boolean>>();
  private configured = false;
  private ended = false;

  constructor(private readonly opts: SessionOptions) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  protected initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsFunctionBreakpoints: true,
      supportsEvaluateForHovers: true,
      supportsSetVariable: true,
      supportsTerminateRequest: true,
      supportTerminateDebuggee: true,
      supportsDelayedStackTraceLoading: true,
    };
    this.sendResponse(response);
  }

  /** Runs a request handler; errors become an error response with a readable message. */
  private async handle<R extends DebugProtocol.Response>(response: R, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      this.sendResponse(response);
    } catch (err) {
      // gdb's own errors go to the Debug Console (the session carries on); ours are shown to the user.
      const mi = err instanceof MiError;
      if (mi && response.command !== 'evaluate') this.sendEvent(new OutputEvent(`gdb: ${err.message} (${response.command})\n`, 'stderr'));
      this.sendErrorResponse(response, { id: 1, format: explain(err).replace(/\{/g, '(').replace(/\}/g, ')'), showUser: !mi });
    }
  }

  protected attachRequest(response: DebugProtocol.AttachResponse, args: DebugProtocol.AttachRequestArguments): void {
    void this.handle(response, async () => {
      const a = args as SidecarAttachArguments;
      this.args = a;
      if (!a.container || typeof a.container !== 'string') throw new UserError('The configuration needs "container": the name or id of a running container.');
      if ((a.debugger ?? 'gdb') !== 'gdb') throw new UserError(`Debugger "${a.debugger}" is not supported; use "gdb".`);
      const image = a.image || this.opts.defaultImage;
      const sidecar = await startGdbSidecar(this.opts.engine, { target: a.container, image, onProgress: this.opts.onProgress });
      this.sidecar = sidecar;
      try {
        this.gdb = new Gdb(sidecar.mi);
        if (a.trace) sidecar.mi.onTrace = (dir, line) => this.sendEvent(new OutputEvent(`${dir} ${line}\n`, 'console'));
        this.sources = createSourceMap(a.sourceFileMap, containerRef(sidecar.target.id, this.opts.engineId), (p) => fs.existsSync(p));
        this.pid = await this.resolvePid(a, sidecar.target.name);
        try {
          await this.gdb.attach(this.pid);
        } catch (err) {
          throw attachError(err, this.pid, sidecar.target.name);
        }
        if (this.gdb.exited) throw new UserError(`Process ${this.pid} in ${sidecar.target.name} ended while gdb attached.`);
        this.wireEvents(this.gdb);
      } catch (err) {
        // A failed attach leaves no sidecar behind.
        await this.cleanup();
        throw err;
      }
      this.sendEvent(new OutputEvent(`Attached gdb to PID ${this.pid} in ${sidecar.target.name} (sidecar ${sidecar.id.slice(0, 12)}).\n`, 'console'));
      // Breakpoints come after this event; the process stays stopped until configurationDone.
      this.sendEvent(new InitializedEvent());
    }).finally(() => this.opts.onAttachDone?.());
  }

  private async resolvePid(a: SidecarAttachArguments, containerName: string): Promise<number> {
    if (a.processId !== undefined && a.processId !== '') {
      const pid = Number(a.processId);
      if (!Number.isInteger(pid) || pid <= 0) throw new UserError(`"processId" must be a PID inside the container, not ${JSON.stringify(a.processId)}.`);
      return pid;
    }
    // gdb lists the processes of the pid namespace it shares with the target.
    const r = await this.gdb!.command('-list-thread-groups --available');
    const procs = list(r.groups).map((g) => tuple(g) ?? {}).map((g) => ({ pid: Number(str(g.id)), command: str(g.description) ?? '' }));
    if (!a.processName) {
      if (procs.length === 1) return procs[0].pid;
      throw new UserError(`Set "processId" or "processName" to pick one of the processes in ${containerName}: ${procs.map((p) => `${p.pid} ${p.command}`).join('; ')}.`);
    }
    let re: RegExp;
    try {
      re = new RegExp(a.processName);
    } catch {
      throw new UserError(`"processName" is not a valid regular expression: ${a.processName}`);
    }
    // gdb runs in the sidecar's own process, which is in the namespace too.
    const matches = procs.filter((p) => re.test(p.command) && !/^gdb\b|\/gdb\b/.test(p.command));
    if (matches.length === 1) return matches[0].pid;
    if (!matches.length) throw new UserError(`No process in ${containerName} matches "${a.processName}". Its processes: ${procs.map((p) => `${p.pid} ${p.command}`).join('; ')}.`);
    throw new UserError(`Several processes in ${containerName} match "${a.processName}": ${matches.map((p) => `${p.pid} ${p.command}`).join('; ')}. Set "processId" to pick one.`);
  }

  private wireEvents(gdb: Gdb): void {
    gdb.on('stopped', (s) => this.onStopped(s));
    gdb.on('output', (category, text) => {
      // gdb tells the sidecar it cannot open build paths; the editor maps them, so that is noise.
      if (category === 'stderr' && /No such file or directory\.\n$/.test(text)) return;
      if (category === 'console') return; // CLI echo of stops; the UI shows those itself
      this.sendEvent(new OutputEvent(text, category));
    });
    gdb.on('exited', (code) => {
      this.sendEvent(new OutputEvent(`Process ${this.pid} exited${code === undefined ? '' : ` with code ${code}`}.\n`, 'console'));
      this.sendEvent(new ExitedEvent(code ?? 0));
      void this.end();
    });
    gdb.on('gone', () => {
      if (this.ended) return;
      this.sendEvent(new OutputEvent(`gdb's sidecar ended: process ${this.pid} exited or container ${this.sidecar?.target.name ?? ''} stopped.\n`, 'console'));
      void this.end();
    });
  }

  private onStopped(s: StopInfo): void {
    this.frameHandles.reset();
    this.varHandles.reset();
    if (s.reason === 'exited') return;
    if (s.reason === 'attach' && !this.configured) return;
    const reason = { breakpoint: 'breakpoint', step: 'step', 'function-finished': 'step', pause: 'pause', signal: 'exception', attach: 'entry', other: 'pause', exited: 'exited' }[s.reason];
    const ev = new StoppedEvent(reason, s.threadId ?? 1, s.reason === 'signal' ? `${s.signal}: ${s.signalMeaning ?? ''}` : undefined) as DebugProtocol.StoppedEvent;
    ev.body.allThreadsStopped = true;
    if (s.breakpointIds.length) ev.body.hitBreakpointIds = s.breakpointIds;
    this.sendEvent(ev);
  }

  protected configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    void this.handle(response, async () => {
      this.configured = true;
      if (this.args?.stopOnAttach) this.onStopped({ reason: 'attach', threadId: 1, breakpointIds: [] });
      else await this.gdb?.continue();
    });
  }

  private get g(): Gdb {
    if (!this.gdb || this.gdb.exited) throw new UserError('The debugger is not attached.');
    return this.gdb;
  }

  protected setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    void this.handle(response, async () => {
      const gdb = this.g;
      const clientPath = args.source.path ?? args.source.name ?? '';
      const remote = this.sources!.toRemote(clientPath);
      const wanted = args.breakpoints ?? [];
      response.body = { breakpoints: [] };
      await gdb.whileStopped(async () => {
        await gdb.deleteBreakpoints(this.lineBreakpoints.get(remote) ?? []);
        const numbers: number[] = [];
        for (const b of wanted) {
          const hit = parseHitCondition(b.hitCondition);
          if (hit === 'invalid') {
            response.body.breakpoints.push({ verified: false, line: b.line, message: `Hit count "${b.hitCondition}" is not understood; use a number N or ">= N".` });
            continue;
          }
          try {
            const bp = await gdb.insertBreakpoint({ location: `${remote}:${b.line}`, condition: b.condition, ignoreCount: hit });
            numbers.push(bp.number);
            if (!bp.pending && bp.fullname) this.sources!.learn(clientPath, bp.fullname);
            const out = new Breakpoint(!bp.pending, bp.line ?? b.line) as DebugProtocol.Breakpoint;
            out.id = bp.number;
            if (bp.pending) out.message = `${path.basename(remote)} is not in the attached program's debug information (yet).`;
            else if (bp.fullname) out.source = await this.source(bp.fullname);
            response.body.breakpoints.push(out);
          } catch (err) {
            response.body.breakpoints.push({ verified: false, line: b.line, message: explain(err) });
          }
        }
        this.lineBreakpoints.set(remote, numbers);
      });
    });
  }

  protected setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    void this.handle(response, async () => {
      const gdb = this.g;
      response.body = { breakpoints: [] };
      await gdb.whileStopped(async () => {
        await gdb.deleteBreakpoints(this.functionBreakpoints);
        this.functionBreakpoints = [];
        for (const f of args.breakpoints) {
          const hit = parseHitCondition(f.hitCondition);
          try {
            const bp = await gdb.insertBreakpoint({ location: f.name, condition: f.condition, ignoreCount: hit === 'invalid' ? undefined : hit });
            this.functionBreakpoints.push(bp.number);
            const out = new Breakpoint(!bp.pending, bp.line) as DebugProtocol.Breakpoint;
            out.id = bp.number;
            if (bp.fullname) out.source = await this.source(bp.fullname);
            response.body.breakpoints.push(out);
          } catch (err) {
            response.body.breakpoints.push({ verified: false, message: explain(err) });
          }
        }
      });
    });
  }

  protected setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse): void {
    this.sendResponse(response);
  }

  protected threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    void this.handle(response, async () => {
      const threads = this.gdb && !this.gdb.exited ? await this.gdb.threads() : [];
      response.body = { threads: threads.length ? threads.map((t) => new Thread(t.id, `${t.name} (${t.targetId})`)) : [new Thread(1, `process ${this.pid}`)] };
    });
  }

  /**
   * A workspace file when sourceFileMap maps it, else the container's copy
   * through the container: scheme when the file exists there (asked once per
   * path through the engine's archive API, which needs no shell in the target).
   */
  private async source(fullname: string): Promise<DebugProtocol.Source | undefined> {
    const client = this.sources!.toClient(fullname);
    if (!client.startsWith('container:')) return new Source(path.posix.basename(fullname), client);
    let known = this.containerFiles.get(fullname);
    if (known === undefined) {
      const id = this.sidecar?.target.id ?? '';
      known = this.opts.engine.docker.getContainer(id).infoArchive({ path: fullname }).then(() => true, () => false);
      this.containerFiles.set(fullname, known);
    }
    if (!(await known)) return undefined;
    const s = new Source(path.posix.basename(fullname), client) as DebugProtocol.Source;
    s.origin = 'read-only, from the container';
    return s;
  }

  protected stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    void this.handle(response, async () => {
      const gdb = this.g;
      const start = args.startFrame ?? 0;
      const levels = args.levels || 1000;
      const frames: Frame[] = await gdb.frames(args.threadId, start, start + levels - 1);
      const total = await gdb.depth(args.threadId);
      response.body = {
        totalFrames: total,
        stackFrames: await Promise.all(frames.map(async (f) => {
          const id = this.frameHandles.create({ threadId: args.threadId, level: f.level });
          const name = f.func ?? f.addr;
          const src = f.fullname ? await this.source(f.fullname) : undefined;
          const sf = new StackFrame(id, name, src as Source | undefined, src ? f.line ?? 0 : 0, 1) as DebugProtocol.StackFrame;
          if (!src) sf.presentationHint = 'subtle';
          sf.instructionPointerReference = f.addr;
          return sf;
        })),
      };
    });
  }

  protected scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const f = this.frameHandles.get(args.frameId);
    if (!f) {
      this.sendErrorResponse(response, 2, 'That stack frame is gone; the program has run since.');
      return;
    }
    const scope = (name: string, s: 'locals' | 'args' | 'registers', expensive: boolean) => {
      const sc = new Scope(name, this.varHandles.create({ kind: 'scope', scope: s, ...f }), expensive) as DebugProtocol.Scope;
      sc.presentationHint = s;
      return sc;
    };
    response.body = { scopes: [scope('Locals', 'locals', false), scope('Arguments', 'args', false), scope('Registers', 'registers', true)] };
    this.sendResponse(response);
  }

  private async toVariable(v: VarObject, where: { threadId?: number; level?: number }, name = v.exp): Promise<DebugProtocol.Variable> {
    return {
      name,
      value: await this.g.summary(v, where.threadId, where.level),
      type: v.type,
      variablesReference: v.numchild > 0 || v.dynamic ? this.varHandles.create({ kind: 'var', name: v.name, threadId: where.threadId, level: where.level }) : 0,
    };
  }

  protected variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    void this.handle(response, async () => {
      const gdb = this.g;
      const ref = this.varHandles.get(args.variablesReference);
      response.body = { variables: [] };
      if (!ref) return;
      if (ref.kind === 'var') {
        for (const k of await gdb.varChildren(ref.name)) response.body.variables.push(await this.toVariable(k, ref));
        return;
      }
      if (ref.scope === 'registers') {
        const regs = await gdb.registers(ref.threadId, ref.level);
        response.body.variables = regs.map((r) => ({ name: r.name, value: r.value, variablesReference: 0 }));
        return;
      }
      const names = (await gdb.stackVariables(ref.threadId, ref.level)).filter((v) => v.isArg === (ref.scope === 'args'));
      for (const n of names) {
        try {
          const v = await gdb.createVar(n.name, ref.threadId, ref.level);
          response.body.variables.push({ ...await this.toVariable(v, ref, n.name), evaluateName: n.name });
        } catch (err) {
          response.body.variables.push({ name: n.name, value: `<${explain(err)}>`, variablesReference: 0 });
        }
      }
    });
  }

  protected setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    void this.handle(response, async () => {
      const gdb = this.g;
      const ref = this.varHandles.get(args.variablesReference);
      if (!ref || ref.kind === 'scope' && ref.scope === 'registers') throw new UserError('Registers cannot be changed here; use the debug console.');
      let target: string;
      if (ref.kind === 'var') {
        const kid = (await gdb.varChildren(ref.name)).find((k) => k.exp === args.name);
        if (!kid) throw new UserError(`${args.name} is gone; the program has run since.`);
        target = kid.name;
      } else {
        target = (await gdb.createVar(args.name, ref.threadId, ref.level)).name;
      }
      response.body = { value: await gdb.assignVar(target, args.value) };
    });
  }

  protected evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    void this.handle(response, async () => {
      const gdb = this.g;
      const f = args.frameId === undefined ? undefined : this.frameHandles.get(args.frameId);
      // In the debug console, "-exec <command>" runs a gdb command (as in the C/C++ extension).
      const cli = args.context === 'repl' ? /^-exec\s+(.+)$/s.exec(args.expression) : null;
      if (cli) {
        response.body = { result: (await gdb.console(cli[1])).replace(/\n$/, ''), variablesReference: 0 };
        return;
      }
      let v: VarObject;
      try {
        v = await gdb.createVar(args.expression, f?.threadId, f?.level);
      } catch (err) {
        // -var-create only says "unable to create variable object"; plain evaluation gives gdb's reason (or a value).
        if (!(err instanceof MiError)) throw err;
        response.body = { result: await gdb.evaluate(args.expression, f?.threadId, f?.level), variablesReference: 0 };
        return;
      }
      const out = await this.toVariable(v, { threadId: f?.threadId, level: f?.level });
      response.body = { result: out.value, type: out.type, variablesReference: out.variablesReference };
    });
  }

  private resume(response: DebugProtocol.Response, fn: (g: Gdb) => Promise<void>): void {
    void this.handle(response, async () => {
      const g = this.g;
      this.frameHandles.reset();
      this.varHandles.reset();
      await fn(g);
    });
  }

  protected continueRequest(response: DebugProtocol.ContinueResponse): void {
    response.body = { allThreadsContinued: true };
    this.resume(response, (g) => g.continue());
  }

  protected nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.resume(response, (g) => g.next(args.threadId));
  }

  protected stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.resume(response, (g) => g.stepIn(args.threadId));
  }

  protected stepOutRequest(response: DebugProtocol.StepOutResponse, args: DebugProtocol.StepOutArguments): void {
    this.resume(response, (g) => g.stepOut(args.threadId));
  }

  protected pauseRequest(response: DebugProtocol.PauseResponse): void {
    void this.handle(response, async () => {
      const g = this.g;
      if (g.running) await g.interrupt();
    });
  }

  /** Kills the debugged process: only when the user asks for it. */
  protected terminateRequest(response: DebugProtocol.TerminateResponse): void {
    void this.handle(response, async () => {
      await this.g.kill();
      await this.end();
    });
  }

  protected disconnectRequest(response: DebugProtocol.DisconnectResponse, args: DebugProtocol.DisconnectArguments): void {
    void this.handle(response, async () => {
      try {
        if (this.gdb && !this.gdb.exited) {
          // Detach, so the process runs on as if we had never been there.
          if (args.terminateDebuggee) await this.gdb.kill();
          else await this.gdb.detach();
          await this.gdb.exit();
        }
      } catch (err) {
        if (!(err instanceof GdbGoneError)) this.sendEvent(new OutputEvent(`Detaching failed: ${explain(err)}\n`, 'stderr'));
      } finally {
        await this.cleanup();
      }
    });
  }

  private async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.cleanup();
    this.sendEvent(new TerminatedEvent());
  }

  /** The workbench disposes an inline adapter when its session ends, however it ended. */
  dispose(): void {
    this.opts.onAttachDone?.();
    void this.cleanup();
    super.dispose();
  }

  /** Removes the gdb sidecar; safe to call more than once. */
  async cleanup(): Promise<void> {
    const s = this.sidecar;
    this.sidecar = undefined;
    try {
      await s?.dispose();
    } catch (err) {
      this.sendEvent(new OutputEvent(`Removing the gdb sidecar failed: ${explain(err)}\n`, 'stderr'));
    }
  }
}

/** DAP hit conditions "N", ">= N", "> N" as a gdb ignore count. */
export function parseHitCondition(h: string | undefined): number | undefined | 'invalid' {
  if (!h || !h.trim()) return undefined;
  const m = /^\s*(>=|>|==)?\s*(\d+)\s*$/.exec(h);
  if (!m) return 'invalid';
  const n = Number(m[2]);
  return m[1] === '>' ? n : Math.max(0, n - 1);
}

function attachError(err: unknown, pid: number, container: string): Error {
  const msg = err instanceof Error ? err.message : String(err);
  // gdb names the missing process either way, depending on which step meets it first.
  if (/No such process|\/proc\/\d+\/exe: No such file/i.test(msg)) {
    return new UserError(`There is no process with PID ${pid} in container ${container}. Pick a process from the container's process list, or use "processName".`);
  }
  const tracer = /already traced by process (\d+)/.exec(msg);
  if (tracer) {
    return new UserError(`ptrace was denied: PID ${pid} in container ${container} is already traced by process ${tracer[1]} (another debugger). Detach that debugger, then attach again.`);
  }
  if (/Operation not permitted|ptrace/i.test(msg)) {
    const last = msg.trim().split('\n').pop();
    return new UserError(`ptrace was denied attaching to PID ${pid} in container ${container} (${last}). The gdb sidecar runs with CAP_SYS_PTRACE; a seccomp or AppArmor profile or Yama's kernel.yama.ptrace_scope=3 can still refuse it. Allow ptrace for the sidecar on this engine.`);
  }
  return err instanceof Error ? err : new Error(msg);
}

/** Every error this adapter meets carries a message meant for the user (MI errors are gdb's own text). */
function explain(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export { GDB_IMAGE_SETTING };
