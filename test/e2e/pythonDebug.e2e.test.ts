// A person debugging a Python service from the Containers tree: open the
// workspace copy of app.py, click in the gutter, "Debug this process" on the
// python3 row of the container, see tick in the Call Stack and its computed
// locals in Variables, then Stop: the sidecars go and the service runs on.
// The container's image has only python3; the workspace holds the same script
// at its root, so the source map is inferred (/app is the workspace folder).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeWorkspace, openWorkbench, revealContainer, screenshotPath, type Workbench } from '../helpers/workbench';
import { IMAGES, execIn, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { eventually } from '../helpers/hostRunner';
import { projectRoot } from '../helpers/paths';

let wb: Workbench;
const docker = testDocker();
let targetId = '';
const name = uniqueName('e2e-py-target');
const APP = path.join(projectRoot, 'test/fixtures/python-target/app.py');
/** `total = square + 1` in tick(). */
const LINE = fs.readFileSync(APP, 'utf8').split('\n').findIndex((l) => l.includes('total = square + 1')) + 1;

async function ourSidecars(): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${targetId}`] } });
  return list.map((c) => `${c.Labels['io.container-sidecar.role']} ${c.Id.slice(0, 12)}`);
}

/** The service's own answer, asked inside its container. */
async function ticks(): Promise<number> {
  const r = await execIn(docker, targetId, ['python3', '-c', 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8000/", timeout=10).read().decode())']);
  const m = /ticks=(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`the service answered ${JSON.stringify(r.stdout + r.stderr)}`);
  return Number(m[1]);
}

before(async () => {
  const workspace = makeWorkspace('python-debug');
  fs.copyFileSync(APP, path.join(workspace, 'app.py'));
  targetId = (await runContainer(docker, { name, image: IMAGES.python, cmd: ['python3', '/app/app.py'] })).id;
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
  // Local image tags (no registry here): the debugpy test base holds python3, debugpy and gdb. The helper moves them to user settings.
  settings['sidecar.debugger.debugpyImage'] = IMAGES.debugpy;
  settings['sidecar.ports.tunnelImage'] = IMAGES.busybox;
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  wb = await openWorkbench('python-debug', { workspace });
});

after(async () => {
  await wb?.close();
  if (targetId) {
    const left = await docker.listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${targetId}`] } });
    await removeQuietly(docker, [targetId, ...left.map((c) => c.Id)]);
  }
});

test('Python: gutter breakpoint in app.py, "Debug this process" on the python3 row of the Containers tree, tick in the Call Stack with its locals, Stop leaves the service running', { timeout: 300_000 }, async () => {
  const { page } = wb;
  try {
    await steps(page);
  } catch (err) {
    await page.screenshot({ path: screenshotPath('python-debug-failure') });
    throw err;
  }
});

