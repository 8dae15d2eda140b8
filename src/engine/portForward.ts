// Port forwarding into a container's own network namespace: a host loopback
// listener, and for each connection an `nc` exec in a tunnel sidecar that
// shares the target's network namespace. The bytes travel over the Docker API
// stream, so nothing is published and no bridge network is needed. Used by the
// sidecar.ports.forward command and by the debug adapter (Node's inspector).
import net from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import type { ContainerDetail } from './containers';
import type { Engine } from './engine';
import { launchSidecar, processOwner, removeSidecar } from './sidecars';

export interface ForwardRequest {
  /** Target container id or name. */
  target: string;
  /** The port the target listens on inside its network namespace. */
  remotePort: number;
  /** Loopback address inside the target's namespace; 127.0.0.1 unless the target listens elsewhere on loopback. */
  remoteHost?: string;
  /** Host loopback port; 0 picks a free one. Default: the remote port if free, else any free port. */
  localPort?: number;
  /** Tunnel image for this forward; defaults to the service's. */
  image?: string;
  onProgress?: (msg: string) => void;
  signal?: AbortSignal;
}

export interface ActiveForward {
  id: string;
  target: ContainerDetail;
  remoteHost: string;
  remotePort: number;
  /** Always 127.0.0.1: forwards never listen beyond the host's loopback. */
  localHost: string;
  localPort: number;
  tunnelId: string;
  /** Open connections right now. */
  connections: number;
}

export class PortForwardError extends Error {}

/** Checks a port number given by a user; the message names the fix. */
export function parsePort(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) throw new PortForwardError(`${what} must be a whole number from 1 to 65535, not ${JSON.stringify(value)}.`);
  return n;
}

/** Only loopback inside the target's namespace: the tunnel must not become a way to reach other networks. */
export function checkRemoteHost(host: string): string {
  const h = host.trim();
  if (h === 'localhost' || h === '::1' || /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(h)) return h === 'localhost' ? '127.0.0.1' : h;
  throw new PortForwardError(`Forwarding reaches ports on the container's own loopback only; use 127.0.0.1 (or ::1) instead of "${host}".`);
}

interface Forward extends ActiveForward {
  server: net.Server;
  sockets: Set<net.Socket>;
  watch: AbortController;
}

export interface PortForwardOptions {
  /** The image of the tunnel sidecar; it needs `nc` and `sleep` (busybox has both). */
  image: string;
  owner?: string;
  /** The setting that chose the image, for the pull error. */
  setting?: string;
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

export class PortForwardService {
  private readonly forwards = new Map<string, Forward>();
  private readonly changeListeners = new Set<() => void>();
  private seq = 0;

  constructor(private readonly engine: Engine, private readonly opts: PortForwardOptions) {}

  list(): ActiveForward[] {
    return [...this.forwards.values()].map(({ id, target, remoteHost, remotePort, localHost, localPort, tunnelId, connections }) =>
      ({ id, target, remoteHost, remotePort, localHost, localPort, tunnelId, connections }));
  }

  onDidChange(fn: () => void): { dispose(): void } {
    this.changeListeners.add(fn);
    return { dispose: () => this.changeListeners.delete(fn) };
  }

  async forward(req: ForwardRequest): Promise<ActiveForward> {
    const remotePort = parsePort(req.remotePort, 'The container port');
    const remoteHost = checkRemoteHost(req.remoteHost ?? '127.0.0.1');
    const { id: tunnelId, target } = await launchSidecar(this.engine, {
      target: req.target,
      role: 'tunnel',
      image: req.image ?? this.opts.image,
      // Idles so each connection can exec `nc` in it; no shell, no user strings in a command line.
      cmd: ['sleep', '2147483647'],
      share: { pid: false, net: true, ipc: false },
      extraLabels: { 'io.container-sidecar.port': String(remotePort) },
    }, { owner: this.opts.owner ?? processOwner, onProgress: req.onProgress, signal: req.signal, setting: this.opts.setting });
    let server: net.Server;
    try {
      server = await listen(req.localPort ?? remotePort, req.localPort === undefined);
    } catch (err) {
      await removeSidecar(this.engine, tunnelId).catch(() => undefined);
      throw err;
    }
    const id = `${target.shortId}:${remotePort}#${++this.seq}`;
    const f: Forward = {
      id, target, remoteHost, remotePort, localHost: '127.0.0.1', localPort: (server.address() as net.AddressInfo).port,
      tunnelId, connections: 0, server, sockets: new Set(), watch: new AbortController(),
    };
    server.on('connection', (socket) => this.pipe(f, socket));
    this.forwards.set(id, f);
    // The forward ends with its target: a restarted target has a new network namespace.
    this.engine.docker.getContainer(target.id).wait({ abortSignal: f.watch.signal })
      .then(() => {
        this.opts.log?.('info', `Container ${target.name} stopped; port forward 127.0.0.1:${f.localPort} -> ${remotePort} ended.`);
        return this.stop(id);
      })
      .catch(() => undefined);
    this.opts.log?.('info', `Forwarding 127.0.0.1:${f.localPort} to ${remoteHost}:${remotePort} in ${target.name} through tunnel ${tunnelId.slice(0, 12)}`);
    this.fire();
    return this.list().find((x) => x.id === id)!;
  }

