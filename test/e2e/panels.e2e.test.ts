// The two webview panels in the real workbench and Chromium: the namespace
// map checked against the namespace inodes in /proc (not against our model),
// a started container appearing, a click revealing the tree item, and the
// details panel of a CPU-burning container with its secrets masked.
// Screenshots in the light and dark themes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import type { Frame, Page } from 'playwright-core';
import { chooseRow, openWorkbench, screenshotPath, type Workbench } from '../helpers/workbench';
import { removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

// Functions passed to frame.evaluate run in the page; these describe the little they use there.
declare const document: { body?: { dataset: Record<string, string | undefined> }; getElementById(id: string): { getBoundingClientRect(): { left: number; top: number } } };
declare const window: { sidecarMap: unknown };

let wb: Workbench;
const docker = testDocker();
const made: Docker.Container[] = [];
const n = { web: uniqueName('e2e-map-web'), dbg: uniqueName('e2e-map-dbg'), ipc: uniqueName('e2e-map-ipc'), ipcJoin: uniqueName('e2e-map-ipcjoin'), hostpid: uniqueName('e2e-map-hostpid'), busy: uniqueName('e2e-busy'), late: uniqueName('e2e-map-late') };
const ids: Record<string, string> = {};
const SECRET = 'e2e-s3cret-value';

type Ns = 'pid' | 'net' | 'ipc';
/** Ground truth: the inode behind /proc/<pid>/ns/<type>. */
const inode = (pid: number, t: string) => Number(/\[(\d+)\]/.exec(fs.readlinkSync(`/proc/${pid}/ns/${t}`))![1]);
const hostInode = (t: string) => {
  try {
    return inode(1, t);
  } catch {
    return inode(2, t); // this sandbox's init is not readable; kthreadd lives in the initial namespaces
  }
};

async function run(key: keyof typeof n, o: Parameters<typeof runContainer>[1] = {}): Promise<Docker.Container> {
  const c = await runContainer(docker, { name: n[key], ...o });
  made.push(c);
  ids[key] = c.id;
  return c;
}

before(async () => {
  const web = await run('web');
  await run('dbg', { hostConfig: { PidMode: `container:${web.id}`, NetworkMode: `container:${web.id}` } });
  const ipc = await run('ipc', { hostConfig: { IpcMode: 'shareable' } });
  await run('ipcJoin', { hostConfig: { IpcMode: `container:${ipc.id}` } });
  await run('hostpid', { hostConfig: { PidMode: 'host' } });
  const busy = await docker.createContainer({ name: n.busy, Image: (await web.inspect()).Config.Image, Cmd: ['sh', '-c', 'while :; do :; done'], Env: [`API_KEY=${SECRET}`, 'MODE=busy'], Labels: { 'io.container-sidecar.test': 'true' }, HostConfig: { NetworkMode: 'none' } });
  await busy.start();
  made.push(busy);
  ids.busy = busy.id;
  wb = await openWorkbench('panels');
});

after(async () => {
  await wb?.close();
  await removeQuietly(docker, made);
});

async function command(page: Page, title: string): Promise<void> {
  // A focused webview (the map after a click in it) takes focus back when the
  // palette closes, which can hide the quick pick our command opens next; start
  // from the workbench's own focus, as a person clicking elsewhere would.
  await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { blur?: () => void } | null } }).document.activeElement?.blur?.());
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget').waitFor({ timeout: 15_000 });
  await page.keyboard.type(`Container Sidecar: ${title}`);
  await chooseRow(page, title);
}

