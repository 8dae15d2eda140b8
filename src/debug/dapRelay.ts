// DAP between VS Code and a debugger's own DAP server running in a container
// (debugpy, `dlv dap`). Those servers speak DAP already, so nothing is
// translated: the relay frames messages, maps source paths both ways, keeps
// the debuggee alive on Stop, and keeps the container's PIDs and reverse
// requests away from the host. Each runtime implements `DapLauncher` (start
// its server in sidecars, forward the port); the relay owns the connection.
// No vscode import: the relay is a structural `vscode.DebugAdapter`.
import net from 'node:net';
import path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { Engine } from '../engine/engine';
import type { ImageBuildSpec } from '../engine/imageBuild';
import type { PortForwardService } from '../engine/portForward';
import type { SidecarAttachArguments } from './config';
import { createSourceMap } from './sourceMap';

/** What a launcher needs to know about its target. */
export interface DapTarget {
  /** The target container's full id. */
  containerId: string;
  containerName: string;
  /** The process's PID inside the container (never a host PID). */
  processId: number;
  /** The debugger image, already resolved (configured, or built from the shipped Dockerfile). */
  image: string;
  /** The user's attach configuration (justMyCode, port, ...). */
  config: SidecarAttachArguments;
}

export interface DapLaunchDeps {
  engine: Engine;
  forwards: PortForwardService;
  onProgress?: (msg: string) => void;
  signal?: AbortSignal;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

/** A debugger's DAP server, ready to take a client. */
export interface DapServer {
  /** The host loopback port of the forward to the server inside the target's network namespace. */
  port: number;
  /** The arguments the relay sends as the `attach` request's (the configuration's are replaced). */
  attachArguments: Record<string, unknown>;
  /** Stops the forward and removes the sidecars this launch started; the debuggee runs on. Safe twice. */
  dispose(): Promise<void>;
  /** A sentence for a failed response of the server (e.g. delve's attach refusals), or undefined to pass its words on. */
  explainFailure?(command: string, message: string): string | undefined;
}

/** One runtime's way to get a DAP server next to a process. */
export interface DapLauncher {
  /** The value of the attach attribute `debugger`, e.g. `python`. */
  readonly debugger: string;
  /** The debugger's name for messages, e.g. `debugpy`. */
  readonly label: string;
  /** The setting that names a prebuilt image; empty builds `imageSpec`. */
  readonly imageSetting: string;
  imageSpec(imagesDir: string): ImageBuildSpec;
  start(target: DapTarget, deps: DapLaunchDeps): Promise<DapServer>;
  /**
   * sourceFileMap when the configuration has none, for runtimes whose sources
   * are not named by the command line (Go: the build paths in the executable).
   * Without it, the workbench infers it from the process's script as for node.
   */
  inferSourceFileMap?(o: { engine: Engine; containerId: string; hostPid?: number; command: string; folders: string[]; editorFiles: string[]; exists: (p: string) => boolean }): Promise<Record<string, string> | undefined>;
}

/** Source paths both ways: `toClient` for what the server reports, `toRemote` for what VS Code sends. */
export interface PathMapper {
  toClient(remotePath: string): string;
  toRemote(clientPath: string): string;
}

/**
 * `sourceFileMap` (container prefixes to workspace prefixes) as a PathMapper.
 * A container path is normalised first, so `..` cannot climb out of a mapped
 * workspace folder; unmapped container files open read-only as
 * `container://<id>/<path>`; unmapped workspace files go to the server as they are.
 */
export function dapPaths(map: Record<string, string> | undefined, containerId: string, exists: (p: string) => boolean): PathMapper {
  const sm = createSourceMap(map, containerId, exists);
  return {
    toClient: (p) => sm.toClient(p.startsWith('/') ? path.posix.normalize(p) : p),
    toRemote: (p) => {
      const r = sm.toRemote(p);
      return r.startsWith('/') ? r : p;
    },
  };
}

/** Rewrites `source.path` and `sources[].path` anywhere in a message body or arguments, in place. */
export function mapSourcePaths(value: unknown, map: (p: string) => string): void {
  if (Array.isArray(value)) {
    for (const v of value) mapSourcePaths(v, map);
    return;
  }
  if (!value || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'source' && isSource(v)) v.path = map(v.path);
    if (k === 'sources' && Array.isArray(v)) for (const s of v) if (isSource(s)) s.path = map(s.path);
    mapSourcePaths(v, map);
  }
}

