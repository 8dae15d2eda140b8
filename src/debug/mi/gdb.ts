// The debugger engine: what a debug session needs from gdb, as plain data and
// events. Shaped like vscode-mock-debug's runtime: no DAP and no vscode here;
// the DAP session (../session.ts) translates.
import { EventEmitter } from 'node:events';
import { GdbGoneError, MiClient, MiError } from './client';
import { list, miQuote, type MiTuple, type MiValue, str, tuple } from './parser';

export type StopReason = 'breakpoint' | 'step' | 'pause' | 'signal' | 'function-finished' | 'attach' | 'exited' | 'other';

export interface StopInfo {
  reason: StopReason;
  threadId?: number;
  breakpointIds: number[];
  signal?: string;
  signalMeaning?: string;
  exitCode?: number;
  frame?: Frame;
}

export interface Frame {
  level: number;
  addr: string;
  func?: string;
  file?: string;
  fullname?: string;
  line?: number;
  from?: string;
}

export interface Thread {
  id: number;
  name: string;
  targetId: string;
  state?: string;
}

export interface Breakpoint {
  number: number;
  pending: boolean;
  file?: string;
  fullname?: string;
  line?: number;
  func?: string;
  times: number;
}

export interface BreakpointSpec {
  /** `file:line`, a function name, or `*address`. */
  location: string;
  condition?: string;
  /** How many hits to skip before stopping. */
  ignoreCount?: number;
}

/** A gdb variable object: a value that can be expanded child by child. */
export interface VarObject {
  name: string;
  exp: string;
  value: string;
  type?: string;
  numchild: number;
  dynamic: boolean;
}

export interface StackVariable {
  name: string;
  isArg: boolean;
}

export interface GdbEvents {
  stopped: [StopInfo];
  running: [threadId: string];
  /** Text for the user: gdb's console stream, its log stream and the inferior's output. */
  output: [category: 'console' | 'stderr' | 'stdout', text: string];
  exited: [exitCode: number | undefined];
  /** gdb itself is gone (the MI stream closed). */
  gone: [];
}

const num = (v: MiValue | undefined) => (str(v) === undefined ? undefined : Number(str(v)));

export function toFrame(t: MiTuple): Frame {
  return {
    level: num(t.level) ?? 0,
    addr: str(t.addr) ?? '',
    func: str(t.func),
    file: str(t.file),
    fullname: str(t.fullname),
    line: num(t.line),
    from: str(t.from),
  };
}

export function toBreakpoint(t: MiTuple): Breakpoint {
  // With several locations (a template, an inlined function) gdb lists them under `locations`.
  const loc = tuple(list(t.locations)[0]) ?? t;
  const pending = str(t.addr) === '<PENDING>' || str(t.pending) !== undefined;
  return {
    number: Number(str(t.number)),
    pending,
    file: str(loc.file) ?? str(t.file),
    fullname: str(loc.fullname) ?? str(t.fullname),
    line: num(loc.line) ?? num(t.line),
    func: str(loc.func) ?? str(t.func),
    times: num(t.times) ?? 0,
  };
}

export function toVarObject(t: MiTuple): VarObject {
  return {
    name: str(t.name) ?? '',
    exp: str(t.exp) ?? str(t.name) ?? '',
    value: str(t.value) ?? '',
    type: str(t.type),
    numchild: num(t.numchild) ?? 0,
    dynamic: str(t.dynamic) === '1',
  };
}

/** Maps an MI *stopped record to a StopInfo. */
export function toStopInfo(r: MiTuple): StopInfo {
  const reason = str(r.reason);
  const threadId = num(r['thread-id']);
  const frame = tuple(r.frame) ? toFrame(tuple(r.frame)!) : undefined;
  const base = { threadId, breakpointIds: [] as number[], frame };
  switch (reason) {
    case 'breakpoint-hit':
      return { ...base, reason: 'breakpoint', breakpointIds: [Number(str(r.bkptno))] };
    case 'end-stepping-range':
    case 'location-reached':
      return { ...base, reason: 'step' };
    case 'function-finished':
      return { ...base, reason: 'function-finished' };
    case 'signal-received': {
      const signal = str(r['signal-name']);
      // -exec-interrupt stops the inferior with SIGINT.
      return { ...base, reason: signal === 'SIGINT' ? 'pause' : 'signal', signal, signalMeaning: str(r['signal-meaning']) };
    }
    case 'exited-normally':
      return { ...base, reason: 'exited', exitCode: 0 };
    case 'exited':
      return { ...base, reason: 'exited', exitCode: Number.parseInt(str(r['exit-code']) ?? '0', 8) };
    case 'exited-signalled':
      return { ...base, reason: 'exited', signal: str(r['signal-name']), signalMeaning: str(r['signal-meaning']) };
    case undefined:
      // gdb reports the stop after an attach without a reason.
      return { ...base, reason: 'attach' };
    default:
      return { ...base, reason: 'other' };
  }
}

