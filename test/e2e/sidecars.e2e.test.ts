// A person's path through the seed feature: click "Attach Debugger Container"
// on the web server in the Containers view, run ps in the terminal that opens,
// see the server's processes, close the terminal, and the sidecar is gone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { chooseRow, makeWorkspace, openWorkbench, revealContainer, screenshotPath, type Workbench } from '../helpers/workbench';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { eventually } from '../helpers/hostRunner';

let wb: Workbench;
const docker = testDocker();
let web: Docker.Container;
const name = uniqueName('e2e-sc-web');
const leftovers: { dead?: string; live?: string } = {};

/** A sidecar as a window would have left it, owned by `owner` ("<host>~<pid namespace>:<pid>:<nonce>"). */
async function leftoverSidecar(targetId: string, owner: string): Promise<string> {
  const c = await docker.createContainer({
    Image: IMAGES.busybox, Cmd: ['sleep', '3600'],
    Labels: { 'io.container-sidecar.managed': 'true', 'io.container-sidecar.target': targetId, 'io.container-sidecar.role': 'tunnel', 'io.container-sidecar.owner': owner },
    HostConfig: { NetworkMode: `container:${targetId}` },
  });
  await c.start();
  return c.id;
}

async function sidecarsOf(targetId: string): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${targetId}`] } });
  return list.map((c) => c.Id);
}

before(async () => {
  web = await runContainer(docker, { name, cmd: ['sh', '-c', 'mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www'] });
  const workspace = makeWorkspace('sidecars');
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
  Object.assign(settings, {
    // Local image tags: no registry is reachable here.
    'sidecar.debugger.profiles': [
      { name: 'Shell (local busybox)', image: IMAGES.busybox, command: ['sh'], capabilities: ['SYS_PTRACE'] },
      { name: 'Quiet shell', image: IMAGES.busybox, command: ['sh'], capabilities: [] },
    ],
    // The DOM renderer keeps the terminal's text in the page, where the test can read it.
    'terminal.integrated.gpuAcceleration': 'off',
  });
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  // Before the extension activates: one sidecar of a crashed window (its pid is gone), one of a live one (this test).
  // Owners name their PID namespace too (host~inode): only owners in the window's own namespace are judged by PID.
  const scope = `${os.hostname()}~${fs.readlinkSync('/proc/self/ns/pid').replace(/[^0-9]/g, '')}`;
  leftovers.dead = await leftoverSidecar(web.id, `${scope}:2147483646:abcdef`);
  leftovers.live = await leftoverSidecar(web.id, `${scope}:${process.pid}:abcdef`);
  wb = await openWorkbench('sidecars', { workspace });
});

after(async () => {
  await wb?.close();
  if (web) {
    await removeQuietly(docker, await sidecarsOf(web.id));
    await removeQuietly(docker, [web]);
  }
});

test('Attach Debugger Container from the tree, ps in the terminal, close it, and the sidecar is gone', { timeout: 180_000 }, async () => {
  const { page } = wb;
  await page.getByRole('tab', { name: /Container Sidecar/ }).click();
  const view = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /Containers/i }) });
  await view.getByRole('treeitem').first().waitFor({ timeout: 60_000 });
  // Other work may have many containers on this engine: bring ours into sight.
  await revealContainer(page, name);
  const item = view.getByRole('treeitem', { name: new RegExp(name) }).first();
  await item.waitFor({ timeout: 60_000 });
  // Activation removed the crashed window's sidecar and left the live window's alone.
  await eventually(async () => !(await sidecarsOf(web.id)).includes(leftovers.dead!), 'the orphaned sidecar to be removed on activation', 30_000);
  assert.ok((await sidecarsOf(web.id)).includes(leftovers.live!), 'a live window\'s sidecar stays');
  await removeQuietly(docker, [leftovers.live!]);
  await item.hover();
  await item.getByRole('button', { name: 'Attach Debugger Container' }).click();
  await pickQuick(page, 'Shell (local busybox)');

  const terminal = page.locator('.terminal-wrapper.active .xterm-rows, .xterm-rows').last();
  await terminal.waitFor({ timeout: 60_000 });
  await eventually(async () => /TARGET_ROOT = \/proc\/1\/root/.test(await terminal.innerText()), 'the banner in the terminal', 60_000);
  assert.equal((await sidecarsOf(web.id)).length, 1, 'one sidecar runs for the web server');

  await page.locator('.xterm').last().click();
  await page.keyboard.type('ps');
  await page.keyboard.press('Enter');
  const text = await eventually(async () => {
    const t = await terminal.innerText();
    return /httpd -f -p 127\.0\.0\.1:8080/.test(t) ? t : undefined;
  }, 'ps output with the web server\'s httpd', 30_000);
  assert.match(text!, /PID\s+USER/);
  await page.screenshot({ path: screenshotPath('sidecar-attach-ps') });

  // Close the terminal the way a person does: the panel's kill action.
  await page.keyboard.press('F1');
  await page.keyboard.type('Terminal: Kill the Active Terminal Instance');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Kill the Active Terminal Instance' }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  await eventually(async () => (await sidecarsOf(web.id)).length === 0, 'the sidecar to be removed after the terminal closed', 30_000);
  assert.equal((await web.inspect()).State.Running, true, 'the web server keeps running, untouched');
});

test('from the palette: pick the container, then the profile; the status bar counts it and detaches it', { timeout: 180_000 }, async () => {
  const { page } = wb;
  await page.keyboard.press('F1');
  await page.keyboard.type('Container Sidecar: Attach Debugger Container');
  await pickQuick(page, 'Container Sidecar: Attach Debugger Container');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Attach a debugger container to which container?' }).waitFor({ timeout: 30_000 });
  await pickQuick(page, name, name);
  await pickQuick(page, 'Quiet shell');
  await eventually(async () => (await sidecarsOf(web.id)).length === 1, 'the sidecar from the palette', 60_000);
  const status = page.locator('.statusbar-item', { hasText: '1 sidecar' });
  await status.waitFor({ timeout: 30_000 });
  await page.screenshot({ path: screenshotPath('sidecar-status-bar') });
  await status.click();
  await pickQuick(page, 'Detach from');
  await eventually(async () => (await sidecarsOf(web.id)).length === 0, 'Detach from the status bar menu to remove the sidecar', 30_000);
  await status.waitFor({ state: 'hidden', timeout: 30_000 });
});

/** Waits for a quick pick row with `text` (after typing `filter` if given) and accepts it. */
async function pickQuick(page: Workbench['page'], text: string, filter?: string): Promise<void> {
  if (filter) await page.keyboard.type(filter);
  await chooseRow(page, text);
}