  async stop(id: string): Promise<void> {
    const f = this.forwards.get(id);
    if (!f) return;
    this.forwards.delete(id);
    f.watch.abort();
    for (const s of f.sockets) s.destroy();
    await new Promise<void>((r) => f.server.close(() => r()));
    await removeSidecar(this.engine, f.tunnelId).catch((err: unknown) => this.opts.log?.('warn', `Removing tunnel ${f.tunnelId.slice(0, 12)} failed: ${String(err)}`));
    this.fire();
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.forwards.keys()].map((id) => this.stop(id)));
    this.changeListeners.clear();
  }

  private fire(): void {
    for (const fn of this.changeListeners) fn();
  }

  /** One connection: `nc` in the tunnel, its stdin/stdout carried over a hijacked exec stream. */
  private pipe(f: Forward, socket: net.Socket): void {
    // Interactive protocols (DAP, CDP) answer with a response and then an event in separate writes:
    // Nagle would hold the event until the client's delayed ACK, about 40 ms per step.
    socket.setNoDelay(true);
    f.sockets.add(socket);
    f.connections++;
    socket.pause();
    let stream: Duplex | undefined;
    const done = () => {
      if (!f.sockets.delete(socket)) return;
      f.connections--;
      socket.destroy();
      stream?.destroy();
    };
    socket.on('close', done);
    socket.on('error', done);
    void (async () => {
      const exec = await this.engine.call(() => this.engine.docker.getContainer(f.tunnelId).exec({
        Cmd: ['nc', f.remoteHost, String(f.remotePort)],
        AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false,
      }));
      stream = (await exec.start({ hijack: true, stdin: true })) as unknown as Duplex;
      if (!f.sockets.has(socket)) return done();
      // Without a TTY the engine frames stdout and stderr; stdout is the connection's bytes.
      const out = new PassThrough();
      const err = new PassThrough();
      this.engine.docker.modem.demuxStream(stream, out, err);
      // Ending `out` (not the socket) lets the last demuxed bytes flush before the socket ends.
      out.pipe(socket);
      err.on('data', (b: Buffer) => this.opts.log?.('warn', `tunnel to ${f.target.name}:${f.remotePort}: ${b.toString().trim()}`));
      stream.on('end', () => out.end());
      stream.on('close', () => out.end());
      stream.on('error', done);
      // The client's half-close becomes stdin EOF for nc.
      socket.on('end', () => stream?.end());
      socket.on('data', (b: Buffer) => stream?.write(b));
      socket.resume();
    })().catch((e: unknown) => {
      this.opts.log?.('error', `Port forward ${f.id}: ${e instanceof Error ? e.message : String(e)}`);
      done();
    });
  }
}

/** Listens on host loopback only; falls back to a free port when the preferred one is taken. */
function listen(port: number, fallback: boolean): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    // Half-open: a client that ends its side still gets the rest of the answer.
    const server = net.createServer({ allowHalfOpen: true });
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (fallback && port !== 0 && (err.code === 'EADDRINUSE' || err.code === 'EACCES')) return resolve(listen(0, false));
      reject(new PortForwardError(`Cannot listen on 127.0.0.1:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use; choose another local port or 0 for any free port' : err.message}.`));
    });
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