export class Gdb extends EventEmitter<GdbEvents> {
  private runningState = false;
  private internalStops = 0;
  private readonly stopWaiters: ((s: StopInfo) => void)[] = [];
  private readonly varRoots = new Set<string>();
  private exitedFlag = false;

  constructor(readonly mi: MiClient) {
    super();
    mi.on('exec', (cls, r) => this.onExec(cls, r));
    mi.on('stream', (kind, text) => this.emit('output', kind === 'log' ? 'stderr' : kind === 'target' ? 'stdout' : 'console', text));
    mi.on('raw', (line) => this.emit('output', 'stdout', line + '\n'));
    mi.on('close', () => {
      for (const w of this.stopWaiters.splice(0)) w({ reason: 'exited', breakpointIds: [] });
      this.emit('gone');
    });
  }

  get running(): boolean {
    return this.runningState;
  }

  get exited(): boolean {
    return this.exitedFlag || this.mi.isClosed;
  }

  private onExec(cls: string, r: MiTuple): void {
    if (cls === 'running') {
      this.runningState = true;
      if (this.internalStops === 0) this.emit('running', str(r['thread-id']) ?? 'all');
      return;
    }
    if (cls !== 'stopped') return;
    this.runningState = false;
    const info = toStopInfo(r);
    if (info.reason === 'exited') {
      this.exitedFlag = true;
      this.emit('exited', info.exitCode);
    }
    const waiter = this.stopWaiters.shift();
    if (waiter) {
      waiter(info);
      return;
    }
    this.emit('stopped', info);
  }

  /** Resolves with the next stop instead of emitting it. */
  private nextStop(): Promise<StopInfo> {
    return new Promise((resolve) => this.stopWaiters.push(resolve));
  }

  async command(cmd: string): Promise<MiTuple> {
    return (await this.mi.send(cmd)).results;
  }

  /**
   * Attaches to `pid` (as seen in gdb's pid namespace, the target's in a
   * sidecar) and resolves when it has stopped. Libraries and the executable are
   * read through /proc/<pid>/root: the sidecar's own root holds other files.
   */
  async attach(pid: number): Promise<StopInfo> {
    await this.command('-gdb-set mi-async on');
    await this.command('-gdb-set pagination off');
    // Show char buffers as the C strings they hold.
    await this.command('-gdb-set print null-stop on');
    await this.command(`-gdb-set sysroot ${miQuote(`/proc/${pid}/root`)}`);
    await this.command(`-file-exec-and-symbols ${miQuote(`/proc/${pid}/exe`)}`);
    const stop = this.nextStop();
    await this.command(`-target-attach ${pid}`);
    return stop;
  }

