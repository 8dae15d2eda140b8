// The namespace map panel. It has no polling of its own: it redraws from the
// explorer models' change events (one model per engine), the same ones the
// tree views use.
import * as vscode from 'vscode';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SidecarContext } from '../context';
import type { ExplorerModel, ModelChange } from '../views/model';
import { DEFAULT_NS_TYPES, isMapViewState, parseMapMessage, type HostToMap, type MapAction, type MapGraph, type MapViewState } from '../../webviews/protocol';
import { buildEnginesGraph, graphForView } from './mapGraph';
import { pageHtml, webviewOptions } from './webview';

export const MAP_VIEW_TYPE = 'sidecar.namespaceMap';

const COMMANDS: Record<MapAction, string> = {
  reveal: 'sidecar.containers.reveal',
  attach: 'sidecar.debugger.attach',
  files: 'sidecar.files.open',
  shell: 'sidecar.containers.shell',
  details: 'sidecar.containers.showDetails',
};

export const DEFAULT_MAP_STATE: MapViewState = { types: DEFAULT_NS_TYPES, showPrivate: false, showStopped: true, table: false };

/** Writes whole or not at all: a temporary file beside the target, then a rename. */
async function writeWhole(uri: vscode.Uri, data: Uint8Array): Promise<void> {
  if (uri.scheme !== 'file') return void (await vscode.workspace.fs.writeFile(uri, data));
  const tmp = path.join(path.dirname(uri.fsPath), `.${path.basename(uri.fsPath)}.${process.pid}.tmp`);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, uri.fsPath);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** Every engine of the Containers view with its model, the default first. */
export type EngineModels = () => { engine: { id: string; name: string }; model: ExplorerModel }[];

