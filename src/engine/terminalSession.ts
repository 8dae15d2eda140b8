// An interactive sidecar over the Docker API: the container's TTY through
// dockerode's attach stream (no docker CLI), resize, and one clear ending.
// The VS Code terminal is a thin Pseudoterminal over this, so the lifecycle
// is tested in plain Node against the real engine.
import { StringDecoder } from 'node:string_decoder';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { EngineUnavailableError } from './connection';
import type { ContainerDetail } from './containers';
import type { Engine } from './engine';
import { launchSidecar, type LaunchOptions, removeSidecar, type SidecarSpec } from './sidecars';

export type SessionEnd =
  /** We closed it (terminal closed, Detach, deactivate). */
  | { kind: 'detached' }
  /** The sidecar's command ended by itself, e.g. the user typed `exit`. */
  | { kind: 'exited'; code?: number }
  /** The target stopped or was removed; its sidecar ends with it. */
  | { kind: 'target-stopped'; state: string }
  /** The engine stopped answering. */
  | { kind: 'engine-lost'; message: string };

/** A sentence for the terminal's last line. */
export function describeEnd(end: SessionEnd, targetName: string): string {
  switch (end.kind) {
    case 'detached': return 'Sidecar detached and removed.';
    case 'exited': return `The sidecar's shell ended${end.code !== undefined ? ` (exit code ${end.code})` : ''}; the sidecar was removed.`;
    case 'target-stopped': return `Container ${targetName} ${end.state === 'missing' ? 'was removed' : `stopped (${end.state})`}, so its sidecar ended and was removed.`;
    case 'engine-lost': return `The Docker Engine stopped answering, so the sidecar session ended: ${end.message}`;
  }
}

const MAX_TRANSCRIPT = 64 * 1024;

export class SidecarTerminalSession {
  private readonly dataListeners = new Set<(s: string) => void>();
  private readonly endListeners = new Set<(e: SessionEnd) => void>();
  private readonly decoder = new StringDecoder('utf8');
  private readonly watchers = new AbortController();
  private closing = false;
  private endValue: SessionEnd | undefined;
  private exitCode: Promise<number | undefined>;
  /** The last 64 KiB of output, for tests and for messages. */
  transcript = '';
  readonly ended: Promise<SessionEnd>;
  private resolveEnded!: (e: SessionEnd) => void;

  private constructor(
    private readonly engine: Engine,
    readonly id: string,
    readonly container: Docker.Container,
    readonly target: ContainerDetail,
    private readonly stream: Duplex,
    exitCode: Promise<number | undefined>,
  ) {
    this.exitCode = exitCode;
    this.ended = new Promise((r) => (this.resolveEnded = r));
    stream.on('data', (b: Buffer) => this.emitData(this.decoder.write(b)));
    stream.on('end', () => void this.finish());
    stream.on('close', () => void this.finish());
    stream.on('error', () => void this.finish());
    // A sidecar that does not share the target's pid namespace would outlive it: end it when the target stops.
    engine.docker.getContainer(target.id).wait({ abortSignal: this.watchers.signal })
      .then(() => removeSidecar(engine, id))
      .catch(() => undefined);
  }

  /** Starts the sidecar with a TTY and attaches before it starts, so no early output is lost. */
  static async open(engine: Engine, spec: SidecarSpec, opts: LaunchOptions & { cols?: number; rows?: number } = {}): Promise<SidecarTerminalSession> {
    let stream: Duplex | undefined;
    let exitCode: Promise<number | undefined> = Promise.resolve(undefined);
    const launched = await launchSidecar(engine, { ...spec, tty: true, openStdin: true }, {
      ...opts,
      beforeStart: async (c) => {
        await opts.beforeStart?.(c);
        stream = (await engine.call(() => c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }))) as Duplex;
        // "removed" answers once AutoRemove is done, with the exit code.
        exitCode = c.wait({ condition: 'removed' }).then((r: { StatusCode?: number }) => r.StatusCode, () => undefined);
      },
    });
    const session = new SidecarTerminalSession(engine, launched.id, launched.container, launched.target, stream!, exitCode);
    if (opts.cols && opts.rows) await session.resize(opts.cols, opts.rows);
    return session;
  }

  get end(): SessionEnd | undefined {
    return this.endValue;
  }

  onData(fn: (s: string) => void): { dispose(): void } {
    this.dataListeners.add(fn);
    return { dispose: () => this.dataListeners.delete(fn) };
  }

  onEnd(fn: (e: SessionEnd) => void): { dispose(): void } {
    if (this.endValue) fn(this.endValue);
    else this.endListeners.add(fn);
    return { dispose: () => this.endListeners.delete(fn) };
  }

  write(data: string): void {
    if (!this.endValue && this.stream.writable) this.stream.write(data);
  }

  async resize(cols: number, rows: number): Promise<void> {
    if (this.endValue || cols < 1 || rows < 1) return;
    // A resize that races the container's end is harmless.
    await this.container.resize({ w: Math.floor(cols), h: Math.floor(rows) }).catch(() => undefined);
  }

  /** Detach: stop and remove the sidecar. Resolves when it is gone. */
  async close(): Promise<SessionEnd> {
    if (this.endValue) return this.endValue;
    this.closing = true;
    try {
      await removeSidecar(this.engine, this.id);
    } finally {
      this.stream.destroy();
    }
    return this.finish();
  }

  private emitData(s: string): void {
    if (!s) return;
    this.transcript = (this.transcript + s).slice(-MAX_TRANSCRIPT);
    for (const fn of this.dataListeners) fn(s);
  }

  private finishing: Promise<SessionEnd> | undefined;
  private finish(): Promise<SessionEnd> {
    this.finishing ??= (async () => {
      this.emitData(this.decoder.end());
      const end = this.closing ? { kind: 'detached' as const } : await this.whyEnded();
      this.watchers.abort();
      this.stream.destroy();
      if (end.kind !== 'engine-lost') await removeSidecar(this.engine, this.id).catch(() => undefined);
      this.endValue = end;
      for (const fn of this.endListeners) fn(end);
      this.endListeners.clear();
      this.resolveEnded(end);
      return end;
    })();
    return this.finishing;
  }

  private async whyEnded(): Promise<SessionEnd> {
    try {
      const t = await this.engine.call((d) => d.getContainer(this.target.id).inspect()).catch((err: unknown) => {
        if ((err as { statusCode?: number }).statusCode === 404) return undefined;
        throw err;
      });
      if (!t) return { kind: 'target-stopped', state: 'missing' };
      // "removing" is a removal caught half-way: for the user the target is gone.
      if (!t.State.Running) return { kind: 'target-stopped', state: t.State.Status === 'removing' ? 'missing' : t.State.Status };
      const code = await Promise.race([this.exitCode, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
      return { kind: 'exited', code };
    } catch (err) {
      if (err instanceof EngineUnavailableError) return { kind: 'engine-lost', message: err.message };
      return { kind: 'engine-lost', message: err instanceof Error ? err.message : String(err) };
    }
  }
}
