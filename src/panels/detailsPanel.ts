// The container details panel: one per container, reused when shown again.
// The stats stream, the process sampler and the log follow run only while the
// panel is visible; hiding or closing it ends them.
import * as vscode from 'vscode';
import { PassThrough, type Readable } from 'node:stream';
import type { SidecarContext } from '../context';
import type { Engine } from '../engine/engine';
import { containerRef, isEngineId } from '../engine/engines';
import type { ExplorerModel } from '../views/model';
import { onJsonLines } from '../engine/jsonLines';
import { isHostId, isMemberId, parseDetailsMessage, type DetailsAction, type HostToDetails } from '../../webviews/protocol';
import { demuxLogs, envEntries, ProcessSampler, statsSample, toDetailsData, type RawStats } from './detailsData';
import { pageHtml, webviewOptions } from './webview';

export const DETAILS_VIEW_TYPE = 'sidecar.containerDetails';
// Like top's default refresh; the full process rescan runs every fourth tick (ProcessSampler).
const PROCESS_MS = 3000;
const LOG_TAIL = 200;

const COMMANDS: Record<DetailsAction, string> = {
  start: 'sidecar.containers.start',
  stop: 'sidecar.containers.stop',
  restart: 'sidecar.containers.restart',
  attach: 'sidecar.debugger.attach',
  files: 'sidecar.files.open',
  shell: 'sidecar.containers.shell',
  logs: 'sidecar.containers.logs',
  map: 'sidecar.namespaces.showMap',
};

export class DetailsPanel implements vscode.Disposable {
  /** The open stats stream, if any: tests check it ends when the panel hides. */
  stats: Readable | undefined;
  private logs: Readable | undefined;
  private follow = true;
  private processTimer: NodeJS.Timeout | undefined;
  private secrets = new Map<string, string>();
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  private ready = false;

  /** The engine that holds the container (its model's). */
  private get engine(): Engine {
    return this.ctx.engineFor(this.engineId);
  }
  /** Bumped on each (re)start, so answers of an older stream start are dropped. */
  private generation = 0;
  /** The container's process the live parts were started for ("" when not running). */
  private liveFor: string | undefined;
  private inspected: Parameters<typeof toDetailsData>[0] | undefined;

