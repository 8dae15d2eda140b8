// Three engines at once in the real extension host: the shared local dockerd,
// Podman (its rootful service), and a remote-like dockerd in its own pid and
// mount namespaces reached over tcp with TLS (scripts/lib/remote.mjs). Each is a
// root of the Containers view with its own containers. On the remote root:
// files through the helper backend, namespaces through the probe, a debugger
// container and a port forward. Stopping the remote engine marks only its root
// down, and it comes back by itself. A fourth root, the same engine over ssh
// whose host key this machine's known_hosts does not have, is down with the
// key's fingerprint and how to trust it.
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as vscode from 'vscode';
import Docker from 'dockerode';
import type { SidecarApi } from '../../src/extension';
import type { AttachedSidecar } from '../../src/sidecars';
import type { ActiveForward } from '../../src/engine/portForward';
import { eventually, type HostTest } from '../helpers/hostRunner';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';
import { children, containerUnder, engineRoot, type Item } from './engineTree';

interface Remote { tcp: string; socket: string; certs: { dir: string }; stop(): Promise<void>; restart(): Promise<void>; dispose(): Promise<void> }
interface RemoteLib {
  startRemoteEngine(): Promise<Remote>;
  startSshd(o: { engineSocket: string }): Promise<{ port: number; fingerprint: string; hostName: string; dispose(): Promise<void> }>;
  copyImages(images: string[], socket: string): void;
  ensurePodman(): Promise<{ socket: string; stop(): Promise<void> }>;
  copyImagesToPodman(images: string[]): void;
}

const EXTENSION_ID = 'container-sidecar.container-sidecar';


