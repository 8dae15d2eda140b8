// What a remote engine can do, against a real one: a dockerd in its own pid
// and mount namespaces reached over tcp with TLS (scripts/lib/remote.mjs), so
// the PIDs it reports mean nothing in our /proc. Namespaces come from the probe
// container (checked against the ground truth, which root can still find here
// by scanning /proc/*/cgroup, as a real remote host would not allow), files
// through the helper backend, a debugger sidecar, a port forward, and a gdb
// breakpoint through the standalone debug adapter (DOCKER_HOST with the CLI's
// TLS variables).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { SidecarAttachArguments } from '../../src/debug/config';
import { parseEndpoint, resolveEndpoint } from '../../src/engine/connection';
import { Engine } from '../../src/engine/engine';
import { PortForwardService } from '../../src/engine/portForward';
import { launchSidecar, LABELS, removeSidecar } from '../../src/engine/sidecars';
import { ContainerAccess } from '../../src/procfs/containerFiles';
import { namespaceSnapshot, NS_TYPES, type NsInodes, readNamespaces } from '../../src/procfs/namespaces';
import { probeCreateOptions, probeNamespaces, ProbeError } from '../../src/procfs/nsProbe';
import { ExplorerModel } from '../../src/views/model';
import { buildEnginesGraph } from '../../src/panels/mapGraph';
import { eventually } from '../helpers/hostRunner';
import { TracedClient } from '../helpers/dap';
import { execIn, IMAGES, readFileFromArchive, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';

interface Remote { tcp: string; socket: string; certs: { dir: string; ca: string; cert: string; key: string }; dispose(): Promise<void> }
interface RemoteLib { startRemoteEngine(): Promise<Remote>; copyImages(images: string[], socket: string): void }

/** The real host PID of a container's first process, found by its cgroup (what the remote engine's PID is not). */
function realPid(containerId: string): number | undefined {
  let best: number | undefined;
  for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (fs.readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(containerId) && (best === undefined || Number(p) < best)) best = Number(p);
    } catch {
      // gone
    }
  }
  return best;
}

