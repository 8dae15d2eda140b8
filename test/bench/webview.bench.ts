// The webviews' figures, with 200 containers on the engine:
// - webview.map.200: in a fresh window of the workbench (code-server in
//   Chromium, the packaged extension), from Enter on "Show Namespace Map" in
//   the palette to the page having drawn every container, against Enter on
//   "Focus on Containers View" to the tree having drawn its rows for the same
//   containers, also in a fresh window. Both start cold (nothing loaded) and
//   end on the screen. Target <= 2x.
//   Also webview.map.200.reopen: the map closed and shown again in the same
//   window, as a figure (see the note it prints).
// - webview.map.update: from a container's start call to the map having drawn
//   it running, against the Containers view firing its item as running in the
//   same run (in the extension host, test/bench/webviewHost). Target <= 1.2x.
// - webview.details.cpu: extension host CPU while a details panel streams
//   stats (and samples processes) for 60 s, as % of one core. Target < 2 %.
import type Docker from 'dockerode';
import path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { IMAGES, testDocker } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';
import { openWorkbench, runInExtensionHost } from '../helpers/workbench';
import { median, type Figure, type Report } from './util';

export const ids = ['webview.map.200', 'webview.map.200.reopen', 'webview.map.200.page', 'webview.map.update', 'webview.details.cpu'];

const LABEL = 'bench-webview';
// VS Code's own port finder rescans every host process's /proc entries every few seconds in the
// extension host (5 % of a core with 200 containers here); it is not ours and would drown the
// details panel's figure and slow both sides of the others. code-server has a tunnel provider,
// so the finder runs unless the source is the terminal output.
const QUIET = { 'remote.autoForwardPorts': false, 'remote.autoForwardPortsSource': 'output' };

/** `wanted`: the bench harness's own --only filter (the extension host part reads the same from SIDECAR_BENCH_ONLY). */
export async function run(report: Report, wanted: (id: string) => boolean = () => true): Promise<void> {
  const docker = testDocker();
  const existing = await docker.listContainers({ all: true });
  const runningNow = existing.filter((c) => c.State === 'running').length;
  const created: Docker.Container[] = [];
  try {
    const toCreate = Math.max(0, 200 - existing.length);
    const toRun = Math.max(0, Math.min(toCreate, 100 - runningNow));
    let i = 0;
    await Promise.all(Array.from({ length: 6 }, async () => {
      while (i < toCreate) {
        const k = i++;
        const c = await docker.createContainer({ Image: IMAGES.busybox, Cmd: ['sleep', '3600'], Labels: { 'io.container-sidecar.test': LABEL }, HostConfig: { NetworkMode: 'none' }, StopTimeout: 1 });
        created.push(c);
        if (k < toRun) await c.start();
      }
    }));
    // Stopped ones for the update figure, and a CPU-busy one for the details figure.
    for (let k = 0; k < 10; k++) created.push(await docker.createContainer({ Image: IMAGES.busybox, Cmd: ['sleep', '3600'], Labels: { 'io.container-sidecar.test': LABEL }, HostConfig: { NetworkMode: 'none' }, StopTimeout: 1 }));
    const busy = await docker.createContainer({ Image: IMAGES.busybox, Cmd: ['sh', '-c', 'while :; do :; done'], Labels: { 'io.container-sidecar.test': `${LABEL}-busy` }, HostConfig: { NetworkMode: 'none' } });
    created.push(busy);
    await busy.start();

    if (wanted('webview.map.200')) for (const f of await firstRenders(docker)) report(f);

    const results = (await runInExtensionHost(path.join(projectRoot, 'out/test/bench/webviewHost'), { timeoutMs: 10 * 60_000, env: { SIDECAR_BENCH_LABEL: LABEL }, userSettings: QUIET })) as unknown as { figure?: Figure & { note?: string }; ok?: boolean; error?: string }[];
    for (const line of results) {
      if (line.figure) {
        if (line.figure.note) console.log(`  ${line.figure.note}`);
        report({ id: line.figure.id, value: line.figure.value, unit: line.figure.unit, baseline: line.figure.baseline, baselineValue: line.figure.baselineValue, target: line.figure.target });
      } else if (line.ok === false) {
        throw new Error(`webview bench failed in the extension host: ${line.error}`);
      }
    }
  } finally {
    let j = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (j < created.length) await created[j++].remove({ force: true }).catch(() => undefined);
    }));
  }
}

/** Opens the palette and types a command, waiting until it is the chosen row: only Enter is left. */
async function arm(page: Page, label: string): Promise<void> {
  const until = Date.now() + 60_000;
  for (;;) {
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 30_000 });
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget').waitFor({ timeout: 30_000 });
    await page.keyboard.type(label);
    const row = page.locator('.quick-input-widget .monaco-list-row.focused', { hasText: label.replace(/^.*?: /, '') }).first();
    // Right after a reload the palette may open before every command is known: try again.
    const shown = await row.waitFor({ timeout: 5_000 }).then(() => true, () => false);
    if (shown) return;
    if (Date.now() > until) throw new Error(`the palette did not offer "${label}"`);
    await page.keyboard.press('Escape');
  }
}

async function runCommand(page: Page, label: string): Promise<void> {
  await arm(page, label);
  await page.keyboard.press('Enter');
}

