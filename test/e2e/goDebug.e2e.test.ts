// A person debugging a Go service in a shell-less container: open main.go,
// click in the gutter, run "Attach Debugger Container to This File's Process"
// from the palette, see main.tick in the Call Stack and its locals in
// Variables, then Stop: delve's sidecar goes and the service runs on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeWorkspace, openWorkbench, screenshotPath, type Workbench } from '../helpers/workbench';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { eventually } from '../helpers/hostRunner';
import { projectRoot } from '../helpers/paths';

let wb: Workbench;
const docker = testDocker();
let targetId = '';
const name = uniqueName('e2e-go-target');
/** `s.Origin.X++` in tick(). */
const TICK_LINE = 39;

async function ourSidecars(): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${targetId}`] } });
  return list.map((c) => `${c.Labels['io.container-sidecar.role']} ${c.Id.slice(0, 12)}`);
}

before(async () => {
  const workspace = makeWorkspace('go-debug');
  // The source, where a checkout would have it; the container mounts it, as a development container does.
  const src = path.join(workspace, 'go-target');
  fs.mkdirSync(src);
  for (const f of ['main.go', 'go.mod']) fs.copyFileSync(path.join(projectRoot, 'test/fixtures/go-target', f), path.join(src, f));
  targetId = (await runContainer(docker, { name, image: IMAGES.go, cmd: [], hostConfig: { NetworkMode: 'none', Binds: [`${src}:/src:ro`] } })).id;
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
  // Local image tags (no registry here); the workbench helper moves them to user settings.
  settings['sidecar.debugger.delveImage'] = IMAGES.delve;
  settings['sidecar.ports.tunnelImage'] = IMAGES.busybox;
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  wb = await openWorkbench('go-debug', { workspace });
});

after(async () => {
  await wb?.close();
  if (targetId) {
    const left = await docker.listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${targetId}`] } });
    await removeQuietly(docker, [targetId, ...left.map((c) => c.Id)]);
  }
});

test('Go: gutter breakpoint in main.go, Attach Debugger Container to This File\'s Process, main.tick in the Call Stack with its locals, Stop leaves the service running', { timeout: 240_000 }, async () => {
  const { page } = wb;
  try {
    await steps(page);
  } catch (err) {
    await page.screenshot({ path: screenshotPath('go-debug-failure') });
    throw err;
  }
});

async function steps(page: Workbench['page']): Promise<void> {
  const explorer = page.locator('.explorer-folders-view');
  const folder = explorer.getByRole('treeitem', { name: /^go-target/ });
  if (!(await folder.waitFor({ timeout: 10_000 }).then(() => true, () => false))) await page.getByRole('tab', { name: /Explorer/ }).first().click();
  await folder.waitFor({ timeout: 60_000 });
  await folder.click();
  const file = explorer.getByRole('treeitem', { name: /main\.go/ });
  await file.waitFor({ timeout: 30_000 });
  await file.click();
  const editor = page.locator('.editor-instance .monaco-editor').first();
  await editor.waitFor({ timeout: 30_000 });

  // tick() is on the first screen: click in the gutter left of its line number.
  const lineNo = editor.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^${TICK_LINE}$`) });
  await lineNo.waitFor({ timeout: 30_000 });
  const box = (await lineNo.boundingBox())!;
  const glyph = (await editor.locator('.margin-view-overlays').boundingBox())!;
  // The gutter takes breakpoints once the workbench knows a debugger for Go; hover until it offers one.
  await eventually(async () => {
    await page.mouse.move(glyph.x + 40, box.y + box.height / 2);
    await page.mouse.move(glyph.x + 8, box.y + box.height / 2);
    return (await editor.locator('.codicon-debug-hint').count()) > 0;
  }, 'the breakpoint hint in the gutter', 60_000);
  await page.mouse.click(glyph.x + 8, box.y + box.height / 2);
  await editor.locator('.codicon-debug-breakpoint, .codicon-debug-breakpoint-unverified').first().waitFor({ timeout: 15_000 });

  // From the palette, with main.go active: one container mounts it and one Go program runs there, so no question.
  await page.keyboard.press('F1');
  await page.keyboard.type('Attach Debugger Container to This File');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'This File' }).first().waitFor({ timeout: 30_000 });
  await page.keyboard.press('Enter');

  const callStack = page.locator('.debug-call-stack, .pane-body.debug-call-stack');
  await callStack.locator('.monaco-list-row', { hasText: 'main.tick' }).first().waitFor({ timeout: 90_000 });
  let frames: string[] = [];
  const atTick = () => frames.some((f) => /main\.tick/.test(f) && /main\.go/.test(f) && new RegExp(`${TICK_LINE}`).test(f));
  try {
    await eventually(async () => {
      frames = await callStack.locator('.monaco-list-row').allInnerTexts();
      return atTick();
    }, `main.tick at main.go:${TICK_LINE} in the Call Stack`, 60_000);
  } catch { /* the assertion below names what the Call Stack showed */ }
  assert.ok(atTick(), `main.tick at main.go:${TICK_LINE} in ${frames.join(' | ')}`);
  await editor.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 30_000 });
  // The Variables view lists tick's locals, computed by the program.
  await page.locator('.debug-variables .monaco-list-row', { hasText: /depth/ }).first().waitFor({ timeout: 30_000 });
  await page.locator('.debug-variables .monaco-list-row', { hasText: /value/ }).first().waitFor({ timeout: 30_000 });
  assert.deepEqual((await ourSidecars()).filter((s) => s.startsWith('delve ')).length, 1, 'delve runs in one sidecar');
  await page.screenshot({ path: screenshotPath('go-debug') });

  // Stop (Shift+F5): delve's sidecar and the forward's tunnel go, the service runs on.
  await page.keyboard.press('Shift+F5');
  await eventually(async () => (await ourSidecars()).length === 0, 'the delve sidecar and its tunnel to be removed', 30_000);
  assert.equal((await docker.getContainer(targetId).inspect()).State.Running, true);
}
