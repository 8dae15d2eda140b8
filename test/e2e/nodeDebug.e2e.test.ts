// Node.js debugging as a person does it, in the real workbench: a breakpoint
// clicked in the gutter of the workspace copy of the script, then "Debug this
// process" on the node row of the Containers tree, or "Attach Debugger
// Container to This File's Process" in the editor's title; after the debugger
// leaves, "Close Inspector" in the notification. The workbench hands the
// container's inspector to VS Code's JavaScript debugger, so code-server runs
// as PID 1 of a PID namespace of its own: canaries there must survive the
// Stop button, and strace on the extension host must see no terminateProcess.sh
// and no SIGKILL. Never run these steps against a code-server outside one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { Page } from 'playwright-core';
import { makeWorkspace, openWorkbench, revealContainer, screenshotPath, type Workbench } from '../helpers/workbench';
import { execIn, IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { eventually } from '../helpers/hostRunner';
import { projectRoot, testOutput } from '../helpers/paths';
import { assertSafe, extensionHost, namespaceInit, startCanary, startStrace } from '../helpers/pidNamespace';

const docker = testDocker();
const name = uniqueName('e2e-node-dbg');
const straceLog = path.join(testOutput, 'strace-node-debug-e2e.log');
let wb: Workbench;
let targetId = '';
let init = 0;
let strace: ChildProcess | undefined;
const canaries: number[] = [];

before(async () => {
  const sh = await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/sh.mjs')).href) as { aptEnsure(p: string[]): Promise<void> };
  await sh.aptEnsure(['strace']);
  const workspace = makeWorkspace('node-debug');
  // The workspace is the service's source folder, mounted where the image runs it: a developer's usual set-up.
  fs.copyFileSync(path.join(projectRoot, 'test/fixtures/node-target/app.js'), path.join(workspace, 'app.js'));
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
  settings['sidecar.ports.tunnelImage'] = IMAGES.busybox;
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  targetId = (await runContainer(docker, { name, image: IMAGES.node, cmd: ['/usr/bin/node', '/app/app.js'], hostConfig: { NetworkMode: 'none', Binds: [`${workspace}:/app:ro`] } })).id;
  await eventually(async () => (await execIn(docker, targetId, ['cat', '/tmp/counter'])).stdout.trim() !== '', 'the node target to count');
  fs.mkdirSync(testOutput, { recursive: true });
  wb = await openWorkbench('node-debug', { workspace, pidNamespace: true });
  init = await namespaceInit(wb.serverPid);
  strace = await startStrace(await extensionHost(init), straceLog);
  for (const tag of [100001, 100002, 100003]) canaries.push(await startCanary(init, tag));
});

after(async () => {
  strace?.kill('SIGINT');
  await wb?.close();
  // The canaries went with the namespace; the target and any tunnel are ours to remove.
  const tunnels = targetId ? await docker.listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${targetId}`] } }) : [];
  if (targetId) await removeQuietly(docker, [targetId, ...tunnels.map((c) => c.Id)]);
});

async function counter(): Promise<number> {
  return Number((await execIn(docker, targetId, ['cat', '/tmp/counter'])).stdout.trim());
}

async function sidecarsOfTarget(): Promise<number> {
  return (await docker.listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${targetId}`] } })).length;
}

/** Whether anything accepts connections on 127.0.0.1:9229 inside the target. */
async function inspectorListens(): Promise<boolean> {
  const r = await execIn(docker, targetId, ['node', '-e', "require('net').connect(9229, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))"]);
  return r.exitCode === 0;
}

