// A person's path through the debugger: open the target's source, click in the
// gutter to set a breakpoint, run "Attach Debugger to Process…" from the
// command palette, pick the container, and see the function in the Call Stack
// with the line highlighted in the editor.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chooseRow, makeWorkspace, openWorkbench, screenshotPath, type Workbench } from '../helpers/workbench';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { eventually } from '../helpers/hostRunner';
import { projectRoot } from '../helpers/paths';

let wb: Workbench;
const docker = testDocker();
let targetId = '';
const name = uniqueName('e2e-dbg-target');

async function gdbSidecars(): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: ['io.container-sidecar.role=gdb', `io.container-sidecar.target=${targetId}`] } });
  return list.map((c) => c.Id);
}

before(async () => {
  targetId = (await runContainer(docker, { name, image: IMAGES.target, cmd: [] })).id;
  const workspace = makeWorkspace('debug');
  // The same source the image was built from; the adapter maps /src to it from the breakpoint.
  fs.copyFileSync(path.join(projectRoot, 'test/fixtures/target.c'), path.join(workspace, 'target.c'));
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
  // A local image tag: no registry is reachable here.
  settings['sidecar.debugger.gdbImage'] = IMAGES.gdb;
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  wb = await openWorkbench('debug', { workspace });
});

after(async () => {
  await wb?.close();
  if (targetId) await removeQuietly(docker, [targetId, ...(await gdbSidecars())]);
});

test('gutter breakpoint, Attach Debugger to Process…, the Call Stack shows tick and the editor highlights line 30', { timeout: 240_000 }, async () => {
  const { page } = wb;
  try {
    await steps(page);
  } catch (err) {
    await page.screenshot({ path: screenshotPath('debug-attach-process-failure') });
    throw err;
  }
});

async function steps(page: Workbench['page']): Promise<void> {
  // Open target.c from the Explorer.
  const file = page.locator('.explorer-folders-view').getByRole('treeitem', { name: /target\.c/ });
  // The Explorer is usually open already; clicking its tab then would close it.
  if (!(await file.waitFor({ timeout: 10_000 }).then(() => true, () => false))) await page.getByRole('tab', { name: /Explorer/ }).first().click();
  await file.waitFor({ timeout: 60_000 });
  await file.click();
  const editor = page.locator('.editor-instance .monaco-editor').first();
  await editor.waitFor({ timeout: 30_000 });

  // Line 30 is on the first screen: click in the gutter left of its number.
  const lineNo = editor.locator('.margin-view-overlays .line-numbers', { hasText: /^30$/ });
  await lineNo.waitFor({ timeout: 30_000 });
  const box = (await lineNo.boundingBox())!;
  const glyph = (await editor.locator('.margin-view-overlays').boundingBox())!;
  // The gutter takes breakpoints once the workbench knows a debugger for C; hover until it offers one.
  await eventually(async () => {
    await page.mouse.move(glyph.x + 40, box.y + box.height / 2);
    await page.mouse.move(glyph.x + 8, box.y + box.height / 2);
    return (await editor.locator('.codicon-debug-hint').count()) > 0;
  }, 'the breakpoint hint in the gutter', 60_000);
  await page.mouse.click(glyph.x + 8, box.y + box.height / 2);
  await editor.locator('.codicon-debug-breakpoint, .codicon-debug-breakpoint-unverified').first().waitFor({ timeout: 15_000 });

  // Run the command from the palette and pick the container.
  await page.keyboard.press('F1');
  await page.keyboard.type('Attach Debugger to Process');
  // Choose the row itself: "Attach Debugger Container to This File's Process" may rank first for these keys.
  await chooseRow(page, 'Attach Debugger to Process');
  // Type first, then pick: on a busy engine the container's row is far down the list, and a list renders only the rows in sight.
  await page.locator('.quick-input-widget', { hasText: 'Debug a process in which container?' }).waitFor({ timeout: 30_000 });
  await page.keyboard.type(name);
  await chooseRow(page, name);

  // The Call Stack shows the function where the breakpoint stopped; the editor highlights its line.
  const callStack = page.locator('.debug-call-stack, .pane-body.debug-call-stack');
  await callStack.locator('.monaco-list-row', { hasText: 'tick' }).first().waitFor({ timeout: 90_000 });
  // The list re-renders while VS Code loads more frames: wait for the state, keep the last read for the message.
  let frames: string[] = [];
  const atTick = () => frames.some((f) => /tick/.test(f) && /target\.c/.test(f) && /30/.test(f));
  try {
    await eventually(async () => {
      frames = await callStack.locator('.monaco-list-row').allInnerTexts();
      return atTick();
    }, 'tick at target.c:30 in the Call Stack', 60_000);
  } catch { /* the assertion below names what the Call Stack showed */ }
  assert.ok(atTick(), `tick at target.c:30 in ${frames.join(' | ')}`);
  await editor.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 30_000 });
  const highlighted = await editor.locator('.view-overlays .debug-top-stack-frame-line').count();
  assert.ok(highlighted >= 1, 'the stopped line is highlighted');
  // The Variables view lists tick's locals.
  await page.locator('.debug-variables .monaco-list-row', { hasText: /depth/ }).first().waitFor({ timeout: 30_000 });
  assert.equal((await gdbSidecars()).length, 1, 'gdb runs in one sidecar');
  await page.screenshot({ path: screenshotPath('debug-attach-process') });

  // Stop (Shift+F5): the sidecar goes, the target runs on.
  await page.keyboard.press('Shift+F5');
  await eventually(async () => (await gdbSidecars()).length === 0, 'the gdb sidecar to be removed', 30_000);
  assert.equal((await docker.getContainer(targetId).inspect()).State.Running, true);
}
