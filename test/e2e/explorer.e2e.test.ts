// A person's path through the explorer in the real workbench: find the web
// container, expand it, open Namespaces, and see that pid and net are shared
// with the debugger-like container joined to it; then the Namespaces view.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { openWorkbench, revealContainer, screenshotPath, type Workbench } from '../helpers/workbench';
import { removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

let wb: Workbench;
const docker = testDocker();
const containers: Docker.Container[] = [];
const names = { web: uniqueName('e2e-ns-web'), dbg: uniqueName('e2e-ns-dbg') };

before(async () => {
  const web = await runContainer(docker, { name: names.web });
  containers.push(web);
  containers.push(await runContainer(docker, { name: names.dbg, hostConfig: { PidMode: `container:${web.id}`, NetworkMode: `container:${web.id}` } }));
  wb = await openWorkbench('explorer');
});

after(async () => {
  await wb?.close();
  await removeQuietly(docker, containers);
});

test('expand a container, then Namespaces: pid and net show as shared for the pair', { timeout: 180_000 }, async () => {
  const { page } = wb;
  await page.getByRole('tab', { name: /Container Sidecar/ }).click();
  // A wider side bar, so the screenshot shows the descriptions whole.
  const bar = await page.locator('.part.sidebar').boundingBox();
  if (bar) {
    await page.mouse.move(bar.x + bar.width + 1, bar.y + bar.height / 2);
    await page.mouse.down();
    await page.mouse.move(bar.x + bar.width + 420, bar.y + bar.height / 2, { steps: 5 });
    await page.mouse.up();
  }
  const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^Containers/i }) });
  const tree = pane.getByRole('tree');
  await tree.getByRole('treeitem').first().waitFor({ timeout: 60_000 });
  // Other work may have many containers on this engine: reveal ours through the palette, as a person would.
  await revealContainer(page, names.web);
  const webRow = tree.getByRole('treeitem', { name: new RegExp(names.web) }).first();
  await webRow.waitFor({ timeout: 30_000 });
  await tree.locator(`.monaco-list-row[aria-expanded="true"]`, { hasText: names.web }).first().waitFor({ timeout: 15_000 });
  // The context menu of a running container offers what fits its state.
  await webRow.click({ button: 'right' });
  const menu = page.locator('.monaco-menu');
  await menu.getByRole('menuitem', { name: /Stop Container/ }).waitFor({ timeout: 15_000 });
  const entries = (await menu.getByRole('menuitem').allInnerTexts()).map((t) => t.trim());
  for (const want of ['Open Shell in Container', 'View Container Logs', 'Inspect Container', 'Stop Container', 'Pause Container', 'Copy Host PID', 'Remove Container...']) {
    assert.ok(entries.some((e) => e.startsWith(want)), `${want} in ${entries.join(' | ')}`);
  }
  for (const not of ['Start Container', 'Unpause Container']) assert.ok(!entries.some((e) => e.startsWith(not)), `${not} is not offered for a running container`);
  await page.keyboard.press('Escape');
  const nsRow = tree.getByRole('treeitem', { name: /^Namespaces/ }).first();
  await nsRow.click();
  const rowText = async (label: string) => {
    const row = tree.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${label}$`) }) }).first();
    await row.waitFor({ timeout: 30_000 });
    return row.innerText();
  };
  const pid = await rowText('pid');
  const net = await rowText('net');
  const mnt = await rowText('mnt');
  assert.match(pid, new RegExp(`shared with ${names.dbg}`));
  assert.match(net, new RegExp(`shared with ${names.dbg}`));
  assert.match(mnt, /private/);
  await page.screenshot({ path: screenshotPath('explorer-namespaces') });

  // The Namespaces view: the shared pid namespace names both containers.
  const nsPane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^Namespaces/i }) });
  const header = nsPane.locator('.pane-header');
  if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
  // Every type starts expanded; on a busy engine pid's rows lie far below mnt's. Collapse all, open pid.
  await header.hover();
  await nsPane.getByRole('button', { name: 'Collapse All' }).click();
  await nsPane.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: /^pid$/ }) }).first().click();
  const shared = nsPane.locator('.monaco-list-row', { hasText: new RegExp(`shared by .*${names.web}`) }).first();
  await shared.waitFor({ timeout: 30_000 });
  assert.match(await shared.innerText(), new RegExp(`(${names.web}.*${names.dbg}|${names.dbg}.*${names.web})`));
  await page.screenshot({ path: screenshotPath('explorer-namespaces-view') });

  // Clicking a member reveals that container in the Containers view.
  await shared.click();
  const member = nsPane.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${names.dbg}$`) }) }).first();
  await member.waitFor({ timeout: 30_000 });
  assert.match(await member.innerText(), /\d+ process/);
  await member.click();
  await tree.locator('.monaco-list-row[aria-selected="true"]', { hasText: names.dbg }).first().waitFor({ timeout: 30_000 });
});