/** The Call Stack shows tick at app.js:15 (it re-renders while frames load: wait for the state). */
async function stoppedInTick(page: Page): Promise<void> {
  const callStack = page.locator('.debug-call-stack, .pane-body.debug-call-stack');
  let frames: string[] = [];
  const atTick = () => frames.some((f) => /tick/.test(f) && /app\.js/.test(f) && /\b15\b/.test(f));
  try {
    await eventually(async () => {
      frames = await callStack.locator('.monaco-list-row').allInnerTexts();
      return atTick();
    }, 'tick at app.js:15 in the Call Stack', 90_000);
  } catch { /* the assertion names what the Call Stack showed */ }
  assert.ok(atTick(), `tick at app.js:15 in ${frames.join(' | ')}`);
  const editor = page.locator('.editor-instance .monaco-editor').first();
  await editor.locator('.view-overlays .debug-top-stack-frame-line').first().waitFor({ timeout: 30_000 });
  await page.locator('.debug-variables .monaco-list-row', { hasText: /\bs\b/ }).first().waitFor({ timeout: 30_000 });
  // The stop is shown in the workspace copy: no second editor opened for the container's /app/app.js.
  const tabs = await page.locator('.tabs-container .tab').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
  assert.equal(tabs.length, 1, `one editor, the workspace's app.js: ${tabs.join(' | ')}`);
}

/** Stop (Shift+F5), the way that once made js-debug SIGKILL host processes; then everything must still live. */
async function stopAndCheck(page: Page, how: string): Promise<void> {
  await page.locator('.editor-instance .monaco-editor').first().click();
  await page.keyboard.press('Shift+F5');
  await eventually(async () => (await sidecarsOfTarget()) === 0, `the forward to be removed after ${how}`, 60_000);
  assertSafe(init, canaries, straceLog, how);
  const before = await counter();
  await eventually(async () => (await counter()) > before, `the target to count on after ${how}`);
}

test('a gutter breakpoint in app.js, then "Debug this process" on the node row of the Containers tree: stopped in tick; Stop leaves every canary and the target alive; Close Inspector closes the port', { timeout: 480_000 }, async () => {
  const { page } = wb;
  try {
    // Open app.js and click in the gutter of line 15.
    const file = page.locator('.explorer-folders-view').getByRole('treeitem', { name: /app\.js/ });
    if (!(await file.waitFor({ timeout: 10_000 }).then(() => true, () => false))) await page.getByRole('tab', { name: /Explorer/ }).first().click();
    await file.waitFor({ timeout: 60_000 });
    await file.click();
    const editor = page.locator('.editor-instance .monaco-editor').first();
    const lineNo = editor.locator('.margin-view-overlays .line-numbers', { hasText: /^15$/ });
    await lineNo.waitFor({ timeout: 30_000 });
    const box = (await lineNo.boundingBox())!;
    const glyph = (await editor.locator('.margin-view-overlays').boundingBox())!;
    await eventually(async () => {
      await page.mouse.move(glyph.x + 40, box.y + box.height / 2);
      await page.mouse.move(glyph.x + 8, box.y + box.height / 2);
      return (await editor.locator('.codicon-debug-hint').count()) > 0;
    }, 'the breakpoint hint in the gutter', 60_000);
    await page.mouse.click(glyph.x + 8, box.y + box.height / 2);
    await editor.locator('.codicon-debug-breakpoint, .codicon-debug-breakpoint-unverified').first().waitFor({ timeout: 15_000 });

    // The Containers tree: the container, its Processes, the node row, "Debug this process".
    await page.getByRole('tab', { name: /Container Sidecar/ }).click();
    const tree = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^Containers/i }) }).getByRole('tree');
    await tree.getByRole('treeitem').first().waitFor({ timeout: 60_000 });
    await revealContainer(page, name);
    // Reveal selects the row and usually expands it; a click expands it when it did not (and a refresh may fold it again).
    const expanded = async (row: ReturnType<typeof tree.locator>) => (await row.getAttribute('aria-expanded')) === 'true';
    const expand = async (row: ReturnType<typeof tree.locator>, what: string) => eventually(async () => {
      if (await expanded(row)) return true;
      await row.click();
      return eventually(() => expanded(row), `${what} to expand after a click`, 10_000).then(() => true, () => false);
    }, `${what} to be expanded`, 60_000);
    await expand(tree.locator('.monaco-list-row', { hasText: name }).first(), name);
    await expand(tree.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: /^Processes$/ }) }).first(), 'Processes');
    const nodeRow = tree.getByRole('treeitem', { name: /\/usr\/bin\/node \/app\/app\.js/ }).first();
    await nodeRow.waitFor({ timeout: 60_000 });
    // The row came from ps in a helper container (this window's /proc is its own namespace's). Other
    // containers' events refresh the tree; a refresh closes an open context menu, and a click that lands
    // while the row is being re-created reaches the command without its row, which then asks for the
    // container (as it would a person): Escape, and click again.
    const item = page.locator('.monaco-menu').getByRole('menuitem', { name: /Debug this process/ });
    const picker = page.locator('.quick-input-widget', { hasText: 'Debug a process in which container?' });
    await eventually(async () => {
      if (await picker.isVisible()) await page.keyboard.press('Escape');
      if (!(await item.isVisible())) {
        await page.keyboard.press('Escape');
        await nodeRow.click({ button: 'right' });
        if (!(await item.waitFor({ timeout: 5_000 }).then(() => true, () => false))) return false;
      }
      await item.click();
      const outcome = await eventually(async () => (await picker.isVisible() ? 'picker' : (await page.locator('.debug-toolbar').isVisible()) ? 'started' : undefined), 'the attach to start', 60_000);
      return outcome === 'started';
    }, '"Debug this process" on the node row to start a session', 180_000);

    await stoppedInTick(page);
    await page.screenshot({ path: screenshotPath('node-debug-tree') });
    await stopAndCheck(page, 'Stop after the attach from the tree');

    // Node keeps the inspector SIGUSR1 opened; the notification offers to close it.
    assert.equal(await inspectorListens(), true, 'the inspector still listens in the target after the debugger left');
    const button = page.locator('.notification-list-item', { hasText: /keeps its inspector listening/ }).getByRole('button', { name: 'Close Inspector' }).first();
    // A toast hides after a while; the notification center still holds it.
    await button.click({ timeout: 10_000 }).catch(async () => {
      await page.keyboard.press('F1');
      await page.keyboard.type('Notifications: Show Notifications');
      await page.keyboard.press('Enter');
      await button.click({ timeout: 15_000 });
    });
    await eventually(async () => !(await inspectorListens()), 'the inspector port to stop listening in the target', 30_000);
    await eventually(async () => (await sidecarsOfTarget()) === 0, 'the forward of Close Inspector to be removed', 30_000);
    const before = await counter();
    await eventually(async () => (await counter()) > before, 'the target to count on after Close Inspector');
  } catch (err) {
    await page.screenshot({ path: screenshotPath('node-debug-tree-failure') });
    throw err;
  }
});

