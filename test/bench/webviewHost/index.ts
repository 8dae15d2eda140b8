// Runs inside the real extension host, started by webview.bench.ts. Figures go
// to the results file as { figure } lines.
import fs from 'node:fs';
import * as vscode from 'vscode';
import type { SidecarApi } from '../../../src/extension';
import type { DetailsPanel } from '../../../src/panels/detailsPanel';
import type { MapPanel } from '../../../src/panels/mapPanel';
import type { MapGraph } from '../../../webviews/protocol';
import { testDocker } from '../../helpers/docker';
import { median } from '../util';

function write(o: object): void {
  const file = process.env.SIDECAR_TEST_RESULTS;
  if (file) fs.appendFileSync(file, JSON.stringify(o) + '\n');
}

/** `npm run bench -- --only <id>`: the parts not asked for are skipped (each takes minutes). */
function wanted(id: string): boolean {
  const only = process.env.SIDECAR_BENCH_ONLY?.split(',').filter(Boolean) ?? [];
  return only.length === 0 || only.some((o) => id.startsWith(o) || o === 'webview');
}

/** With SIDECAR_BENCH_CPUPROF=<dir>, a part's window is profiled into <dir>/<name>.cpuprofile (to see where the host's time goes). */
async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.SIDECAR_BENCH_CPUPROF;
  if (!dir) return fn();
  const inspector = await import('node:inspector');
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: object };
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${dir}/${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
}

/**
 * When the page had drawn a graph for which `pred` holds (epoch ms, the page's
 * own clock reading after the frame that drew it): the message that tells the
 * host comes later and is not part of what the user waits for.
 */
function drawnAt(panel: MapPanel, pred: (g: MapGraph) => boolean): Promise<number> {
  return new Promise((resolve) => {
    const d = panel.rendered.event((r) => {
      if (pred(r.graph)) {
        d.dispose();
        resolve(r.at ?? Date.now());
      }
    });
  });
}

type Item = vscode.TreeItem & { container?: { id: string } };

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