export const threeEnginesTests: HostTest[] = [
  {
    name: 'local Docker, Podman and a remote TLS engine as three roots; on the remote root: helper files, probe namespaces, a debugger container, a port forward; the remote engine stops and comes back alone',
    async fn() {
      if (process.getuid?.() !== 0) return;
      const lib = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/remote.mjs')).href)) as RemoteLib;
      const remote = await lib.startRemoteEngine();
      const podman = await lib.ensurePodman();
      const sshd = await lib.startSshd({ engineSocket: remote.socket });
      const cfg = vscode.workspace.getConfiguration('sidecar');
      const local = testDocker();
      const pm = new Docker({ socketPath: podman.socket });
      const made: { docker: Docker; id: string }[] = [];
      try {
        lib.copyImages([IMAGES.busybox], remote.socket);
        lib.copyImagesToPodman([IMAGES.busybox]);
        const rd = new Docker({ socketPath: remote.socket });
        const here = await runContainer(local, { name: uniqueName('it-3e-local') });
        made.push({ docker: local, id: here.id });
        const inPodman = await runContainer(pm, { name: uniqueName('it-3e-podman') });
        made.push({ docker: pm, id: inPodman.id });
        const web = await runContainer(rd, {
          name: uniqueName('it-3e-remote'),
          cmd: ['sh', '-c', 'mkdir -p /www && echo remote-page > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www'],
        });
        await cfg.update('engines', ['auto', { host: `unix://${podman.socket}`, name: 'Rootful Podman' }, { host: remote.tcp, name: 'Remote', certPath: remote.certs.dir }, { host: `ssh://root@127.0.0.1:${sshd.port}`, name: 'SSH' }], vscode.ConfigurationTarget.Global);
        await cfg.update('debugger.profiles', [{ name: 'Test shell', image: IMAGES.busybox, command: ['sh'], capabilities: ['SYS_PTRACE'] }], vscode.ConfigurationTarget.Global);
        await cfg.update('ports.tunnelImage', IMAGES.busybox, vscode.ConfigurationTarget.Global);
        const a = await vscode.extensions.getExtension<SidecarApi>(EXTENSION_ID)!.activate();

        // Each root lists its own containers.
        const roots = (await eventually(async () => {
          const r = await Promise.all(['Docker', 'Rootful Podman', 'Remote'].map((n) => engineRoot(a, n)));
          return r.every((x) => x?.contextValue === 'engine.connected') ? r : undefined;
        }, 'three connected roots', 60_000))!;
        const [dockerRoot, podmanRoot, remoteRoot] = roots as Item[];
        assert.ok(await eventually(() => containerUnder(a, dockerRoot, here.id), 'the local container under Docker'));
        assert.ok(await eventually(() => containerUnder(a, podmanRoot, inPodman.id), 'the Podman container under Podman'));
        const item = (await eventually(() => containerUnder(a, remoteRoot, web.id), 'the remote container under Remote', 30_000))!;
        assert.ok(!(await containerUnder(a, remoteRoot, here.id)) && !(await containerUnder(a, dockerRoot, web.id)), 'no container under another engine\'s root');
        const engineId = item.container!.engineId;

        // Over ssh, a host key that known_hosts lacks (this host's ~/.ssh has none) is refused, never accepted.
        const sshRoot = (await eventually(async () => {
          const r = await engineRoot(a, 'SSH');
          return r?.contextValue === 'engine.down' ? r : undefined;
        }, 'the ssh root down', 30_000))!;
        const [why] = await children(a, sshRoot);
        const text = `${String(why.description)} ${String((why.tooltip as vscode.MarkdownString | undefined)?.value ?? why.tooltip ?? '')}`;
        assert.ok(text.includes(sshd.fingerprint), text);
        assert.ok(text.includes(sshd.hostName) && /not known/.test(text), text);
        assert.ok(engineId, 'the remote container names its engine');

        // Files: the helper backend (its PID is not on this machine).
        const page = await eventually(async () => Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.parse(`container://${web.id}@${engineId}/www/index.html`))).toString(), 'the remote file', 60_000);
        assert.equal(page, 'remote-page\n');

        // Namespaces: the probe's real inodes, not HostConfig.
        const remoteModel = a.containers.engines().find((x) => x.engine.id === engineId)!.model;
        await eventually(() => remoteModel.snapshot.source === 'probe' && remoteModel.snapshot.containers.get(web.id)?.net.inode, 'probe inodes for the remote container', 60_000);

        // A debugger container on the remote engine, in the target's namespaces.
        const attached = (await vscode.commands.executeCommand<AttachedSidecar>('sidecar.debugger.attach', item, 'Test shell'))!;
        assert.ok(attached, 'attached');
        const sc = await rd.getContainer(attached.sidecarId).inspect();
        assert.equal(sc.HostConfig.PidMode, `container:${web.id}`);
        assert.equal(sc.HostConfig.NetworkMode, `container:${web.id}`);
        await vscode.commands.executeCommand('sidecar.debugger.detach', { container: { id: attached.sidecarId, name: 'x', state: 'running', engineId }, engineId, contextValue: 'sidecar.running.managed' });

        // A port forward from the remote container's loopback to ours.
        const f = (await vscode.commands.executeCommand<ActiveForward>('sidecar.ports.forward', item, 8080, 0))!;
        assert.ok(f, 'forwarded');
        const body = await eventually(async () => {
          const r = await fetch(`http://127.0.0.1:${f.localPort}/index.html`);
          return r.ok ? r.text() : undefined;
        }, 'the remote page through the forward', 30_000);
        assert.equal(body, 'remote-page\n');
        await vscode.commands.executeCommand('sidecar.ports.stop', f.id);

        // The remote engine goes away: only its root is down; it comes back by itself.
        await remote.stop();
        await eventually(async () => (await engineRoot(a, 'Remote'))?.contextValue === 'engine.down', 'the remote root down', 60_000);
        assert.equal((await engineRoot(a, 'Docker'))?.contextValue, 'engine.connected');
        assert.equal((await engineRoot(a, 'Rootful Podman'))?.contextValue, 'engine.connected');
        assert.ok(await containerUnder(a, (await engineRoot(a, 'Rootful Podman'))!, inPodman.id));
        await remote.restart();
        await eventually(async () => {
          const r = await engineRoot(a, 'Remote');
          return r?.contextValue === 'engine.connected' && !!(await containerUnder(a, r, web.id));
        }, 'the remote root back by itself', 90_000);
      } finally {
        for (const k of ['engines', 'debugger.profiles', 'ports.tunnelImage']) await cfg.update(k, undefined, vscode.ConfigurationTarget.Global);
        for (const m of made) await removeQuietly(m.docker, [m.id]);
        await sshd.dispose();
        await remote.dispose();
        await podman.stop();
      }
    },
  },
];
