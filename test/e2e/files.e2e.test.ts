// A person's path through container files: "Open Container in Explorer" from
// the palette in a single-folder window (it reloads as a workspace of the
// folder and the container, never an empty window), expand a folder of a
// shell-less container, open a file, type and save (the container holds the
// change), then change the file inside the container and watch the editor follow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type Docker from 'dockerode';
import { chooseRow, openWorkbench, screenshotPath, type Workbench } from '../helpers/workbench';
import { execIn, IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { eventually } from '../helpers/hostRunner';

let wb: Workbench;
const docker = testDocker();
const name = uniqueName('e2e-files');
let target: Docker.Container;
let checker: Docker.Container;

/** The target has no shell: look inside it from a busybox that shares its pid namespace. */
async function inside(cmd: string): Promise<string> {
  return (await execIn(docker, checker.id, ['sh', '-c', cmd])).stdout;
}

before(async () => {
  target = await runContainer(docker, { name, image: IMAGES.target, cmd: ['/app/target'] });
  checker = await runContainer(docker, { name: uniqueName('e2e-files-check'), hostConfig: { PidMode: `container:${target.id}`, NetworkMode: 'none' } });
  await inside('mkdir -p /proc/1/root/notes && printf "first line\\n" > /proc/1/root/notes/todo.txt');
  wb = await openWorkbench('files');
});

after(async () => {
  await wb?.close();
  await removeQuietly(docker, [checker, target].filter(Boolean));
});

test('open a container in the Explorer, edit and save a file, and see changes made inside', { timeout: 300_000 }, async () => {
  try {
    await walkThrough();
  } catch (e) {
    await wb.page.screenshot({ path: screenshotPath('files-failure') }).catch(() => undefined);
    throw e;
  }
});

async function walkThrough(): Promise<void> {
  const { page } = wb;
  await page.locator('.statusbar').waitFor({ timeout: 60_000 });
  await page.getByRole('tab', { name: /Container Sidecar/ }).click();
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget').waitFor({ timeout: 15_000 });
  await page.keyboard.type('Container Sidecar: Open Container in Explorer');
  await page.screenshot({ path: screenshotPath('files-palette') });
  await pick(page, 'Open Container in Explorer');
  await pick(page, name, name);

  // A single-folder window must become a workspace: the product asks, then reloads.
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 30_000 });
  assert.match(await dialog.innerText(), new RegExp(`Open ${name}'s files next to ${path.basename(wb.workspace)}\\?`));
  await dialog.getByRole('button', { name: 'Reload as Workspace' }).click();

  // After the reload the Explorer shows both: the user's folder and the container.
  const explorer = page.locator('.explorer-folders-view');
  const root = explorer.getByRole('treeitem', { name: `${name} (container)` });
  await root.waitFor({ timeout: 90_000 });
  await explorer.getByRole('treeitem', { name: path.basename(wb.workspace), exact: true }).waitFor({ timeout: 30_000 });
  assert.match(page.url(), /[?&]workspace=[^&]*\.code-workspace/, 'the window holds a workspace file');
  // Open the container's folder. A click toggles it, and a click sent while the reloaded window was
  // still setting up its tree once took effect late, together with a second one: open, then shut.
  // So: one click to select it, then the keyboard, whose Right arrow opens a folder and never shuts it.
  const notes = explorer.getByRole('treeitem', { name: 'notes', exact: true });
  await root.click();
  await eventually(async () => {
    if (await notes.waitFor({ timeout: 5_000 }).then(() => true, () => false)) return true;
    if ((await root.getAttribute('aria-selected')) !== 'true') await root.click();
    else if ((await root.getAttribute('aria-expanded')) !== 'true') await page.keyboard.press('ArrowRight');
    return false;
  }, 'the container folder open, showing its notes folder', 60_000);
  await notes.waitFor({ timeout: 30_000 });
  await explorer.getByRole('treeitem', { name: 'app', exact: true }).waitFor();
  await notes.click();
  const todo = explorer.getByRole('treeitem', { name: 'todo.txt' });
  await todo.waitFor({ timeout: 30_000 });
  await page.screenshot({ path: screenshotPath('files-explorer') });

  await todo.dblclick();
  const editor = page.locator('.part.editor .monaco-editor .view-lines').first();
  // Monaco renders spaces as no-break spaces.
  const shown = async () => (await editor.innerText()).replace(/\u00a0/g, ' ');
  await eventually(async () => (await shown()).includes('first line'), 'the file in an editor', 30_000);
  const tab = page.locator('.tabs-container .tab', { hasText: 'todo.txt' });
  await tab.waitFor();

  await editor.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('typed in the editor');
  await page.keyboard.press('Control+S');
  await eventually(async () => (await inside('cat /proc/1/root/notes/todo.txt')) === 'first line\ntyped in the editor', 'the saved text inside the container', 30_000);
  await eventually(async () => !((await tab.getAttribute('class')) ?? '').includes('dirty'), 'the tab to show saved', 15_000);
  await page.screenshot({ path: screenshotPath('files-saved') });

  await inside('printf "changed inside the container\\n" > /proc/1/root/notes/todo.txt');
  await eventually(async () => (await shown()).includes('changed inside the container'), 'the editor to show the change made inside', 15_000);
  await inside('printf "x\\n" > /proc/1/root/notes/new-file.txt');
  await explorer.getByRole('treeitem', { name: 'new-file.txt' }).waitFor({ timeout: 15_000 });
  await page.screenshot({ path: screenshotPath('files-changed-inside') });
  assert.equal(await inside('cat /proc/1/root/notes/todo.txt'), 'changed inside the container\n');
}

/** Waits for a quick pick row with `text` (after typing `filter` if given) and accepts it. */
async function pick(page: Workbench['page'], text: string, filter?: string): Promise<void> {
  if (filter) await page.keyboard.type(filter);
  await chooseRow(page, text);
}
