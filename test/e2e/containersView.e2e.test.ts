// Drives the real workbench in Chromium as a person would: click the activity
// bar entry and read the Containers view.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { openWorkbench, revealContainer, screenshotPath, type Workbench } from '../helpers/workbench';
import { removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

let wb: Workbench;
const docker = testDocker();
const containers: Docker.Container[] = [];
const names = { running: uniqueName('e2e-web'), stopped: uniqueName('e2e-stopped') };

before(async () => {
  containers.push(await runContainer(docker, { name: names.running }));
  const s = await runContainer(docker, { name: names.stopped, cmd: ['true'] });
  await s.wait();
  containers.push(s);
  wb = await openWorkbench('containers-view');
});

after(async () => {
  await wb?.close();
  await removeQuietly(docker, containers);
});

test('the Container Sidecar activity bar entry shows the test containers by name', { timeout: 120_000 }, async () => {
  const { page } = wb;
  await page.getByRole('tab', { name: /Container Sidecar/ }).click();
  const view = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /Containers/i }) });
  const tree = view.getByRole('tree');
  await tree.getByRole('treeitem').first().waitFor({ timeout: 60_000 });
  // Other work may have many containers on this engine: bring ours into sight as a person would.
  for (const n of [names.running, names.stopped]) {
    await revealContainer(page, n);
    await tree.getByRole('treeitem', { name: new RegExp(n) }).waitFor({ timeout: 30_000 });
  }
  const labels = await tree.getByRole('treeitem').allInnerTexts();
  assert.ok(labels.some((l) => l.includes(names.running)), `running container in ${labels.join(' | ')}`);
  assert.ok(labels.some((l) => l.includes(names.stopped)), `stopped container shown too, in ${labels.join(' | ')}`);
  await page.screenshot({ path: screenshotPath('containers-view') });
});
