// The first gdb attach on a machine without the debugger image builds the
// shipped Dockerfile under a notification that shows the build's output and
// can be cancelled. No registry is reachable here, so the installed copy of
// images/gdb/Dockerfile gets the test's gdb image as its BASE default (what a
// user does with the build argument) and, only to keep the build running
// until Cancel is clicked, a slow step. Cancel must stop the build on the
// engine: its step's container goes and no image is tagged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chooseRow, openWorkbench, screenshotPath, type Workbench } from '../helpers/workbench';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { eventually } from '../helpers/hostRunner';

let wb: Workbench;
const docker = testDocker();
const name = uniqueName('e2e-imgbuild');
const marker = `cancel-${name}`;
let targetId = '';

/** Containers of the build's slow step, found by the marker in its command. */
async function buildSteps(): Promise<string[]> {
  return (await docker.listContainers({ all: true })).filter((c) => c.Command.includes(marker)).map((c) => c.Id);
}

async function builtTags(): Promise<string[]> {
  return (await docker.listImages({ filters: { reference: ['container-sidecar/gdb'] } })).flatMap((i) => i.RepoTags ?? []);
}

let tagsBefore: string[] = [];

before(async () => {
  targetId = (await runContainer(docker, { name, image: IMAGES.target, cmd: [] })).id;
  tagsBefore = await builtTags();
  wb = await openWorkbench('image-build');
  const [dir] = fs.readdirSync(wb.extensionsDir).filter((d) => d.startsWith('container-sidecar.container-sidecar-'));
  const dockerfile = path.join(wb.extensionsDir, dir, 'images', 'gdb', 'Dockerfile');
  const shipped = fs.readFileSync(dockerfile, 'utf8');
  assert.match(shipped, /^ARG BASE=/m, 'the shipped Dockerfile takes its base as a build argument');
  fs.writeFileSync(dockerfile, `${shipped.replace(/^ARG BASE=.*$/m, `ARG BASE=${IMAGES.gdb}`)}RUN echo ${marker} && sleep 300\n`);
});

after(async () => {
  await wb?.close();
  const made = (await builtTags()).filter((t) => !tagsBefore.includes(t));
  for (const t of made) await docker.getImage(t).remove().catch(() => undefined);
  await removeQuietly(docker, [targetId, ...(await buildSteps())]);
});

test('the first gdb attach builds the debugger image under a notification with the build\'s output; Cancel stops the build', { timeout: 240_000 }, async () => {
  const { page } = wb;
  try {
    // The extension's commands are in the palette once its contributions are: its activity bar entry says so.
    await page.getByRole('tab', { name: /Container Sidecar/ }).waitFor({ timeout: 60_000 });
    await page.keyboard.press('F1');
    await page.keyboard.type('Attach Debugger to Process');
    // Choose the row itself: "Attach Debugger Container to This File's Process" may rank first for these keys.
    await chooseRow(page, 'Attach Debugger to Process');
    // Type first: on a busy engine the row is far down the list, and a list renders only the rows in sight.
    await page.locator('.quick-input-widget', { hasText: 'Debug a process in which container?' }).waitFor({ timeout: 30_000 });
    await page.keyboard.type(name);
    await chooseRow(page, name);

    // The notification names the image and shows the build's own output, up to the running step.
    const toast = page.locator('.notification-toast', { hasText: /Building the gdb debugger image container-sidecar\/gdb:[0-9a-f]{12} \(first use\)/ });
    await toast.waitFor({ timeout: 60_000 });
    await toast.locator('.notification-list-item-message', { hasText: marker }).waitFor({ timeout: 90_000 });
    await eventually(async () => (await buildSteps()).length > 0, 'the slow step to run on the engine', 30_000);
    await page.screenshot({ path: screenshotPath('image-build-progress') });

    await toast.getByRole('button', { name: 'Cancel' }).click();
    await toast.waitFor({ state: 'detached', timeout: 30_000 });
    await eventually(async () => (await buildSteps()).length === 0, 'the build step\'s container to be removed after Cancel', 60_000);
    assert.deepEqual((await builtTags()).filter((t) => !tagsBefore.includes(t)), [], 'no image was tagged');
    // Nothing attached: no gdb sidecar for the target, no debug session.
    const gdb = await docker.listContainers({ all: true, filters: { label: ['io.container-sidecar.role=gdb', `io.container-sidecar.target=${targetId}`] } });
    assert.equal(gdb.length, 0);
    assert.equal(await page.locator('.debug-toolbar').isVisible(), false);
  } catch (err) {
    await page.screenshot({ path: screenshotPath('image-build-failure') });
    throw err;
  }
});