describe('a remote engine (TLS, own pid namespace)', () => {
  let remote: Remote;
  let engine: Engine;
  let a = '';
  let b = '';
  let web = '';

  before(async () => {
    const lib = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/remote.mjs')).href)) as RemoteLib;
    remote = await lib.startRemoteEngine();
    // The gdb image is large: copied once, for the one breakpoint test below.
    lib.copyImages([IMAGES.busybox, IMAGES.target, IMAGES.gdb], remote.socket);
    engine = new Engine(parseEndpoint(remote.tcp, 'test', { tls: remote.certs }));
    a = (await runContainer(engine.docker, { name: uniqueName('rem-a') })).id;
    // b joins a's network namespace: the probe's inodes must show the sharing.
    b = (await runContainer(engine.docker, { name: uniqueName('rem-b'), hostConfig: { NetworkMode: `container:${a}` } })).id;
    web = (await runContainer(engine.docker, {
      name: uniqueName('rem-web'),
      cmd: ['sh', '-c', 'mkdir -p /www/list && for i in 1 2 3; do echo "file $i" > /www/list/f$i; done; echo remote-page > /www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /www'],
    })).id;
  });

  after(async () => {
    engine?.dispose();
    // Its containers go with it.
    await remote?.dispose();
  });

  it('the probe reads the real inodes of remote containers (checked against the ground truth)', async () => {
    const targets = await Promise.all([a, b].map(async (id) => ({ id, pid: (await engine.inspect(id)).pid! })));
    const r = await probeNamespaces(engine, targets);
    for (const t of targets) {
      const truthPid = realPid(t.id);
      assert.ok(truthPid, `found ${t.id} in /proc by cgroup`);
      assert.notEqual(truthPid, t.pid, 'the engine reports a PID of its own namespace');
      const truth = await readNamespaces(truthPid!);
      const got = r.inodes.get(t.id);
      assert.ok(got, `inodes for ${t.id}`);
      for (const type of NS_TYPES) assert.equal(got[type], truth[type], `${type} of ${t.id}`);
    }
    assert.equal(r.inodes.get(a)!.net, r.inodes.get(b)!.net);
    assert.notEqual(r.inodes.get(a)!.mnt, r.inodes.get(b)!.mnt);
    // The engine host's namespaces: its PID 1 is that dockerd; it shares our network namespace, not our pid namespace.
    const ours = await readNamespaces(process.pid);
    assert.equal(r.host.net, ours.net);
    assert.notEqual(r.host.pid, ours.pid);
    // The probe removed itself.
    const left = await engine.docker.listContainers({ all: true, filters: { label: [`${LABELS.role}=probe`] } });
    assert.deepEqual(left, []);
  });

  it('the probe has only the rights it needs', () => {
    const o = probeCreateOptions('img', [{ id: 'x'.repeat(64), pid: 5 }], 'me');
    assert.deepEqual(o.HostConfig, { PidMode: 'host', NetworkMode: 'none', ReadonlyRootfs: true, CapDrop: ['ALL'], CapAdd: ['SYS_PTRACE'], SecurityOpt: ['no-new-privileges'] });
    assert.deepEqual(o.Cmd, ['ns', `${'x'.repeat(64)}:5`]);
    assert.equal(o.Labels![LABELS.role], 'probe');
  });

  it('the namespace snapshot uses the probe for a remote engine, and HostConfig only when the probe cannot run', async () => {
    const details = await Promise.all([a, b, web].map((id) => engine.inspect(id)));
    const cache = new Map<string, NsInodes>();
    let calls = 0;
    const probe = (t: { id: string; pid: number }[]) => (calls++, probeNamespaces(engine, t));
    const s = await namespaceSnapshot(details, { cgroupVersion: '1', usernsRemap: false }, '/proc', cache, probe);
    assert.equal(s.source, 'probe');
    assert.ok(s.containers.get(a)!.net.inode);
    assert.deepEqual(s.containers.get(a)!.net.with, [b]);
    assert.equal(s.containers.get(a)!.pid.host, false);
    // Known containers are not probed again.
    await namespaceSnapshot(details, { cgroupVersion: '1', usernsRemap: false }, '/proc', cache, probe);
    assert.equal(calls, 1);
    // A probe that cannot run (here: an engine that is not there) falls back to HostConfig and says why.
    const dead = new Engine(parseEndpoint('unix:///nonexistent/docker.sock', 'test'));
    const f = await namespaceSnapshot(details, { cgroupVersion: '1', usernsRemap: false }, '/proc', undefined, (t) => probeNamespaces(dead, t));
    assert.equal(f.source, 'hostconfig');
    assert.match(f.reason ?? '', /engine is remote or runs in a VM\), and the namespace probe's image could not be imported/);
    assert.deepEqual(f.containers.get(a)!.net.with, [b]);
    await assert.rejects(probeNamespaces(dead, []), ProbeError);
  });

  it('the explorer model shows probe inodes and never lists the probe container', async () => {
    const model = new ExplorerModel(() => engine, () => remote.tcp);
    try {
      await model.refresh();
      assert.ok(model.status.ok);
      assert.equal(model.snapshot.source, 'probe');
      assert.ok(model.containers.has(a) && model.containers.has(web));
      assert.ok(![...model.containers.values()].some((e) => e.model.labels[LABELS.role] === 'probe'));
      // A container that starts later gets its inodes from a probe too.
      const c = (await runContainer(engine.docker, { name: uniqueName('rem-late') })).id;
      await eventually(() => model.snapshot.containers.get(c)?.mnt.inode, 'the late container\'s inodes', 30_000);
      assert.ok(![...model.containers.values()].some((e) => e.model.labels[LABELS.role] === 'probe'));
    } finally {
      model.dispose();
    }
  });

  it('the namespace map draws this machine and the remote engine side by side, each with its own host', async () => {
    const docker = testDocker();
    const localEngine = new Engine(resolveEndpoint(undefined));
    const local = new ExplorerModel(() => localEngine, () => 'local');
    const far = new ExplorerModel(() => engine, () => remote.tcp);
    const nearHostPid = (await runContainer(docker, { name: uniqueName('map-near-hostpid'), hostConfig: { PidMode: 'host' } })).id;
    const farHostPid = (await runContainer(engine.docker, { name: uniqueName('map-far-hostpid'), hostConfig: { PidMode: 'host' } })).id;
    try {
      await Promise.all([local.refresh(), far.refresh()]);
      assert.equal(local.snapshot.source, 'proc');
      assert.equal(far.snapshot.source, 'probe');
      const g = buildEnginesGraph([
        { engineId: 'default', name: 'local', containers: local.containers, snapshot: local.snapshot },
        { engineId: 'far', name: 'far', containers: far.containers, snapshot: far.snapshot },
      ]);
      assert.deepEqual(g.members.filter((m) => m.kind === 'host').map((m) => m.id).sort(), ['host', 'host@far']);
      assert.equal(g.members.find((m) => m.id === farHostPid)?.name, `${far.containers.get(farHostPid)!.model.name} (far)`);
      const ns = (type: string, id: string) => g.namespaces.find((n) => n.type === type && n.members.includes(id))!;
      // Each --pid=host container joins its own engine's host, with the inode /proc shows for it.
      const near = ns('pid', nearHostPid);
      assert.ok(near.members.includes('host') && !near.members.includes('host@far'));
      assert.equal(near.inode, (await readNamespaces((await docker.getContainer(nearHostPid).inspect()).State.Pid)).pid);
      const farPid = ns('pid', farHostPid);
      assert.ok(farPid.members.includes('host@far') && !farPid.members.includes('host'));
      assert.equal(farPid.inode, (await readNamespaces(realPid(farHostPid)!)).pid);
      assert.match(farPid.id, /@far$/);
      // The remote dockerd shares this machine's network namespace: one inode, yet two nodes, one per kernel as the map sees it.
      const hostNets = g.namespaces.filter((n) => n.type === 'net' && n.host && (n.members.includes('host') || n.members.includes('host@far')));
      assert.equal(hostNets.length, 2);
      assert.equal(hostNets[0].inode, hostNets[1].inode);
      // No namespace joins members of both engines; the remote pair still shares its network.
      const side = (id: string) => (id === 'host' || local.containers.has(id) ? 'local' : 'far');
      for (const n of g.namespaces) assert.equal(new Set(n.members.map(side)).size, 1, `${n.id} mixes engines: ${n.members.join(', ')}`);
      assert.deepEqual([...ns('net', a).members].sort(), [a, b].sort());
    } finally {
      local.dispose();
      far.dispose();
      localEngine.dispose();
      await removeQuietly(docker, [nearHostPid]);
      await engine.docker.getContainer(farHostPid).remove({ force: true }).catch(() => undefined);
    }
  });

  it('files go through the helper backend', async () => {
    const access = new ContainerAccess(() => engine, { backend: () => 'auto' });
    try {
      const f = await access.get(web);
      assert.equal(f.backend, 'helper');
      await eventually(async () => (await f.fs.readdir('/www/list')).length === 3, 'the files');
      assert.deepEqual((await f.fs.readdir('/www/list')).map((e) => e[0]).sort(), ['f1', 'f2', 'f3']);
      assert.equal(Buffer.from(await f.fs.readFile('/www/list/f2')).toString(), 'file 2\n');
    } finally {
      await access.dispose();
    }
  });

  it('a debugger sidecar joins a remote container, and a port forward reaches its loopback', async () => {
    const s = await launchSidecar(engine, { target: web, role: 'debugger', image: IMAGES.busybox, cmd: ['sleep', '3600'], capAdd: ['SYS_PTRACE'] });
    try {
      const ps = await execIn(engine.docker, s.id, ['ps', '-o', 'pid,args']);
      assert.match(ps.stdout, /httpd -f -p 127\.0\.0\.1:8080/);
    } finally {
      await removeSidecar(engine, s.id);
    }
    const forwards = new PortForwardService(engine, { image: IMAGES.busybox });
    try {
      const f = await forwards.forward({ target: web, remotePort: 8080, localPort: 0 });
      const body = await eventually(async () => {
        const r = await fetch(`http://127.0.0.1:${f.localPort}/index.html`);
        return r.ok ? r.text() : undefined;
      }, 'the page through the forward');
      assert.equal(body, 'remote-page\n');
    } finally {
      await forwards.dispose();
    }
  });

  it('a gdb breakpoint is hit in a remote container through the debug adapter; after detach the target runs on', async () => {
    const target = (await runContainer(engine.docker, { name: uniqueName('rem-target'), image: IMAGES.target, cmd: [] })).id;
    const gdbSidecars = async () => (await engine.docker.listContainers({ all: true, filters: { label: [`${LABELS.role}=gdb`, `${LABELS.target}=${target}`] } })).map((c) => c.Id);
    const counter = async () => Number((await readFileFromArchive(engine.docker, target, '/tmp/counter')).trim());
    // The standalone adapter (dist/debugAdapter.js), given the engine as the docker CLI would be.
    const dc = new TracedClient({ DOCKER_HOST: remote.tcp, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: remote.certs.dir });
    const src = path.join(projectRoot, 'test/fixtures/target.c');
    try {
      await dc.traced(async () => {
        await dc.start();
        await dc.initializeRequest({ adapterID: 'sidecar', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
        const initialized = dc.waitForEvent('initialized');
        // processId is the PID inside the container (the engine's PIDs are not ours either way).
        const args: SidecarAttachArguments = { container: target, processId: 1, image: IMAGES.gdb, sourceFileMap: { '/src': path.dirname(src) } };
        await dc.attachRequest(args as DebugProtocol.AttachRequestArguments);
        await initialized;
        const bps = await dc.setBreakpointsRequest({ source: { path: src }, breakpoints: [{ line: 30, condition: 's->counter % 5 == 4' }] });
        assert.equal(bps.body.breakpoints[0].verified, true);
        const hit = dc.waitFor<DebugProtocol.StoppedEvent>('stopped', (e) => e.body.reason === 'breakpoint', 60_000);
        await dc.configurationDoneRequest();
        const threadId = (await hit).body.threadId!;
        const top = (await dc.stackTraceRequest({ threadId })).body.stackFrames[0];
        assert.deepEqual([top.name, top.line, top.source?.path], ['tick', 30, src]);
        const scopes = (await dc.scopesRequest({ frameId: top.id })).body.scopes;
        const locals = (await dc.variablesRequest({ variablesReference: scopes[0].variablesReference })).body.variables;
        assert.deepEqual(locals.find((v) => v.name === 'depth')?.value, '5');
        assert.equal(await gdbSidecars().then((l) => l.length), 1);
        await dc.disconnectRequest({ terminateDebuggee: false });
      });
      const before = await counter();
      await eventually(async () => (await counter()) > before, 'the target to count on after detach');
      await eventually(async () => (await gdbSidecars()).length === 0, 'the gdb sidecar to be removed');
      assert.equal((await engine.docker.getContainer(target).inspect()).State.Running, true);
    } finally {
      await dc.stop().catch(() => undefined);
    }
  });
});