async function steps(page: Workbench['page']): Promise<void> {
  const file = page.locator('.explorer-folders-view').getByRole('treeitem', { name: /app\.py/ });
  if (!(await file.waitFor({ timeout: 10_000 }).then(() => true, () => false))) await page.getByRole('tab', { name: /Explorer/ }).first().click();
  await file.waitFor({ timeout: 60_000 });
  await file.click();
  const editor = page.locator('.editor-instance .monaco-editor').first();
  await editor.waitFor({ timeout: 30_000 });

  const lineNo = editor.locator('.margin-view-overlays .line-numbers', { hasText: new RegExp(`^${LINE}$`) });
  await lineNo.waitFor({ timeout: 30_000 });
  const box = (await lineNo.boundingBox())!;
  const glyph = (await editor.locator('.margin-view-overlays').boundingBox())!;
  // The gutter takes breakpoints once the workbench knows a debugger for Python; hover until it offers one.
  await eventually(async () => {
    await page.mouse.move(glyph.x + 40, box.y + box.height / 2);
    await page.mouse.move(glyph.x + 8, box.y + box.height / 2);
    return (await editor.locator('.codicon-debug-hint').count()) > 0;
  }, 'the breakpoint hint in the gutter', 60_000);
  await page.mouse.click(glyph.x + 8, box.y + box.height / 2);
  await editor.locator('.codicon-debug-breakpoint, .codicon-debug-breakpoint-unverified').first().waitFor({ timeout: 15_000 });

  // The Containers tree: the container, its Processes, the python3 row, "Debug this process".
  await page.getByRole('tab', { name: /Container Sidecar/ }).click();
  const tree = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^Containers/i }) }).getByRole('tree');
  await tree.getByRole('treeitem').first().waitFor({ timeout: 60_000 });
  await revealContainer(page, name);
  const expand = async (row: ReturnType<typeof tree.locator>, what: string) => eventually(async () => {
    if ((await row.getAttribute('aria-expanded')) === 'true') return true;
    await row.click();
    await new Promise((r) => setTimeout(r, 1_000));
    return (await row.getAttribute('aria-expanded')) === 'true';
  }, `${what} to be expanded`, 60_000);
  await expand(tree.locator('.monaco-list-row', { hasText: name }).first(), name);
  await expand(tree.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: /^Processes$/ }) }).first(), 'Processes');
  const pyRow = tree.getByRole('treeitem', { name: /python3 \/app\/app\.py/ }).first();
  await pyRow.waitFor({ timeout: 60_000 });
  // A refresh from other containers' events may close the menu or re-create the row: try again until the session starts.
  const item = page.locator('.monaco-menu').getByRole('menuitem', { name: /Debug this process/ });
  const picker = page.locator('.quick-input-widget', { hasText: 'Debug a process in which container?' });
  await eventually(async () => {
    if (await picker.isVisible()) await page.keyboard.press('Escape');
    if (!(await item.isVisible())) {
      await page.keyboard.press('Escape');
      await pyRow.click({ button: 'right' });
      if (!(await item.waitFor({ timeout: 5_000 }).then(() => true, () => false))) return false;
    }
    await item.click();
    const outcome = await eventually(async () => (await picker.isVisible() ? 'picker' : (await page.locator('.debug-toolbar').isVisible()) ? 'started' : undefined), 'the attach to start', 60_000);
    return outcome === 'started';
  }, '"Debug this process" on the python3 row to start a session', 180_000);

  const callStack = page.locator('.debug-call-stack, .pane-body.debug-call-stack');
  await callStack.locator('.monaco-list-row', { hasText: 'tick' }).first().waitFor({ timeout: 120_000 });
  let frames: string[] = [];
  const atTick = () => frames.some((f) => /tick/.test(f) && /app\.py/.test(f) && new RegExp(`${LINE}`).test(f));
  try {
    await eventually(async () => {
      frames = await callStack.locator('.monaco-list-row').allInnerTexts();
      return atTick();
    }, `tick at app.py:${LINE} in the Call Stack`, 60_000);
  } catch { /* the assertion below names what the Call Stack showed */ }
  assert.ok(atTick(), `tick at app.py:${LINE} in ${frames.join(' | ')}`);
  // The editor of the workspace copy shows the stop.
  await editor.locator('.debug-top-stack-frame-line').first().waitFor({ timeout: 30_000 });
  // Variables: n and square = n * n, as the program computed them.
  const vars = page.locator('.debug-variables .monaco-list-row');
  await vars.filter({ hasText: /square/ }).first().waitFor({ timeout: 30_000 });
  const text = (await vars.allInnerTexts()).join('\n');
  const n = Number(/\bn\s*:?\s*=?\s*(\d+)/.exec(text)?.[1]);
  const square = Number(/square\s*:?\s*=?\s*(\d+)/.exec(text)?.[1]);
  assert.ok(n > 0 && square === n * n, `n and square in Variables: ${text}`);
  await page.screenshot({ path: screenshotPath('python-debug') });

  // Stop (Shift+F5): the holder and the forward's tunnel go, the service runs on.
  await page.keyboard.press('Shift+F5');
  await eventually(async () => (await ourSidecars()).length === 0, 'the sidecars to be removed', 30_000);
  const first = await ticks();
  await eventually(async () => (await ticks()) > first, 'the service to go on after Stop', 30_000);
}