  constructor(readonly panel: vscode.WebviewPanel, readonly containerId: string, private readonly ctx: SidecarContext, private readonly model: ExplorerModel, private readonly onDispose: () => void, private readonly engineId?: string) {
    panel.webview.options = webviewOptions(ctx.extension.extensionUri);
    panel.webview.html = pageHtml(panel.webview, ctx.extension.extensionUri, 'details', panel.title);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw) => void this.onMessage(raw)),
      panel.onDidChangeViewState(() => {
        // A hidden page is discarded (no retained context); when shown it loads again and says "ready".
        if (!panel.visible) this.ready = false;
        this.syncLive();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    const onChange = (c: { all?: boolean; updated: string[]; namespaces: string[]; removed: string[] }) => {
      if (c.all || c.updated.includes(containerId) || c.removed.includes(containerId)) void this.refresh();
      // Only the sharing changed (often another container joined or left a shared namespace): no engine call.
      else if (c.namespaces.includes(containerId)) this.redraw();
    };
    model.on('change', onChange);
    this.disposables.push({ dispose: () => model.off('change', onChange) });
  }

  /** The last error sentence sent to the page (tests read it). */
  lastError: string | undefined;

  private post(m: HostToDetails): void {
    if (m.type === 'error') this.lastError = m.message;
    if (!this.disposed) void this.panel.webview.postMessage(m);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m = parseDetailsMessage(raw);
    if (!m) {
      this.ctx.log.warn('Details panel: ignored a malformed message from the page');
      return;
    }
    try {
      switch (m.type) {
        case 'ready':
          this.ready = true;
          // A (re)loaded page has no log tail or history yet: start the live parts afresh for it.
          this.stopLive();
          await this.refresh();
          return;
        case 'revealEnv': {
          const value = this.secrets.get(m.name);
          if (value !== undefined) this.post({ type: 'env', name: m.name, value });
          return;
        }
        case 'follow':
          this.follow = m.on;
          this.syncLive(true);
          return;
        case 'action': {
          const e = this.model.find(this.containerId);
          const arg = m.action === 'map' ? undefined : { container: e?.model, containerId: this.containerId };
          await vscode.commands.executeCommand(COMMANDS[m.action], arg);
          return;
        }
      }
    } catch (err) {
      this.post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Re-reads inspect and sends the page everything but the live parts. */
  async refresh(): Promise<void> {
    if (!this.ready || this.disposed) return;
    try {
      void this.engine;
    } catch (err) {
      // A panel restored after a reload whose engine was removed from the settings since.
      this.inspected = undefined;
      this.post({ type: 'error', message: `Cannot show container ${this.containerId.slice(0, 12)}: ${err instanceof Error ? err.message : String(err)}` });
      return;
    }
    try {
      this.inspected = await this.engine.call((d) => d.getContainer(this.containerId).inspect());
      this.secrets = envEntries(this.inspected.Config?.Env).values;
      this.redraw();
    } catch (err) {
      this.inspected = undefined;
      const e = err as { statusCode?: number; message?: string };
      this.post({ type: 'error', message: e.statusCode === 404 ? `Container ${this.containerId.slice(0, 12)} no longer exists; it was removed.` : e.message ?? String(err) });
    }
    this.syncLive();
  }

  /** Sends the page the last inspect answer with the model's current namespaces. */
  private redraw(): void {
    if (!this.ready || this.disposed || !this.inspected) return;
    const nameOf = (id: string) => this.model.containers.get(id)?.model.name ?? id.slice(0, 12);
    const data = toDetailsData(this.inspected, this.model.snapshot, nameOf);
    this.panel.title = `Details: ${data.name}`;
    this.post({ type: 'details', data, engine: this.engineId });
  }

  /**
   * Starts the live parts when visible, stops them when hidden. They restart
   * when the container started, stopped or got a new process, not on every
   * refresh: other containers' events refresh this panel too (a shared
   * namespace's member list changed), and a restarted stats stream costs a
   * new connection and starts with a sample that has no CPU figure.
   */
  private syncLive(restart = false): void {
    const entry = this.model.containers.get(this.containerId);
    const running = entry?.model.state === 'running' || entry?.model.state === 'paused';
    const liveFor = running ? String(entry?.detail?.pid ?? '?') : '';
    const want = this.ready && this.panel.visible && !this.disposed;
    if (!want || restart || (this.liveFor !== undefined && this.liveFor !== liveFor)) this.stopLive();
    if (!want || this.liveFor !== undefined) return;
    this.liveFor = liveFor;
    const gen = ++this.generation;
    void this.startLogs(gen);
    if (!running) return;
    void this.startStats(gen);
    const sampler = new ProcessSampler({ id: this.containerId, pid: entry?.detail?.pid });
    const tick = async () => {
      try {
        const rows = await sampler.sample();
        if (gen === this.generation) this.post({ type: 'processes', rows });
      } catch (err) {
        this.ctx.log.warn(`Details processes: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    void tick();
    this.processTimer = setInterval(() => void tick(), PROCESS_MS);
  }

  private async startStats(gen: number): Promise<void> {
    try {
      const stream = (await this.engine.call((d) => d.getContainer(this.containerId).stats({ stream: true }))) as unknown as Readable;
      if (gen !== this.generation || this.disposed) return void stream.destroy();
      this.stats = stream;
      // A partial line at a reconnect is dropped: the next sample follows within a second.
      onJsonLines(stream, (raw) => this.post({ type: 'stats', sample: statsSample(raw as RawStats) }));
      stream.on('error', () => undefined);
      stream.on('close', () => {
        if (this.stats === stream) this.stats = undefined;
      });
    } catch (err) {
      this.post({ type: 'error', message: `Live resources unavailable: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  private async startLogs(gen: number): Promise<void> {
    try {
      const c = this.engine.docker.getContainer(this.containerId);
      const tty = !!(await c.inspect()).Config?.Tty;
      const tail = (await c.logs({ stdout: true, stderr: true, tail: LOG_TAIL, follow: false })) as unknown as Buffer;
      if (gen !== this.generation) return;
      this.post({ type: 'logs', text: tty ? tail.toString('utf8') : demuxLogs(tail), reset: true });
      if (!this.follow) return;
      const stream = (await c.logs({ stdout: true, stderr: true, follow: true, since: Math.floor(Date.now() / 1000) })) as unknown as Readable;
      if (gen !== this.generation || this.disposed) return void stream.destroy();
      this.logs = stream;
      const out = new PassThrough();
      if (tty) stream.pipe(out);
      else this.engine.docker.modem.demuxStream(stream, out, out);
      out.on('data', (b: Buffer) => this.post({ type: 'logs', text: b.toString('utf8'), reset: false }));
      stream.on('error', () => undefined);
    } catch (err) {
      this.post({ type: 'logs', text: `Logs unavailable: ${err instanceof Error ? err.message : String(err)}\n`, reset: true });
    }
  }

  private stopLive(): void {
    this.generation++;
    this.liveFor = undefined;
    clearInterval(this.processTimer);
    this.processTimer = undefined;
    this.stats?.destroy();
    this.stats = undefined;
    this.logs?.destroy();
    this.logs = undefined;
  }

  dispose(): void {
    if (this.disposed) return;
    this.stopLive();
    this.disposed = true;
    for (const d of this.disposables) d.dispose();
    this.onDispose();
    this.panel.dispose();
  }
}

/** One panel per container id (and engine). */
export class DetailsPanels implements vscode.Disposable {
  readonly open = new Map<string, DetailsPanel>();

  /** `modelFor(engineId)`: the model of that engine; none is the default engine's. */
  constructor(private readonly ctx: SidecarContext, private readonly modelFor: (engineId?: string) => ExplorerModel) {}

  show(id: string, name: string, engineId?: string): DetailsPanel {
    const existing = this.open.get(containerRef(id, engineId));
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(DETAILS_VIEW_TYPE, `Details: ${name}`, vscode.ViewColumn.Active, webviewOptions(this.ctx.extension.extensionUri));
    return this.adopt(panel, id, engineId);
  }

  /**
   * A panel restored after a reload: its state is the page's `{ id, engine }`.
   * No engine is the default engine's (states from before several engines).
   * A state that names no container or a malformed engine cannot be restored:
   * the panel closes rather than show an empty page. An engine that is no
   * longer configured gets its sentence in the panel (see refresh).
   */
  restore(panel: vscode.WebviewPanel, state: unknown): DetailsPanel | undefined {
    const s = state as { id?: unknown; engine?: unknown } | undefined;
    const engine = s?.engine;
    if (!isMemberId(s?.id) || isHostId(s.id) || (engine !== undefined && !isEngineId(engine))) return void panel.dispose();
    return this.adopt(panel, s.id, engine);
  }

  adopt(panel: vscode.WebviewPanel, id: string, engineId?: string): DetailsPanel {
    const key = containerRef(id, engineId);
    const p = new DetailsPanel(panel, id, this.ctx, this.modelFor(engineId), () => this.open.delete(key), engineId);
    this.open.set(key, p);
    return p;
  }

  dispose(): void {
    for (const p of [...this.open.values()]) p.dispose();
  }
}