function isSource(v: unknown): v is { path: string } {
  return !!v && typeof v === 'object' && typeof (v as { path?: unknown }).path === 'string';
}

/** Incremental `Content-Length` framing. */
export class DapFramer {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onMessage: (m: DebugProtocol.ProtocolMessage) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /content-length:\s*(\d+)/i.exec(this.buf.subarray(0, end).toString('ascii'));
      if (!m) throw new Error('A DAP message had no Content-Length header.');
      const len = Number(m[1]);
      if (this.buf.length < end + 4 + len) return;
      const body = this.buf.subarray(end + 4, end + 4 + len).toString('utf8');
      this.buf = this.buf.subarray(end + 4 + len);
      this.onMessage(JSON.parse(body) as DebugProtocol.ProtocolMessage);
    }
  }
}

export function encodeDap(m: object): Buffer {
  const body = Buffer.from(JSON.stringify(m), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

/** Events a server may send that carry a process id or ask the client to act on one: never passed on. */
const DROPPED_EVENTS = new Set(['debugpyAttach']);

export interface DapRelayOptions {
  /** Starts the server (sidecars, forward); called once, on `initialize`. */
  start(): PromiseLike<DapServer>;
  paths?: PathMapper;
  /** Let Stop terminate the debuggee (`terminateDebuggee` passed on). Default: Stop detaches and the process runs on. */
  terminateOnStop?: boolean;
  log?: (level: 'info' | 'warn' | 'error' | 'trace', msg: string) => void;
}

type Listener = (m: DebugProtocol.ProtocolMessage) => void;

/**
 * The adapter VS Code talks to (the shape of `vscode.DebugAdapter`). The first
 * `initialize` starts the server; requests that arrive meanwhile wait in order.
 */
export class DapRelay {
  private readonly listeners = new Set<Listener>();
  private socket?: net.Socket;
  private server?: DapServer;
  private starting?: Promise<void>;
  private failed?: string;
  private queue: DebugProtocol.Request[] = [];
  private disposed = false;
  private seq = 1_000_000;

  constructor(private readonly opts: DapRelayOptions) {}

  readonly onDidSendMessage = (listener: Listener): { dispose(): void } => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  handleMessage(message: DebugProtocol.ProtocolMessage): void {
    if (message.type !== 'request') return this.toServer(message);
    const req = message as DebugProtocol.Request;
    if (this.failed) return this.answerFailed(req);
    if (!this.starting) this.starting = this.connect();
    if (this.socket && !this.queue.length) return this.forward(req);
    this.queue.push(req);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.socket?.destroy();
    void this.server?.dispose().catch((err: unknown) => this.opts.log?.('warn', `Removing the debugger's sidecars failed: ${String(err)}`));
  }

  private async connect(): Promise<void> {
    try {
      this.server = await this.opts.start();
      if (this.disposed) {
        await this.server.dispose();
        return;
      }
      this.socket = await connectLoopback(this.server.port);
    } catch (err) {
      this.failed = err instanceof Error ? err.message : String(err);
      this.opts.log?.('error', this.failed);
      const waiting = this.queue;
      this.queue = [];
      for (const r of waiting) this.answerFailed(r);
      return;
    }
    const framer = new DapFramer((m) => this.fromServer(m));
    this.socket.on('data', (b: Buffer) => {
      try {
        framer.push(b);
      } catch (err) {
        this.opts.log?.('error', `The debugger's server sent something that is not DAP: ${String(err)}`);
        this.socket?.destroy();
      }
    });
    this.socket.on('error', (err) => this.opts.log?.('warn', `Connection to the debugger's server: ${err.message}`));
    this.socket.on('close', () => {
      if (this.disposed) return;
      this.opts.log?.('info', 'The debugger\'s server closed the connection.');
      this.emit({ seq: this.seq++, type: 'event', event: 'terminated' } as DebugProtocol.TerminatedEvent);
      this.dispose();
    });
    const waiting = this.queue;
    this.queue = [];
    for (const r of waiting) this.forward(r);
  }

  /** A request from VS Code on its way to the server. */
  private forward(req: DebugProtocol.Request): void {
    const out = { ...req } as DebugProtocol.Request;
    switch (req.command) {
      case 'initialize':
        // Reverse requests would run commands on the host on a container's say: the server must not ask.
        out.arguments = { ...req.arguments, supportsRunInTerminalRequest: false, supportsStartDebuggingRequest: false };
        break;
      case 'attach':
        out.arguments = { ...this.server!.attachArguments };
        break;
      case 'disconnect':
        if (!this.opts.terminateOnStop) out.arguments = { ...req.arguments, terminateDebuggee: false };
        break;
      case 'terminate':
        if (!this.opts.terminateOnStop) {
          // Stop must leave the service running: turn it into a detach.
          out.command = 'disconnect';
          out.arguments = { terminateDebuggee: false };
        }
        break;
      default:
        if (this.opts.paths && req.arguments) {
          out.arguments = structuredClone(req.arguments);
          mapSourcePaths(out.arguments, (p) => this.opts.paths!.toRemote(p));
        }
    }
    this.toServer(out);
  }

  private toServer(m: DebugProtocol.ProtocolMessage): void {
    if (!this.socket || this.socket.destroyed) return;
    this.socket.write(encodeDap(m));
  }

  /** A message from the server on its way to VS Code. */
  private fromServer(m: DebugProtocol.ProtocolMessage): void {
    if (m.type === 'request') {
      // runInTerminal, startDebugging and the like: the host does nothing a container asks for.
      const r = m as DebugProtocol.Request;
      this.opts.log?.('warn', `The debugger's server asked for "${r.command}"; refused.`);
      this.toServer({ seq: this.seq++, type: 'response', request_seq: r.seq, command: r.command, success: false, message: 'not available through Container Sidecar' } as DebugProtocol.Response);
      return;
    }
    if (m.type === 'event') {
      const e = m as DebugProtocol.Event;
      if (DROPPED_EVENTS.has(e.event)) return;
      // A PID inside the container means nothing on the host: VS Code must never see one it could act on.
      if (e.event === 'process' && e.body) {
        delete (e.body as { systemProcessId?: number }).systemProcessId;
        (e.body as { isLocalProcess?: boolean }).isLocalProcess = false;
      }
      if (this.opts.paths && e.body) mapSourcePaths(e.body, (p) => this.opts.paths!.toClient(p));
    }
    if (m.type === 'response') {
      const r = m as DebugProtocol.Response;
      if (!r.success) explainFailure(r, this.server?.explainFailure);
      if (r.command === 'initialize' && r.body && !this.opts.terminateOnStop) {
        // Without a terminate request VS Code's Stop sends `disconnect`, which the relay makes a detach.
        delete (r.body as DebugProtocol.Capabilities).supportsTerminateRequest;
      }
      if (this.opts.paths && r.body) mapSourcePaths(r.body, (p) => this.opts.paths!.toClient(p));
      if (r.command === 'disconnect') {
        this.emit(r);
        this.dispose();
        return;
      }
    }
    this.emit(m);
  }

  /** Answers a request while the server could not be started: the reason once, then quiet failures. */
  private answerFailed(req: DebugProtocol.Request): void {
    const ok = req.command === 'disconnect' || req.command === 'terminate';
    this.emit({
      seq: this.seq++, type: 'response', request_seq: req.seq, command: req.command, success: ok,
      ...(ok ? {} : { message: this.failed, body: { error: { id: 1, format: this.failed!.replace(/[{}]/g, ''), showUser: req.command === 'initialize' } } }),
    } as DebugProtocol.Response);
    if (req.command === 'initialize') this.emit({ seq: this.seq++, type: 'event', event: 'terminated' } as DebugProtocol.TerminatedEvent);
  }

  private emit(m: DebugProtocol.ProtocolMessage): void {
    for (const l of this.listeners) l(m);
  }
}

/** Puts the launcher's sentence into a failed response; servers such as delve keep the detail in body.error.format. */
function explainFailure(r: DebugProtocol.Response, explain: DapServer['explainFailure']): void {
  if (!explain) return;
  const e = r as DebugProtocol.ErrorResponse;
  const sentence = explain(r.command, e.body?.error?.format ?? r.message ?? '');
  if (!sentence) return;
  r.message = sentence;
  // A DAP format string treats {name} as a variable: keep braces out of the sentence.
  e.body = { ...e.body, error: { id: e.body?.error?.id ?? 1, ...e.body?.error, format: sentence.replace(/[{}]/g, ''), showUser: true } };
}

/** Connects to the forward on the host's loopback. */
function connectLoopback(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setNoDelay(true);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