export class MapPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private disposed = false;
  state: MapViewState;
  /**
   * Fires with each graph the page has drawn (benchmarks and tests wait on it);
   * `at` is when the page had drawn it (epoch ms), before its message got here.
   */
  readonly rendered = new vscode.EventEmitter<{ graph: MapGraph; members: number; namespaces: number; at?: number }>();
  private seq = 0;
  /** Graphs sent and not yet drawn, by sequence number. */
  private readonly sent = new Map<number, MapGraph>();
  /** Counts model changes, so a page that drew the inline graph is sent another only if something changed. */
  private version = 0;
  private inline: { seq: number; version: number } | undefined;
  private loading: Promise<void> | undefined;
  /** The engines drawn now, and how to stop listening to their models. */
  private models: ReturnType<EngineModels> = [];
  private unwatch: (() => void)[] = [];
  private readonly onChange = (c: ModelChange) => {
    if (c.all || c.added.length || c.removed.length || c.updated.length || c.namespaces.length || c.sidecarsOf.length) {
      this.version++;
      this.send();
    }
  };

  constructor(readonly panel: vscode.WebviewPanel, private readonly ctx: SidecarContext, private readonly engines: EngineModels, state: unknown, private readonly onDispose: () => void) {
    this.state = isMapViewState(state) ? state : DEFAULT_MAP_STATE;
    panel.webview.options = webviewOptions(ctx.extension.extensionUri);
    this.watch();
    // What the tree already shows goes into the page itself: the first drawing waits for no round trip.
    const first: HostToMap[] = [{ type: 'state', state: this.state }];
    if (this.loaded && this.models.some((m) => m.model.status.ok)) {
      first.push({ type: 'graph', graph: this.nextGraph(), seq: this.seq });
      this.inline = { seq: this.seq, version: this.version };
    } else if (!this.loaded) {
      // Nothing loaded yet (the map opened before any view): load while the page loads.
      this.loading = this.load();
    }
    panel.webview.html = pageHtml(panel.webview, ctx.extension.extensionUri, 'map', 'Namespace Map', first);
    this.disposables.push(
      { dispose: () => this.unwatch.forEach((off) => off()) },
      // Engines added to or removed from the settings: draw the new set.
      ctx.onDidChangeEngine(() => {
        this.watch();
        this.version++;
        void this.load().then(() => this.send());
      }),
      panel.webview.onDidReceiveMessage((raw) => void this.onMessage(raw)),
      panel.onDidChangeViewState((e) => {
        // A page that was hidden is reloaded when shown (no retained context): it asks again with "ready".
        if (!e.webviewPanel.visible) this.ready = false;
      }),
      panel.onDidDispose(() => this.dispose()),
      this.rendered,
    );
  }

  /** Listens to the models of the engines there are now. */
  private watch(): void {
    this.unwatch.forEach((off) => off());
    this.models = this.engines();
    this.unwatch = this.models.map(({ model }) => {
      model.on('change', this.onChange);
      return () => model.off('change', this.onChange);
    });
  }

  private get loaded(): boolean {
    return this.models.every((m) => m.model.loaded);
  }

  /** Loads the engines not loaded yet; one that is down is drawn without containers (the tree says why). */
  private async load(): Promise<void> {
    await Promise.all(this.models.filter((m) => !m.model.loaded).map((m) => m.model.refresh()));
  }

  private nextGraph(): MapGraph {
    const up = this.models.filter((m) => m.model.status.ok);
    const parts = (up.length ? up : this.models.slice(0, 1)).map(({ engine, model }) => ({ engineId: engine.id, name: engine.name, containers: model.containers, snapshot: model.snapshot }));
    const graph = graphForView(buildEnginesGraph(parts), this.state);
    this.sent.set(++this.seq, graph);
    return graph;
  }

  private send(): void {
    if (!this.ready || this.disposed) return;
    const graph = this.nextGraph();
    void this.panel.webview.postMessage({ type: 'graph', graph, seq: this.seq } satisfies HostToMap);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m = parseMapMessage(raw);
    if (!m) {
      this.ctx.log.warn('Namespace map: ignored a malformed message from the page');
      return;
    }
    try {
      switch (m.type) {
        case 'ready':
          this.ready = true;
          void this.panel.webview.postMessage({ type: 'state', state: this.state } satisfies HostToMap);
          for (const { model } of this.models) model.listen();
          // The page drew the inline graph and nothing changed since: it is current.
          if (m.have !== undefined && m.have === this.inline?.seq && this.inline.version === this.version && this.loaded) return;
          if (!this.loaded) await (this.loading ?? this.load());
          this.send();
          return;
        case 'state': {
          const more = m.state.showPrivate !== this.state.showPrivate || m.state.types.join() !== this.state.types.join();
          this.state = m.state;
          // Other namespaces to show: they were left on the host.
          if (more) {
            this.version++;
            this.send();
          }
          return;
        }
        case 'rendered': {
          const graph = this.sent.get(m.seq);
          for (const k of this.sent.keys()) if (k <= m.seq) this.sent.delete(k);
          if (graph) this.rendered.fire({ graph, members: m.members, namespaces: m.namespaces, at: m.at });
          return;
        }
        case 'action': {
          const e = this.models.map(({ model }) => model.containers.get(m.id)).find((x) => x);
          if (!e) throw new Error(`Container ${m.id.slice(0, 12)} is gone; the map will drop it with the next update.`);
          // The container's model names its engine, so every command acts on the right one.
          await vscode.commands.executeCommand(COMMANDS[m.action], { container: e.model, containerId: m.id, engineId: e.model.engineId });
          return;
        }
        case 'export':
          await this.export(m.format, m.data);
          return;
      }
    } catch (err) {
      void vscode.window.showErrorMessage(err instanceof Error ? err.message : String(err));
    }
  }

  private async export(format: 'svg' | 'png', data: string): Promise<void> {
    const bytes = format === 'svg' ? Buffer.from(data, 'utf8') : Buffer.from(data.replace(/^data:image\/png;base64,/, ''), 'base64');
    if (format === 'png' && !bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) throw new Error('The map page sent a PNG export that is not a PNG; nothing was saved.');
    if (format === 'svg' && !/^<svg[\s>]/.test(data)) throw new Error('The map page sent an SVG export that is not SVG; nothing was saved.');
    const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri;
    const uri = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, `namespace-map.${format}`) : undefined,
      filters: format === 'svg' ? { 'SVG image': ['svg'] } : { 'PNG image': ['png'] },
      title: `Export the namespace map as ${format.toUpperCase()}`,
    });
    if (!uri) return;
    await writeWhole(uri, bytes);
    vscode.window.setStatusBarMessage(`Saved the namespace map to ${uri.fsPath || uri.toString()}`, 4000);
  }

  /** Resolves once the page has drawn a graph for which `pred` holds. */
  whenRendered(pred: (g: MapGraph) => boolean): Promise<MapGraph> {
    return new Promise((resolve) => {
      const d = this.rendered.event((r) => {
        if (pred(r.graph)) {
          d.dispose();
          resolve(r.graph);
        }
      });
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables) d.dispose();
    this.onDispose();
    this.panel.dispose();
  }
}
