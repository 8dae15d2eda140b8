// Debugger sidecars and port forwards through the real commands, in the real
// extension host, against the real engine.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { AttachedSidecar } from '../../src/sidecars';
import type { ActiveForward } from '../../src/engine/portForward';
import { eventually, type HostTest } from '../helpers/hostRunner';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

const EXTENSION_ID = 'container-sidecar.container-sidecar';
const PROFILE = 'Test shell';

async function activate(): Promise<void> {
  await vscode.extensions.getExtension(EXTENSION_ID)!.activate();
}

async function withProfiles<T>(profiles: unknown, fn: () => Promise<T>): Promise<T> {
  const cfg = vscode.workspace.getConfiguration('sidecar');
  await cfg.update('debugger.profiles', profiles, vscode.ConfigurationTarget.Global);
  try {
    return await fn();
  } finally {
    await cfg.update('debugger.profiles', undefined, vscode.ConfigurationTarget.Global);
  }
}

const testProfiles = [{ name: PROFILE, image: IMAGES.busybox, command: ['sh'], capabilities: ['SYS_PTRACE'] }, { name: 'Other', image: IMAGES.busybox }];

async function sidecarsOf(targetId: string): Promise<string[]> {
  const list = await testDocker().listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${targetId}`] } });
  return list.map((c) => c.Id);
}

export const sidecarsTests: HostTest[] = [
  {
    name: 'Attach Debugger Container on a tree item: exact HostConfig and labels, TARGET_ROOT banner, ps output in the terminal; closing removes it',
    async fn() {
      await activate();
      const docker = testDocker();
      const name = uniqueName('it-sc-target');
      const t = await runContainer(docker, { name, image: IMAGES.target, cmd: ['/app/target'] });
      try {
        const a = await withProfiles(testProfiles, async () =>
          (await vscode.commands.executeCommand<AttachedSidecar>('sidecar.debugger.attach', { container: { id: t.id, name, state: 'running' } }, PROFILE)));
        assert.ok(a, 'the command returns the attached sidecar');
        const i = await docker.getContainer(a.sidecarId).inspect();
        assert.equal(i.HostConfig.PidMode, `container:${t.id}`);
        assert.equal(i.HostConfig.NetworkMode, `container:${t.id}`);
        assert.deepEqual(i.HostConfig.CapAdd, ['SYS_PTRACE']);
        assert.equal(i.HostConfig.AutoRemove, true);
        assert.deepEqual(i.HostConfig.PortBindings ?? {}, {});
        assert.equal(i.Config.Image, IMAGES.busybox);
        assert.equal(i.Config.Tty, true);
        // The test image carries its own build label (io.container-sidecar.recipe); the rest are the sidecar's.
        const labels = Object.fromEntries(Object.entries(i.Config.Labels).filter(([k]) => k.startsWith('io.container-sidecar.') && k !== 'io.container-sidecar.recipe'));
        assert.deepEqual(Object.keys(labels).sort(), ['io.container-sidecar.managed', 'io.container-sidecar.owner', 'io.container-sidecar.role', 'io.container-sidecar.target']);
        assert.equal(labels['io.container-sidecar.managed'], 'true');
        assert.equal(labels['io.container-sidecar.target'], t.id);
        assert.equal(labels['io.container-sidecar.role'], 'debugger');
        assert.match(labels['io.container-sidecar.owner'], new RegExp(`:${process.pid}:`));
        assert.ok(i.Config.Env.includes('TARGET_ROOT=/proc/1/root'));
        assert.ok(vscode.window.terminals.includes(a.terminal), 'a terminal is open');
        assert.equal(a.terminal.name, `Sidecar: ${name}`);
        await eventually(() => a.pty.written.includes('$TARGET_ROOT = /proc/1/root'), 'the banner');
        a.terminal.sendText('ps');
        await eventually(() => /\/app\/target/.test(a.pty.written), `ps output in the terminal:\n${a.pty.written}`);
        a.terminal.sendText('ls $TARGET_ROOT/tmp');
        await eventually(() => /target-started/.test(a.pty.written), 'the target\'s files through $TARGET_ROOT');
        a.terminal.dispose();
        await eventually(async () => (await sidecarsOf(t.id)).length === 0, 'the sidecar to be removed after the terminal closed');
      } finally {
        await removeQuietly(docker, [t]);
      }
    },
  },
  {
    name: 'attach from a container: file (editor title), Detach from the sidecar item, and a terminal disposed as the attach returns',
    async fn() {
      await activate();
      const docker = testDocker();
      const t = await runContainer(docker, { name: uniqueName('it-sc-uri') });
      try {
        const a = await withProfiles(testProfiles, async () =>
          (await vscode.commands.executeCommand<AttachedSidecar>('sidecar.debugger.attach', vscode.Uri.parse(`container://${t.id}/etc/hostname`), PROFILE)));
        assert.ok(a);
        assert.equal(a.targetId, t.id);
        assert.deepEqual(await sidecarsOf(t.id), [a.sidecarId]);
        // The sidecar item in the tree carries `container` like every container item.
        await vscode.commands.executeCommand('sidecar.debugger.detach', { container: { id: a.sidecarId, name: 'x', state: 'running' }, contextValue: 'sidecar.running.managed' });
        await eventually(async () => (await sidecarsOf(t.id)).length === 0, 'Detach to remove the sidecar');
        await eventually(() => !vscode.window.terminals.includes(a.terminal), 'the terminal to close on Detach');
        // A terminal disposed in the very tick the attach returns, before VS Code opened it, still removes its sidecar.
        const b = await withProfiles(testProfiles, async () => {
          const r = await vscode.commands.executeCommand<AttachedSidecar>('sidecar.debugger.attach', t.id, PROFILE);
          r.terminal.dispose();
          return r;
        });
        assert.ok(b);
        await eventually(async () => (await sidecarsOf(t.id)).length === 0, 'the sidecar of a terminal disposed before it opened to be removed');
      } finally {
        await removeQuietly(docker, [t]);
      }
    },
  },
  {
    name: 'when the target stops, the terminal says so and the sidecar is gone',
    async fn() {
      await activate();
      const docker = testDocker();
      const name = uniqueName('it-sc-stop');
      const t = await runContainer(docker, { name });
      try {
        const a = await withProfiles(testProfiles, async () =>
          (await vscode.commands.executeCommand<AttachedSidecar>('sidecar.debugger.attach', t.id, PROFILE)));
        assert.ok(a);
        await t.kill();
        await eventually(() => a.pty.written.includes(`Container ${name} stopped`), `the terminal to say the target stopped:\n${a.pty.written}`);
        await eventually(async () => (await sidecarsOf(t.id)).length === 0, 'no sidecar left');
        a.terminal.dispose();
      } finally {
        await removeQuietly(docker, [t]);
      }
    },
  },
  {
    name: 'bad input leaves nothing behind: stopped target, malformed profiles, an image whose pull fails',
    async fn() {
      await activate();
      const docker = testDocker();
      const stopped = await runContainer(docker, { name: uniqueName('it-sc-bad'), cmd: ['true'] });
      const running = await runContainer(docker, { name: uniqueName('it-sc-bad2') });
      try {
        await stopped.wait();
        const before = vscode.window.terminals.length;
        await withProfiles(testProfiles, async () => {
          assert.equal(await vscode.commands.executeCommand('sidecar.debugger.attach', stopped.id, PROFILE), undefined);
          assert.equal(await vscode.commands.executeCommand('sidecar.debugger.attach', { container: { id: stopped.id, name: 'x', state: 'exited' } }, PROFILE), undefined);
        });
        await withProfiles([{ name: 'broken' }], async () => {
          assert.equal(await vscode.commands.executeCommand('sidecar.debugger.attach', running.id, 'broken'), undefined);
        });
        await withProfiles([{ name: 'unpullable', image: 'container-sidecar-test/never-built:0' }], async () => {
          assert.equal(await vscode.commands.executeCommand('sidecar.debugger.attach', running.id, 'unpullable'), undefined);
        });
        assert.equal(vscode.window.terminals.length, before, 'no terminal opened');
        assert.deepEqual(await sidecarsOf(running.id), []);
        assert.deepEqual(await sidecarsOf(stopped.id), []);
      } finally {
        await removeQuietly(docker, [stopped, running]);
      }
    },
  },
  {
    name: 'Forward a Container Port: a page from a server on the container\'s loopback, then Stop',
    async fn() {
      await activate();
      const docker = testDocker();
      const cfg = vscode.workspace.getConfiguration('sidecar');
      await cfg.update('ports.tunnelImage', IMAGES.busybox, vscode.ConfigurationTarget.Global);
      const t = await runContainer(docker, {
        name: uniqueName('it-sc-httpd'),
        cmd: ['sh', '-c', 'mkdir -p /www && echo it-works > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www'],
      });
      try {
        const f = await vscode.commands.executeCommand<ActiveForward>('sidecar.ports.forward', { container: { id: t.id, name: 'x', state: 'running' } }, 8080, 0);
        assert.ok(f, 'the command returns the forward');
        const body = await eventually(async () => {
          const r = await fetch(`http://127.0.0.1:${f.localPort}/`);
          return r.ok ? r.text() : undefined;
        }, 'the page through the forward');
        assert.equal(body, 'it-works\n');
        assert.equal((await sidecarsOf(t.id)).length, 1, 'one tunnel sidecar');
        await vscode.commands.executeCommand('sidecar.ports.stop', f.id);
        await eventually(async () => (await sidecarsOf(t.id)).length === 0, 'the tunnel to be removed');
      } finally {
        await cfg.update('ports.tunnelImage', undefined, vscode.ConfigurationTarget.Global);
        await removeQuietly(docker, [t]);
      }
    },
  },
];
