// Workspace trust, as a person meets it: a cloned folder whose settings name
// their own debugger image with SYS_ADMIN, a files helper image and an engine.
// Opened in Restricted Mode everything works with the user's settings; once
// trusted, each workspace choice is asked about before the first start.
// One code-server start with workspace trust enabled (the other e2e files run with it off).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { chooseRow, makeWorkspace, openWorkbench, screenshotPath, type Workbench } from '../helpers/workbench';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { eventually } from '../helpers/hostRunner';

let wb: Workbench;
const docker = testDocker();
const names = { untrusted: uniqueName('e2e-trust-a'), trusted: uniqueName('e2e-trust-b') };
const targets: Docker.Container[] = [];
/** Images that do not exist: if the workspace's were used, nothing could start. */
const REPO_HELPER = 'container-sidecar-test/repo-helper:never';
const REPO_TUNNEL = 'container-sidecar-test/repo-tunnel:never';

async function sidecarsOf(target: Docker.Container, role: 'debugger' | 'files' | 'tunnel'): Promise<Docker.ContainerInspectInfo[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${target.id}`, `io.container-sidecar.role=${role}`] } });
  return Promise.all(list.map((c) => docker.getContainer(c.Id).inspect()));
}

before(async () => {
  for (const name of [names.untrusted, names.trusted]) targets.push(await runContainer(docker, { name, cmd: ['sh', '-c', 'echo hello > /greeting && exec httpd -f -p 127.0.0.1:8080 -h /'] }));
  const workspace = makeWorkspace('trust');
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  fs.writeFileSync(settingsFile, JSON.stringify({
    ...JSON.parse(fs.readFileSync(settingsFile, 'utf8')),
    // What a hostile repository would write.
    'sidecar.debugger.profiles': [
      { name: 'Repo admin', image: IMAGES.gdb, command: ['sh'], capabilities: ['SYS_PTRACE', 'SYS_ADMIN'] },
      { name: 'Repo tools', image: IMAGES.gdb, command: ['sh'], capabilities: ['SYS_PTRACE', 'NET_ADMIN'] },
    ],
    'sidecar.files.helperImage': REPO_HELPER,
    'sidecar.ports.tunnelImage': REPO_TUNNEL,
    'sidecar.engines': ['unix:///tmp/container-sidecar-repo-engine.sock'],
  }, null, 2));
  wb = await openWorkbench('trust', {
    workspace,
    workspaceTrust: true,
    keepWorkspaceSettings: true,
    userSettings: {
      // The user's own choices: local images (no registry here), and the helper for every file access.
      'sidecar.debugger.profiles': [{ name: 'Shell (local busybox)', image: IMAGES.busybox, command: ['sh'], capabilities: ['SYS_PTRACE'] }],
      'sidecar.ports.tunnelImage': IMAGES.busybox,
      'sidecar.files.backend': 'helper',
      // Open untrusted folders in Restricted Mode without the startup question.
      'security.workspace.trust.startupPrompt': 'never',
      'security.workspace.trust.untrustedFiles': 'open',
      // The DOM renderer keeps the terminal's text in the page, where the test can read it.
      'terminal.integrated.gpuAcceleration': 'off',
    },
  });
});

after(async () => {
  await wb?.close();
  for (const t of targets) await removeQuietly(docker, [...(await sidecarsOf(t, 'debugger')), ...(await sidecarsOf(t, 'files')), ...(await sidecarsOf(t, 'tunnel'))].map((c) => c.Id));
  await removeQuietly(docker, targets);
});

/** Shows the Container Sidecar views; clicking the tab when they are already shown would hide them. */
async function containersView() {
  const { page } = wb;
  const view = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^Containers/i }) });
  if (!(await view.isVisible())) await page.getByRole('tab', { name: /Container Sidecar/ }).click();
  await view.waitFor({ timeout: 30_000 });
  return view;
}

async function palette(command: string): Promise<void> {
  const { page } = wb;
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget').waitFor({ timeout: 15_000 });
  await page.keyboard.type(command);
  await pick(command.replace(/^.*: /, ''));
}

/** Waits for the quick pick to be the one asked for (`title`), so typing never lands in the terminal. */
async function pickIn(title: string, text: string): Promise<void> {
  await wb.page.locator('.quick-input-widget', { has: wb.page.locator(`.quick-input-title:has-text("${title}"), input[placeholder="${title}"]`) }).waitFor({ timeout: 30_000 });
  await pick(text, text);
}

async function pick(text: string, filter?: string): Promise<void> {
  const { page } = wb;
  if (filter) await page.keyboard.type(filter);
  await chooseRow(page, text);
}

async function openFile(container: string): Promise<void> {
  await palette('Container Sidecar: Open File in Container...');
  await pickIn('Container whose files to open', container);
  await wb.page.locator('.quick-input-widget .quick-input-title', { hasText: 'Open a file in' }).waitFor({ timeout: 30_000 });
  await wb.page.keyboard.type('/greeting');
  await wb.page.keyboard.press('Enter');
}

async function answer(button: 'Allow' | 'Use Defaults'): Promise<string> {
  const dialog = wb.page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 60_000 });
  const text = await dialog.innerText();
  await wb.page.screenshot({ path: screenshotPath(`trust-consent-${button.replace(' ', '-').toLowerCase()}`) });
  await dialog.getByRole('button', { name: button, exact: true }).click();
  await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
  return text;
}

test('in Restricted Mode the views work and every start follows the user\'s settings', { timeout: 300_000 }, async () => {
  const { page } = wb;
  try {
    const view = await containersView();
    // The workspace's engine does not exist: the list comes from the user's engine (the
    // container pick below finds the target there; the shared engine may list too many to see it here).
    await view.getByRole('treeitem').first().waitFor({ timeout: 60_000 });
    await view.getByText(/Restricted Mode: your own settings and the defaults apply/).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: screenshotPath('trust-restricted-view') });

    await palette('Container Sidecar: Attach Debugger Container');
    await pickIn('Attach a debugger container to which container?', names.untrusted);
    const [sidecar] = await eventually(async () => {
      const s = await sidecarsOf(targets[0], 'debugger');
      return s.length && s[0].State.Running ? s : undefined;
    }, 'the debugger sidecar to run', 60_000) ?? [];
    assert.equal(sidecar.Config.Image, IMAGES.busybox, 'the user\'s profile image, not the workspace\'s');
    assert.deepEqual(sidecar.HostConfig.CapAdd, ['SYS_PTRACE'], 'only SYS_PTRACE');
    // The terminal takes the focus when it opens: wait for it before typing elsewhere.
    await page.locator('.xterm-rows', { hasText: 'Debugger sidecar for' }).first().waitFor({ timeout: 60_000 });

    await openFile(names.untrusted);
    await page.locator('.tabs-container .tab', { hasText: 'greeting' }).waitFor({ timeout: 60_000 });
    const [helper] = await sidecarsOf(targets[0], 'files');
    // The helper is the extension's own built-in image; the workspace's helper setting is read nowhere.
    assert.match(helper?.Config.Image ?? '', /^container-sidecar\/files-helper:/, 'the files helper uses the built-in image');
  } catch (e) {
    await page.screenshot({ path: screenshotPath('trust-restricted-failure') }).catch(() => undefined);
    throw e;
  }
});

test('once trusted, the workspace\'s images need consent: Use Defaults keeps the user\'s, Allow starts the workspace\'s', { timeout: 300_000 }, async () => {
  const { page } = wb;
  try {
    await palette('Workspaces: Manage Workspace Trust');
    const trustEditor = page.locator('.workspace-trust-editor');
    await trustEditor.getByRole('button', { name: 'Trust', exact: true }).first().click();
    await page.getByText('You trust this folder').waitFor({ timeout: 30_000 });
    const view = await containersView();
    await eventually(async () => !(await view.getByText(/Restricted Mode:/).count()), 'the Restricted Mode note to go', 30_000);
    // sidecar.engines is machine-scoped: the repository's engine is still ignored.
    await view.getByRole('treeitem').first().waitFor({ timeout: 60_000 });

    await palette('Container Sidecar: Forward a Container Port');
    await pickIn('Forward a port of which container?', names.trusted);
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Port inside the container' }).waitFor({ timeout: 30_000 });
    await page.keyboard.type('8080');
    await page.keyboard.press('Enter');
    const tunnelQuestion = await answer('Use Defaults');
    assert.match(tunnelQuestion, /sidecar\.ports\.tunnelImage/);
    assert.ok(tunnelQuestion.includes(REPO_TUNNEL), 'the question names the image');
    const [tunnel] = await eventually(async () => {
      const s = await sidecarsOf(targets[1], 'tunnel');
      return s.length ? s : undefined;
    }, 'the tunnel sidecar', 60_000) ?? [];
    assert.equal(tunnel.Config.Image, IMAGES.busybox, 'Use Defaults: the user\'s tunnel image');

    await palette('Container Sidecar: Attach Debugger Container');
    await pickIn('Attach a debugger container to which container?', names.trusted);
    const question = await answer('Allow');
    assert.match(question, /sidecar\.debugger\.profiles/);
    assert.ok(question.includes(IMAGES.gdb), 'the question names the image');
    assert.match(question, /SYS_PTRACE, NET_ADMIN/, 'the question names the capabilities');
    assert.doesNotMatch(question, /Repo admin/, 'the SYS_ADMIN profile is refused, not offered');
    await page.locator('.notification-toast', { hasText: /SYS_ADMIN is refused from workspace settings/ }).first().waitFor({ timeout: 30_000 });
    const [sidecar] = await eventually(async () => {
      const s = await sidecarsOf(targets[1], 'debugger');
      return s.length && s[0].State.Running ? s : undefined;
    }, 'the workspace\'s debugger sidecar to run', 60_000) ?? [];
    assert.equal(sidecar.Config.Image, IMAGES.gdb, 'Allow: the workspace\'s image');
    assert.deepEqual(sidecar.HostConfig.CapAdd, ['SYS_PTRACE', 'NET_ADMIN']);
    await page.screenshot({ path: screenshotPath('trust-allowed') });
  } catch (e) {
    await page.screenshot({ path: screenshotPath('trust-trusted-failure') }).catch(() => undefined);
    throw e;
  }
});