  /** Runs `fn` with the inferior stopped, resuming it afterwards if it was running (all-stop mode). */
  async whileStopped<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.runningState) return fn();
    this.internalStops++;
    try {
      const stop = this.nextStop();
      await this.command('-exec-interrupt');
      await stop;
      try {
        return await fn();
      } finally {
        if (!this.exited) await this.command('-exec-continue');
      }
    } finally {
      this.internalStops--;
    }
  }

  async insertBreakpoint(b: BreakpointSpec): Promise<Breakpoint> {
    const args = ['-break-insert', '-f'];
    if (b.condition) args.push('-c', miQuote(b.condition));
    if (b.ignoreCount) args.push('-i', String(Math.max(0, Math.floor(b.ignoreCount))));
    args.push(miQuote(b.location));
    const r = await this.command(args.join(' '));
    return toBreakpoint(tuple(r.bkpt) ?? {});
  }

  async deleteBreakpoints(numbers: number[]): Promise<void> {
    if (numbers.length) await this.command(`-break-delete ${numbers.join(' ')}`);
  }

  async threads(): Promise<Thread[]> {
    const r = await this.command('-thread-info');
    return list(r.threads).map((v) => {
      const t = tuple(v) ?? {};
      return { id: Number(str(t.id)), name: str(t.name) ?? str(t['target-id']) ?? `thread ${str(t.id)}`, targetId: str(t['target-id']) ?? '', state: str(t.state) };
    });
  }

  async frames(threadId: number, low = 0, high?: number): Promise<Frame[]> {
    const range = high === undefined ? '' : ` ${low} ${high}`;
    const r = await this.command(`-stack-list-frames --thread ${threadId}${range}`);
    return list(r.stack).map((f) => toFrame(tuple(f) ?? {}));
  }

  async depth(threadId: number): Promise<number> {
    return Number(str((await this.command(`-stack-info-depth --thread ${threadId}`)).depth) ?? 0);
  }

  async stackVariables(threadId: number, level: number): Promise<StackVariable[]> {
    const r = await this.command(`-stack-list-variables --thread ${threadId} --frame ${level} --no-values`);
    return list(r.variables).map((v) => {
      const t = tuple(v) ?? {};
      return { name: str(t.name) ?? '', isArg: str(t.arg) === '1' };
    });
  }

  /** A root variable object for `expression` in a frame; deleted by `releaseVariables` on resume. */
  async createVar(expression: string, threadId?: number, level?: number): Promise<VarObject> {
    const where = threadId === undefined ? '' : ` --thread ${threadId} --frame ${level ?? 0}`;
    const r = await this.command(`-var-create${where} - * ${miQuote(expression)}`);
    const v = toVarObject(r);
    this.varRoots.add(v.name);
    return { ...v, exp: expression };
  }

  async varChildren(name: string): Promise<VarObject[]> {
    const r = await this.command(`-var-list-children --all-values ${miQuote(name)}`);
    return list(r.children).map((c) => toVarObject(tuple(c) ?? {}));
  }

  /**
   * A one-line value for an aggregate, which a variable object shows only as
   * "{...}" or "[16]": gdb prints it from the object's path expression.
   */
  async summary(v: VarObject, threadId?: number, level?: number): Promise<string> {
    if (!/^(\{\.\.\.\}|\[\d+\])$/.test(v.value)) return v.value;
    try {
      const expr = str((await this.command(`-var-info-path-expression ${miQuote(v.name)}`)).path_expr) ?? v.exp;
      return await this.evaluate(expr, threadId, level);
    } catch {
      return v.value;
    }
  }

  async assignVar(name: string, value: string): Promise<string> {
    const r = await this.command(`-var-assign ${miQuote(name)} ${miQuote(value)}`);
    return str(r.value) ?? '';
  }

  /** Deletes the variable objects made while stopped: their values go stale once the inferior runs. */
  async releaseVariables(): Promise<void> {
    const names = [...this.varRoots];
    this.varRoots.clear();
    await Promise.all(names.map((n) => this.command(`-var-delete ${miQuote(n)}`).catch(() => undefined)));
  }

  async evaluate(expression: string, threadId?: number, level?: number): Promise<string> {
    const where = threadId === undefined ? '' : ` --thread ${threadId} --frame ${level ?? 0}`;
    return str((await this.command(`-data-evaluate-expression${where} ${miQuote(expression)}`)).value) ?? '';
  }

  async registers(threadId: number, level: number): Promise<{ name: string; value: string }[]> {
    const names = list((await this.command('-data-list-register-names'))['register-names']).map((n) => str(n) ?? '');
    const r = await this.command(`-data-list-register-values --thread ${threadId} --frame ${level} --skip-unavailable N`);
    return list(r['register-values'])
      .map((v) => tuple(v) ?? {})
      .map((t) => ({ name: names[Number(str(t.number))] ?? '', value: str(t.value) ?? '' }))
      .filter((x) => x.name);
  }

  /** Runs a gdb CLI command and returns what it printed. */
  async console(line: string): Promise<string> {
    let text = '';
    const collect = (kind: string, t: string) => {
      if (kind === 'console') text += t;
    };
    this.mi.on('stream', collect);
    try {
      await this.command(`-interpreter-exec console ${miQuote(line)}`);
    } finally {
      this.mi.off('stream', collect);
    }
    return text;
  }

  private async resume(cmd: string): Promise<void> {
    await this.releaseVariables();
    await this.command(cmd);
  }

  continue(): Promise<void> {
    return this.resume('-exec-continue');
  }

  next(threadId: number): Promise<void> {
    return this.resume(`-exec-next --thread ${threadId}`);
  }

  stepIn(threadId: number): Promise<void> {
    return this.resume(`-exec-step --thread ${threadId}`);
  }

  stepOut(threadId: number): Promise<void> {
    return this.resume(`-exec-finish --thread ${threadId}`);
  }

  async interrupt(): Promise<void> {
    await this.command('-exec-interrupt');
  }

  /** Detaches so the inferior runs on without us; it must be stopped first in all-stop mode. */
  async detach(): Promise<void> {
    if (this.exited) return;
    if (this.runningState) {
      this.internalStops++;
      const stop = this.nextStop();
      await this.command('-exec-interrupt');
      await stop;
      this.internalStops--;
    }
    await this.releaseVariables();
    await this.command('-target-detach');
  }

  async kill(): Promise<void> {
    if (!this.exited) await this.command('-interpreter-exec console "kill"');
  }

  /** Asks gdb to exit; resolves once it did or the stream closed. */
  async exit(): Promise<void> {
    if (this.mi.isClosed) return;
    try {
      await this.command('-gdb-exit');
    } catch (err) {
      if (!(err instanceof GdbGoneError)) throw err;
    }
  }
}

export { MiError, GdbGoneError };