/** What makes the window not fresh: our view container shown, or an editor open ('' when fresh). */
function busy(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    for (const h of document.querySelectorAll('.pane-header')) if (/^(containers|namespaces)/i.test((h.textContent || '').trim()) && h.offsetParent !== null) return 'the ' + h.textContent.trim() + ' view is shown';
    const e = document.querySelector('.tabs-container .tab, .webview');
    return e ? 'an editor is open (' + (e.getAttribute('aria-label') || e.className) + ')' : '';
  })()`) as Promise<string>;
}

/**
 * A fresh window: a new extension host with nothing loaded, the Explorer in
 * front and no editor open. The extension is active before the clock starts
 * (it would be on any machine by then: it activates when startup finishes).
 * Should the workbench still come back with the Containers view or an editor,
 * it is put right and reloaded again.
 */
async function freshWindow(page: Page): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await runCommand(page, 'View: Close All Editors');
    await runCommand(page, 'View: Show Explorer');
    // VS Code's own reload stores the layout first (a page reload may not: the Containers view came back).
    const reloaded = page.waitForEvent('load', { timeout: 120_000 });
    await runCommand(page, 'Developer: Reload Window');
    await reloaded;
    await page.locator('.monaco-workbench .statusbar').waitFor({ timeout: 60_000 });
    await page.getByRole('tab', { name: /Container Sidecar/ }).waitFor({ timeout: 60_000 });
    // The side bar has its views (the Explorer's, or ours when the layout came back).
    await page.locator('.part.sidebar .pane-header').first().waitFor({ timeout: 60_000 });
    const why = await busy(page);
    if (!why) break;
    if (attempt === 5) throw new Error(`the window did not come back fresh after a reload: ${why}`);
  }
  await runCommand(page, 'Container Sidecar: Show Sidecars and Port Forwards');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'No sidecars or port forwards' }).waitFor({ timeout: 60_000 });
  await page.keyboard.press('Escape');
}

/** Epoch ms at which the Containers view first showed top-level rows for `n` items (polled every frame). */
function treeDrawn(page: Page, n: number): Promise<number> {
  const check = `(() => {
    for (const pane of document.querySelectorAll('.pane')) {
      const header = pane.querySelector('.pane-header');
      if (!header || !/containers/i.test(header.textContent || '')) continue;
      const row = pane.querySelector('.monaco-list-row[aria-level="1"]');
      if (row && Number(row.getAttribute('aria-setsize')) >= ${n}) return Date.now();
    }
    return 0;
  })()`;
  return page.waitForFunction(check, undefined, { polling: 'raf', timeout: 120_000 }).then((h) => h.jsonValue() as Promise<number>);
}

/**
 * Epoch ms at which the map page had drawn `n` containers: the page marks each
 * drawing (performance mark 'sidecar-map-drawn', after the frame that drew it).
 * `not`: frames of earlier maps, still being torn down.
 */
async function mapDrawn(page: Page, n: number, not: Frame[] = []): Promise<{ at: number; frame: Frame }> {
  const check = `(() => {
    const m = performance.getEntriesByName('sidecar-map-drawn').find((e) => e.detail && e.detail.members - 1 >= ${n});
    return m ? performance.timeOrigin + m.startTime : 0;
  })()`;
  const until = Date.now() + 120_000;
  for (;;) {
    for (const f of page.frames()) {
      if (not.includes(f)) continue;
      try {
        if ((await f.evaluate('document.body && document.body.dataset.panel')) !== 'map') continue;
        const at = (await f.evaluate(check)) as number;
        if (at) return { at, frame: f };
      } catch {
        // a frame navigating or gone
      }
    }
    if (Date.now() > until) throw new Error(`the map did not draw ${n} containers within 120 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function firstRenders(docker: Docker): Promise<Figure[]> {
  const all = await docker.listContainers({ all: true });
  const total = all.length;
  // The tree's top level: containers, with those of a compose project under one group each.
  const projects = new Set(all.map((c) => c.Labels?.['com.docker.compose.project']).filter(Boolean));
  const top = all.filter((c) => !c.Labels?.['com.docker.compose.project']).length + projects.size;
  const wb = await openWorkbench('bench-webview', { userSettings: QUIET });
  const tree: number[] = [];
  const map: number[] = [];
  const reopen: number[] = [];
  try {
    const { page } = wb;
    // Five rounds: the first webview of a browser profile is faster than every later one (see docs/architecture.md).
    for (let k = 0; k < 5; k++) {
      await freshWindow(page);
      await arm(page, 'Container Sidecar: Focus on Containers View');
      const drawn = treeDrawn(page, top);
      let t0 = Date.now();
      await page.keyboard.press('Enter');
      tree.push((await drawn) - t0);

      await freshWindow(page);
      await arm(page, 'Container Sidecar: Show Namespace Map');
      t0 = Date.now();
      await page.keyboard.press('Enter');
      const first = await mapDrawn(page, total);
      map.push(first.at - t0);

      // Closed and shown again in the same window: the model is loaded, the page is new.
      await runCommand(page, 'View: Close All Editors');
      await arm(page, 'Container Sidecar: Show Namespace Map');
      t0 = Date.now();
      await page.keyboard.press('Enter');
      reopen.push((await mapDrawn(page, total, [first.frame])).at - t0);
    }
  } finally {
    await wb.close();
  }
  const ms = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(`  ${total} containers; map ${ms(map)} ms; shown again ${ms(reopen)} ms; tree ${ms(tree)} ms`);
  const baseline = 'the Containers view, from Enter to its rows drawn, in a fresh window';
  return [
    { id: 'webview.map.200', value: median(map), unit: 'ms', baseline, baselineValue: median(tree), target: '<= 2x' },
    { id: 'webview.map.200.reopen', value: median(reopen), unit: 'ms', baseline, baselineValue: median(tree) },
  ];
}