export async function run(): Promise<void> {
  try {
    const a = await vscode.extensions.getExtension<SidecarApi>('container-sidecar.container-sidecar')!.activate();
    const docker = testDocker();
    const model = a.containers.model;
    await a.containers.refresh();
    const label = process.env.SIDECAR_BENCH_LABEL ?? 'bench-webview';

    if (wanted('webview.map.200.page')) {
      // What any webview costs in this workbench before its page runs, against the map: a panel
      // whose page only reports its first frame, and the map (model loaded), taking turns.
      const empty: number[] = [];
      const map: number[] = [];
      for (let k = 0; k < 4; k++) {
        let t0 = Date.now();
        const bare = vscode.window.createWebviewPanel('sidecarBench.empty', 'Empty', vscode.ViewColumn.Active, { enableScripts: true });
        const loaded = new Promise<number>((resolve) => bare.webview.onDidReceiveMessage((m) => resolve(Number(m))));
        bare.webview.html = `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-bench'"></head><body>empty<script nonce="bench">requestAnimationFrame(() => setTimeout(() => acquireVsCodeApi().postMessage(Date.now())));</script></body></html>`;
        empty.push((await within(loaded, 60_000, 'empty webview')) - t0);
        bare.dispose();
        t0 = Date.now();
        const panel = (await vscode.commands.executeCommand('sidecar.namespaces.showMap')) as MapPanel;
        map.push((await within(drawnAt(panel, (g) => g.members.length - 1 >= model.containers.size), 60_000, 'map render')) - t0);
        panel.dispose();
      }
      write({ figure: { id: 'webview.map.200.page', value: median(map), unit: 'ms', baseline: 'an empty webview panel, same window, taking turns', baselineValue: median(empty), note: `map (model loaded) ${map.map((x) => x.toFixed(0)).join(', ')} ms; empty webview ${empty.map((x) => x.toFixed(0)).join(', ')} ms` } });
    }
    if (wanted('webview.map.update')) {
      // 2. Update: start a stopped container; when does each view show it running?
      const stopped = (await docker.listContainers({ all: true, filters: { label: [`io.container-sidecar.test=${label}`], status: ['created', 'exited'] } })).map((c) => c.Id).slice(0, 10);
      // The tree as its view has it: items are made (and then changed one by one) once the view asked for them.
      const top = await a.containers.getChildren();
      for (const g of top) if (!(g as Item).container) await a.containers.getChildren(g);
      const panel = (await vscode.commands.executeCommand('sidecar.namespaces.showMap')) as MapPanel;
      await within(panel.whenRendered(() => true), 60_000, 'first map render');
      const mapLat: number[] = [];
      const treeLat: number[] = [];
      for (const id of stopped) {
        const treeSeen = new Promise<number>((resolve) => {
          const sub = a.containers.onDidChangeTreeData((e) => {
            const it = e as Item | undefined;
            // Its own item, or the whole tree (a reload after the event stream reconnected, seen under heavy load).
            const shown = it ? it.container?.id === id && String(it.contextValue).startsWith('running') : model.containers.get(id)?.model.state === 'running';
            if (shown) {
              sub.dispose();
              resolve(Date.now());
            }
          });
        });
        const mapSeen = drawnAt(panel, (g) => g.members.some((m) => m.id === id && m.state === 'running'));
        const t0 = Date.now();
        await docker.getContainer(id).start();
        treeLat.push((await within(treeSeen, 30_000, 'tree change')) - t0);
        mapLat.push((await within(mapSeen, 30_000, 'map render')) - t0);
        await docker.getContainer(id).kill().catch(() => undefined);
      }
      panel.dispose();
      write({ figure: { id: 'webview.map.update', value: median(mapLat), unit: 'ms', baseline: 'the Containers view firing the item as running, same starts', baselineValue: median(treeLat), target: '<= 1.2x', note: `map ${mapLat.map((x) => x.toFixed(0)).join(', ')} ms; tree ${treeLat.map((x) => x.toFixed(0)).join(', ')} ms` } });
    }
    if (wanted('webview.details.cpu')) {
      // 3. Extension host CPU while a details panel streams for 60 s.
      const busy = (await docker.listContainers({ filters: { label: [`io.container-sidecar.test=${label}-busy`] } }))[0];
      if (!busy) throw new Error('the busy container of the bench is not running');
      // The same host with no panel open, for context: the shared engine's events keep the model busy too.
      const i0 = process.cpuUsage();
      const it0 = performance.now();
      await profiled('idle', () => new Promise((r) => setTimeout(r, 30_000)));
      const i1 = process.cpuUsage(i0);
      const idle = ((i1.user + i1.system) / 1000 / (performance.now() - it0)) * 100;
      const details = (await vscode.commands.executeCommand('sidecar.containers.showDetails', busy.Id)) as DetailsPanel;
      const until = Date.now() + 60_000;
      while (!details.stats && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      if (!details.stats) throw new Error('the details panel opened no stats stream');
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await profiled('details', () => new Promise((r) => setTimeout(r, 60_000)));
      const c1 = process.cpuUsage(c0);
      const still = !!details.stats;
      details.dispose();
      const pct = ((c1.user + c1.system) / 1000 / (performance.now() - t0)) * 100;
      write({ figure: { id: 'webview.details.cpu', value: pct, unit: '% of one core', baseline: 'the same extension host for 30 s with no panel open', baselineValue: idle, target: '< 2 %', note: `extension host CPU over 60 s with a details panel streaming (stream ${still ? 'open' : 'closed'} at the end); includes everything else the host did meanwhile` } });
    }
  } catch (err) {
    write({ name: 'webview host bench', ok: false, error: err instanceof Error ? err.stack : String(err) });
  } finally {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    write({ done: true });
  }
}