/** Webviews are nested iframes: the page's own frame is the one whose body names the panel. */
async function panelFrame(page: Page, panel: 'map' | 'details'): Promise<Frame> {
  const until = Date.now() + 60_000;
  for (;;) {
    for (const f of page.frames()) {
      try {
        if ((await f.evaluate(() => document.body?.dataset.panel)) === panel) return f;
      } catch {
        // a frame navigating or gone
      }
    }
    if (Date.now() > until) throw new Error(`no ${panel} webview frame appeared`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Polls the page until `fn` holds. */
async function until<T>(fn: () => Promise<T>, what: string, ms = 30_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Drawn { nodes: string[]; ns: Record<string, string[]> }
/** What cytoscape has drawn: member nodes, and each namespace node with its neighbours. */
function drawn(frame: Frame): Promise<Drawn> {
  return frame.evaluate(() => {
    const cy = (window as unknown as { sidecarMap: { nodes(s?: string): { map<T>(f: (x: { id(): string; neighborhood(s: string): { map<U>(f: (y: { id(): string }) => U): U[] } }) => T): T[] } } }).sidecarMap;
    const ns: Record<string, string[]> = {};
    cy.nodes('.ns').map((x) => (ns[x.id()] = x.neighborhood('node').map((y) => y.id()).sort()));
    return { nodes: cy.nodes('.member').map((x) => x.id()), ns };
  });
}

async function setTheme(page: Page, theme: string): Promise<void> {
  const file = path.join(wb.workspace, '.vscode', 'settings.json');
  const s = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.writeFileSync(file, JSON.stringify({ ...s, 'workbench.colorTheme': theme }, null, 2));
  const dark = /Dark/.test(theme);
  await page.locator(dark ? '.monaco-workbench.vs-dark' : '.monaco-workbench.vs').waitFor({ timeout: 30_000 });
}

test('the namespace map matches /proc, follows a start, and a click reveals the container', { timeout: 300_000 }, async () => {
  const { page } = wb;
  await page.locator('.statusbar').waitFor({ timeout: 60_000 });
  await page.getByRole('tab', { name: /Container Sidecar/ }).click();
  await setTheme(page, 'Default Light Modern');
  await command(page, 'Show Namespace Map');
  const frame = await panelFrame(page, 'map');
  const pids: Record<string, number> = {};
  for (const k of ['web', 'dbg', 'ipc', 'ipcJoin', 'hostpid'] as const) pids[k] = (await docker.getContainer(ids[k]).inspect()).State.Pid;
  const d = await until(async () => {
    const x = await drawn(frame);
    return ['web', 'dbg', 'ipc', 'ipcJoin', 'hostpid'].every((k) => x.nodes.includes(ids[k])) ? x : undefined;
  }, 'our containers on the map');
  // Every pair /proc says shares a pid, net or ipc namespace is joined by that namespace's node, and only then.
  const ours = ['web', 'dbg', 'ipc', 'ipcJoin', 'hostpid'];
  for (const t of ['pid', 'net', 'ipc'] as Ns[]) {
    for (const a of ours) {
      const node = `ns:${t}:${inode(pids[a], t)}`;
      const expected = ours.filter((b) => inode(pids[b], t) === inode(pids[a], t)).map((b) => ids[b]);
      if (inode(pids[a], t) === hostInode(t)) expected.push('host');
      const members = (d.ns[node] ?? []).filter((m) => m === 'host' || Object.values(ids).includes(m));
      if (expected.length > 1) assert.deepEqual(members.sort(), expected.sort(), `${t} namespace ${node} of ${n[a as keyof typeof n]}`);
      else assert.equal(d.ns[node], undefined, `private ${t} namespace of ${a} is hidden by default`);
    }
  }
  // The --pid=host container is joined to the host node.
  assert.ok(d.ns[`ns:pid:${hostInode('pid')}`]?.includes('host'));
  await page.screenshot({ path: screenshotPath('namespace-map-light') });

  // A container started now appears (the map has no polling: the model's events drive it).
  const late = await run('late', { hostConfig: { NetworkMode: `container:${ids.web}` } });
  await until(async () => (await drawn(frame)).ns[`ns:net:${inode(pids.web, 'net')}`]?.includes(late.id), 'the started container joined to web\'s net namespace');

  // The table view lists the same namespaces, for keyboards and screen readers.
  await frame.getByRole('button', { name: 'Show table' }).click();
  const row = frame.locator(`#ns-table-data tr[data-ns="ipc:${inode(pids.ipc, 'ipc')}"]`);
  await row.waitFor({ timeout: 15_000 });
  assert.match(await row.innerText(), new RegExp(`${n.ipc}.*${n.ipcJoin}|${n.ipcJoin}.*${n.ipc}`));
  await frame.getByRole('button', { name: 'Show graph' }).click();

  // The map itself works from the keyboard: typing a name goes to its node, arrows to a neighbour,
  // Shift+F10 opens the actions as a menu, Escape returns to the map, Enter reveals in the tree.
  const tree = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^Containers/i }) }).getByRole('tree');
  const graphEl = frame.locator('#graph');
  const selectedNode = () => frame.evaluate(() => (window as unknown as { sidecarMap: { $(s: string): { map<T>(f: (x: { id(): string }) => T): T[] } } }).sidecarMap.$('node:selected').map((x) => x.id()));
  await graphEl.focus();
  await graphEl.press('Home');
  assert.equal((await selectedNode()).length, 1, 'Home selects a node');
  await graphEl.pressSequentially(n.ipc);
  await until(async () => (await selectedNode())[0] === ids.ipc, `typing ${n.ipc} selects its node`, 15_000);
  assert.match(await frame.locator('#map-focus').innerText(), new RegExp(n.ipc), 'the node is named for screen readers');
  await graphEl.press('Shift+F10');
  const actions = frame.getByRole('menu', { name: `Actions for ${n.ipc}` });
  await actions.waitFor({ timeout: 15_000 });
  assert.equal(await frame.evaluate(() => (document as unknown as { activeElement: { textContent: string } }).activeElement.textContent), 'Reveal in Containers View');
  await page.keyboard.press('ArrowDown');
  assert.equal(await frame.evaluate(() => (document as unknown as { activeElement: { textContent: string } }).activeElement.textContent), 'Show Details');
  await page.keyboard.press('Escape');
  await actions.waitFor({ state: 'hidden', timeout: 15_000 });
  assert.equal(await frame.evaluate(() => (document as unknown as { activeElement: { id: string } }).activeElement.id), 'graph', 'focus is back on the map');
  const before = await frame.evaluate((id) => (window as unknown as { sidecarMap: { getElementById(i: string): { position(): { x: number } } } }).sidecarMap.getElementById(id).position().x, ids.ipc);
  await graphEl.press('ArrowLeft');
  const left = (await selectedNode())[0];
  if (left !== ids.ipc) {
    const x = await frame.evaluate((id) => (window as unknown as { sidecarMap: { getElementById(i: string): { position(): { x: number } } } }).sidecarMap.getElementById(id).position().x, left);
    assert.ok(x < before, 'ArrowLeft goes to a node on the left');
  }
  await graphEl.pressSequentially(n.ipc);
  await until(async () => (await selectedNode())[0] === ids.ipc, `typing ${n.ipc} again selects its node`, 15_000);
  await graphEl.press('Enter');
  await tree.locator('.monaco-list-row[aria-selected="true"]', { hasText: n.ipc }).first().waitFor({ timeout: 30_000 });

  // Clicking a node reveals it in the Containers view.
  const selected = tree.locator('.monaco-list-row[aria-selected="true"]', { hasText: n.ipcJoin }).first();
  const box = (await (await frame.frameElement()).boundingBox())!;
  try {
    // A click a person would repeat if the map was still settling (a render from another container's event).
    await until(async () => {
      const pos = await frame.evaluate((id) => {
        const cy = (window as { sidecarMap: { getElementById(i: string): unknown; center(e: unknown): void; zoom(z: number): void } }).sidecarMap;
        const node = cy.getElementById(id) as { renderedPosition(): { x: number; y: number } };
        cy.zoom(1.5);
        cy.center(node);
        const r = document.getElementById('graph')!.getBoundingClientRect();
        const p = node.renderedPosition();
        return { x: r.left + p.x, y: r.top + p.y };
      }, ids.ipcJoin);
      await page.mouse.click(box.x + pos.x, box.y + pos.y);
      return selected.waitFor({ timeout: 5_000 }).then(() => true);
    }, `${n.ipcJoin} selected in the Containers view after clicking its node`, 45_000);
  } catch (e) {
    await page.screenshot({ path: screenshotPath('namespace-map-click-failed') });
    throw e;
  }

  await setTheme(page, 'Default Dark Modern');
  await frame.getByRole('button', { name: 'Fit' }).click();
  await page.screenshot({ path: screenshotPath('namespace-map-dark') });
});