test('"Attach Debugger Container to This File\'s Process" in the title of app.js attaches in one step and stops at its breakpoint', { timeout: 300_000 }, async () => {
  const { page } = wb;
  try {
    // The breakpoint from the first test is still set; app.js is still the active editor.
    await page.getByRole('tab', { name: /Explorer/ }).first().click();
    await page.locator('.explorer-folders-view').getByRole('treeitem', { name: /app\.js/ }).click();
    await page.locator('.editor-actions').getByRole('button', { name: /Attach Debugger Container to This File's Process/ }).click();
    await stoppedInTick(page);
    await page.screenshot({ path: screenshotPath('node-debug-editor') });
    await stopAndCheck(page, 'Stop after the attach from the editor');
  } catch (err) {
    await page.screenshot({ path: screenshotPath('node-debug-editor-failure') });
    throw err;
  }
});

test('no terminateProcess.sh ran and no SIGKILL was sent by the extension host (strace)', async () => {
  strace?.kill('SIGINT');
  await new Promise((r) => (strace?.exitCode !== null ? r(undefined) : strace.once('exit', r)));
  const log = fs.readFileSync(straceLog, 'utf8');
  assert.ok(/execve\(/.test(log), 'strace saw the extension host start processes (it watched)');
  assert.doesNotMatch(log, /terminateProcess/, 'no terminateProcess.sh ran');
  assert.doesNotMatch(log, /kill\([^)]*SIGKILL/, 'no SIGKILL was sent');
  assertSafe(init, canaries, straceLog, 'both attaches');
});
