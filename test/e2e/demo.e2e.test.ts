// What a newcomer sees after `npm run demo`: the demo's own set-up
// (scripts/lib/demo.mjs) in the real workbench. The window must open on the
// Containers view with the scene in it, with no walkthrough editor and no git
// prompt about a repository in the folders above.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { codeServerLib, launchBrowser, screenshotPath } from '../helpers/workbench';
import { IMAGES, TEST_LABEL, uniqueName } from '../helpers/docker';
import { projectRoot, testOutput } from '../helpers/paths';

interface DemoLib {
  SCENE: { name: string }[];
  createScene(o: { images: Record<string, string>; workspace: string; prefix: string; project: string; labels: Record<string, string> }): string[];
  removeScene(o: { prefix: string }): void;
  prepareProfile(o: { dir: string; images: Record<string, string>; vsix: string; codeServerBin: string }): { workspace: string; userDataDir: string; extensionsDir: string };
  demoUrl(base: string, workspace: string): string;
}

const prefix = `${uniqueName('e2e-demo')}-`;
const project = `${prefix}scene`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-demo-'));
let demo: DemoLib;
let names: string[];
let workspace: string;
let browser: Browser;
let page: Page;
let stopServer = async (): Promise<void> => {};

before(async () => {
  demo = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/demo.mjs')).href)) as DemoLib;
  const lib = await codeServerLib();
  const profile = demo.prepareProfile({ dir, images: IMAGES, vsix: path.join(projectRoot, 'container-sidecar.vsix'), codeServerBin: lib.codeServerBin });
  workspace = profile.workspace;
  names = demo.createScene({ images: IMAGES, workspace, prefix, project, labels: { [TEST_LABEL]: 'demo' } });
  fs.mkdirSync(testOutput, { recursive: true });
  const server = await lib.startCodeServer({ ...profile, logFile: path.join(testOutput, 'code-server-demo.log') });
  const proc = (server as typeof server & { process: ChildProcess }).process;
  stopServer = async () => {
    const exited = new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r(undefined) : proc.once('exit', r)));
    server.stop();
    // Its profile folder is removed next: let it finish writing first.
    await exited;
  };
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(demo.demoUrl(server.base, workspace));
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  await stopServer();
  demo?.removeScene({ prefix });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the demo workspace lies outside any git repository', () => {
  const r = spawnSync('git', ['-C', workspace, 'rev-parse', '--show-toplevel'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0, `git found a repository above the demo workspace: ${r.stdout}`);
});

test('the demo opens on the Containers view with the scene, without a walkthrough or a git prompt', { timeout: 240_000 }, async () => {
  // No click: the window itself must show the view.
  const view = page.locator('.part.sidebar .pane', { has: page.locator('.pane-header', { hasText: /Containers/i }) });
  const tree = view.getByRole('tree');
  const group = tree.getByRole('treeitem', { name: new RegExp(project) });
  await group.waitFor({ timeout: 120_000 });
  for (const n of names) await tree.getByRole('treeitem', { name: new RegExp(`^${n} `) }).waitFor({ timeout: 30_000 });
  assert.equal(names.length, demo.SCENE.length);
  assert.match(await page.locator('.part.sidebar .composite.title').innerText(), /container sidecar/i);
  await page.screenshot({ path: screenshotPath('demo') });
  // The startup editor opens while the workbench restores, long before the view has loaded its tree.
  const tabs = await page.locator('.part.editor .tabs-container .tab').allInnerTexts();
  assert.deepEqual(tabs, [], `no editor is open at start (walkthrough, welcome page): ${tabs.join(' | ')}`);
  const toasts = await page.locator('.notifications-toasts .notification-toast').allInnerTexts();
  assert.ok(!toasts.some((t) => /git|repositor/i.test(t)), `no git prompt: ${toasts.join(' | ')}`);
});
