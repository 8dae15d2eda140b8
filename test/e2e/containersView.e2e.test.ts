// Drives the real workbench in Chromium as a person would: click the activity
// bar entry and read the Containers view.
import { after, before, test } from 'node:test';
import type Docker from 'dockerode';
import { openWorkbench, revealContainer, screenshotPath, type Workbench } from '../helpers/workbench';
import { removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { eventually } from '../helpers/hostRunner';

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
  // Check each row right after revealing it: revealing the next may scroll the previous out of sight.
  for (const [n, state] of [[names.running, /Up /], [names.stopped, /Exited \(0\)/]] as const) {
    await revealContainer(page, n);
    const row = tree.getByRole('treeitem', { name: new RegExp(n) }).first();
    await row.waitFor({ timeout: 30_000 });
    await eventually(async () => state.test(await row.innerText()), `${n} shown as ${state.source}`, 30_000);
  }
  await page.screenshot({ path: screenshotPath('containers-view') });
});