test('container details: CPU of a busy loop above 0, secrets masked until clicked', { timeout: 300_000 }, async () => {
  const { page } = wb;
  // The container pick can be hidden by focus moving back to the map's webview
  // (a workbench race, not ours): when the pick closes before its row shows, open it again.
  await until(async () => {
    await command(page, 'Show Container Details');
    const input = page.locator('.quick-input-widget input[placeholder="Container to show details of"]');
    await input.waitFor({ timeout: 30_000 });
    await input.fill(n.busy);
    const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: n.busy }).first();
    try {
      await row.waitFor({ timeout: 10_000 });
      await chooseRow(page, n.busy);
      return true;
    } catch {
      await page.keyboard.press('Escape');
      return undefined;
    }
  }, `the container pick of Show Container Details to list ${n.busy}`, 120_000);
  const frame = await panelFrame(page, 'details');
  await frame.getByRole('heading', { name: new RegExp(n.busy) }).waitFor({ timeout: 30_000 });
  const cpu = await until(async () => {
    const v = parseFloat(await frame.locator('#cpu-value').innerText());
    return v > 0 ? v : undefined;
  }, 'a CPU sample above 0 %', 60_000);
  assert.ok(cpu > 0);
  // The busy loop is a process row with CPU time.
  await frame.locator('section[aria-labelledby="h-proc"] tr', { hasText: 'while' }).first().waitFor({ timeout: 30_000 });
  // The secret is not in the page until asked for; other values are.
  const text = await frame.locator('body').innerText();
  assert.ok(!text.includes(SECRET), 'the API_KEY value is masked');
  assert.ok(text.includes('busy'), 'MODE=busy is shown');
  await page.screenshot({ path: screenshotPath('container-details-dark') });
  await frame.getByRole('button', { name: 'Show the value of API_KEY' }).click();
  await frame.getByText(SECRET).waitFor({ timeout: 15_000 });
  await setTheme(page, 'Default Light Modern');
  // The section stays; its content is redrawn with every sample.
  await frame.locator('#resources').scrollIntoViewIfNeeded();
  await page.screenshot({ path: screenshotPath('container-details-light') });
});
