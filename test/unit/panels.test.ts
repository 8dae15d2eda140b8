// The webviews' pure parts on real containers: the map's graph from the
// explorer model (the tree's own data) checked against /proc, the details
// panel's masking and stats arithmetic, and the message validators.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { ExplorerModel } from '../../src/views/model';
import { buildMapGraph, graphForView, sharedNamespaces } from '../../src/panels/mapGraph';
import { envEntries, isSecretName, statsSample, toDetailsData } from '../../src/panels/detailsData';
import { parseDetailsMessage, parseMapMessage, type MapGraph, type NsType } from '../../webviews/protocol';
import { removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

const inode = (pid: number, t: NsType) => Number(/\[(\d+)\]/.exec(fs.readlinkSync(`/proc/${pid}/ns/${t}`))![1]);
/** The host's namespace: PID 1's, or kthreadd's where this sandbox's init refuses to be read. */
const hostInode = (t: NsType) => {
  try {
    return inode(1, t);
  } catch {
    return inode(2, t);
  }
};

describe('namespace map graph on real containers', () => {
  const docker = testDocker();
  const engine = new Engine(resolveEndpoint(undefined));
  const model = new ExplorerModel(() => engine, () => 'test', { debounceMs: 10 });
  const ids: Record<string, string> = {};
  const pids: Record<string, number> = {};
  let graph: MapGraph;

  before(async () => {
    const web = await runContainer(docker, { name: uniqueName('map-web') });
    ids.web = web.id;
    ids.dbg = (await runContainer(docker, { name: uniqueName('map-dbg'), hostConfig: { PidMode: `container:${web.id}`, NetworkMode: `container:${web.id}` }, labels: { 'io.container-sidecar.target': web.id, 'io.container-sidecar.role': 'debugger' } })).id;
    const ipcOwner = await runContainer(docker, { name: uniqueName('map-ipc'), hostConfig: { IpcMode: 'shareable' } });
    ids.ipc = ipcOwner.id;
    ids.ipcJoin = (await runContainer(docker, { name: uniqueName('map-ipc-join'), hostConfig: { IpcMode: `container:${ipcOwner.id}` } })).id;
    ids.hostpid = (await runContainer(docker, { name: uniqueName('map-hostpid'), hostConfig: { PidMode: 'host' } })).id;
    const stopped = await runContainer(docker, { name: uniqueName('map-stopped'), cmd: ['true'] });
    await stopped.wait();
    ids.stopped = stopped.id;
    for (const [k, id] of Object.entries(ids)) pids[k] = (await docker.getContainer(id).inspect()).State.Pid;
    await model.refresh();
    graph = buildMapGraph(model.containers, model.snapshot);
  });
  after(async () => {
    model.dispose();
    await removeQuietly(docker, Object.values(ids));
  });

  const nsOf = (id: string, t: NsType) => graph.namespaces.find((n) => n.type === t && n.members.includes(id));

  it('the pid+net pair shares exactly the inodes /proc shows, and nothing else it does not', () => {
    for (const t of ['pid', 'net'] as NsType[]) {
      const n = nsOf(ids.web, t)!;
      assert.equal(n.inode, inode(pids.web, t));
      assert.equal(inode(pids.dbg, t), n.inode);
      assert.deepEqual(n.members.sort(), [ids.web, ids.dbg].sort());
    }
    for (const t of ['ipc', 'uts', 'mnt'] as NsType[]) assert.deepEqual(nsOf(ids.web, t)!.members, [ids.web], `${t} is private`);
  });

  it('the --ipc=container: pair shares one ipc namespace', () => {
    const n = nsOf(ids.ipc, 'ipc')!;
    assert.equal(n.inode, inode(pids.ipcJoin, 'ipc'));
    assert.deepEqual(n.members.sort(), [ids.ipc, ids.ipcJoin].sort());
    assert.notEqual(nsOf(ids.ipc, 'pid')!.inode, nsOf(ids.ipcJoin, 'pid')!.inode);
  });

  it('the --pid=host container joins the host in the pid namespace of /proc/1', () => {
    const n = nsOf(ids.hostpid, 'pid')!;
    assert.equal(n.host, true);
    assert.ok(n.members.includes('host'));
    assert.equal(n.inode, inode(pids.hostpid, 'pid'));
    assert.equal(n.inode, hostInode('pid'));
    assert.equal(nsOf(ids.hostpid, 'net')!.host, false);
  });

  it('the sidecar is marked and tied to its target; the stopped container is a member in no namespace', () => {
    const dbg = graph.members.find((m) => m.id === ids.dbg)!;
    assert.equal(dbg.kind, 'sidecar');
    assert.equal(dbg.target, ids.web);
    const st = graph.members.find((m) => m.id === ids.stopped)!;
    assert.equal(st.state, 'exited');
    assert.equal(graph.namespaces.some((n) => n.members.includes(ids.stopped)), false);
    assert.ok(graph.members.some((m) => m.id === 'host' && m.kind === 'host'));
  });

  it('every shared namespace of our containers is one /proc agrees with', () => {
    const ours = new Set(Object.values(ids));
    for (const n of sharedNamespaces(graph).filter((x) => x.members.some((m) => ours.has(m)))) {
      for (const m of n.members) {
        if (m === 'host') assert.equal(hostInode(n.type), n.inode);
        else if (ours.has(m)) assert.equal(inode(pids[Object.keys(ids).find((k) => ids[k] === m)!], n.type), n.inode, `${n.type} of ${m}`);
      }
    }
  });

  it('the page is sent the namespaces it can show: shown types, private ones only when asked', () => {
    const dflt = graphForView(graph, { types: ['pid', 'net', 'ipc'], showPrivate: false, showStopped: true, table: false });
    assert.deepEqual(dflt.members, graph.members, 'every member goes, stopped ones too');
    assert.ok(dflt.namespaces.length > 0 && dflt.namespaces.every((n) => ['pid', 'net', 'ipc'].includes(n.type) && n.members.length > 1));
    assert.ok(dflt.namespaces.some((n) => n.type === 'pid' && n.members.includes(ids.web) && n.members.includes(ids.dbg)), 'the shared pid namespace is there');
    const all = graphForView(graph, { types: ['mnt'], showPrivate: true, showStopped: true, table: false });
    assert.deepEqual(all.namespaces, graph.namespaces.filter((n) => n.type === 'mnt'));
  });

  it('details: env secrets are held back, other values shown; namespaces named', async () => {
    const c = await runContainer(docker, { name: uniqueName('map-env'), cmd: ['sleep', '3600'] });
    try {
      await docker.getContainer(c.id).inspect();
      const env = envEntries(['API_KEY=abc', 'DB_PASSWORD=hunter2', 'PATH=/bin', 'github_token=x', 'EMPTY']);
      assert.deepEqual(env.page.map((e) => [e.name, e.value, e.secret]), [['API_KEY', undefined, true], ['DB_PASSWORD', undefined, true], ['PATH', '/bin', false], ['github_token', undefined, true], ['EMPTY', '', false]]);
      assert.equal(env.values.get('DB_PASSWORD'), 'hunter2');
      assert.equal(isSecretName('HOME'), false);
      const d = toDetailsData(await docker.getContainer(ids.web).inspect() as never, model.snapshot, (id) => id);
      assert.equal(d.running, true);
      assert.match(d.namespaces.find((n) => n.type === 'pid')!.shared, new RegExp(ids.dbg));
    } finally {
      await removeQuietly(docker, [c]);
    }
  });
});

describe('details health from a real HEALTHCHECK', () => {
  it('a failing probe shows as unhealthy with its streak and last output', async () => {
    const docker = testDocker();
    const c = await runContainer(docker, { name: uniqueName('details-health') });
    // runContainer has no health check option; a second container carries one.
    const h = await docker.createContainer({ name: uniqueName('details-unhealthy'), Image: (await c.inspect()).Config.Image, Cmd: ['sleep', '3600'], Labels: { 'io.container-sidecar.test': 'true' },
      Healthcheck: { Test: ['CMD-SHELL', 'echo probe-said-no; exit 1'], Interval: 500_000_000, Retries: 1 }, HostConfig: { NetworkMode: 'none' } });
    try {
      await h.start();
      const until = Date.now() + 30_000;
      let info = await h.inspect();
      while ((info.State as { Health?: { Status: string } }).Health?.Status !== 'unhealthy' && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        info = await h.inspect();
      }
      const d = toDetailsData(info as never, { source: 'proc', host: {}, containers: new Map() }, (id) => id);
      assert.equal(d.health?.status, 'unhealthy');
      assert.ok(d.health!.failingStreak >= 1);
      assert.equal(d.health!.lastOutput, 'probe-said-no');
      assert.equal(toDetailsData(await c.inspect() as never, { source: 'proc', host: {}, containers: new Map() }, (id) => id).health, undefined, 'no check, no health');
    } finally {
      await removeQuietly(docker, [c, h]);
    }
  });
});

describe('details stats arithmetic', () => {
  it('CPU % is the container delta over the system delta times the online CPUs, as docker stats computes it', () => {
    const s = statsSample({
      cpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 20_000_000_000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 1_000_000_000 }, system_cpu_usage: 18_000_000_000 },
      memory_stats: { usage: 10_000_000, limit: 100_000_000, stats: { inactive_file: 2_000_000 } },
      networks: { eth0: { rx_bytes: 5, tx_bytes: 7 }, eth1: { rx_bytes: 1, tx_bytes: 1 } },
      blkio_stats: { io_service_bytes_recursive: [{ op: 'read', value: 10 }, { op: 'Write', value: 20 }] },
    }, 1);
    assert.equal(s.cpuPercent, 100);
    assert.equal(s.memBytes, 8_000_000);
    assert.deepEqual([s.netRx, s.netTx, s.blkRead, s.blkWrite], [6, 8, 10, 20]);
    // The first sample of a stream has no previous reading: 0, not a spike.
    assert.equal(statsSample({ cpu_stats: { cpu_usage: { total_usage: 5 }, system_cpu_usage: 9 }, precpu_stats: {} }).cpuPercent, 0);
  });
});

describe('webview message validation', () => {
  const id = 'a'.repeat(64);
  it('accepts the messages the pages send', () => {
    assert.deepEqual(parseMapMessage({ type: 'action', action: 'reveal', id }), { type: 'action', action: 'reveal', id });
    assert.deepEqual(parseDetailsMessage({ type: 'action', action: 'stop' }), { type: 'action', action: 'stop' });
    assert.deepEqual(parseDetailsMessage({ type: 'follow', on: false }), { type: 'follow', on: false });
  });
  it('ignores garbage: unknown types, commands, ids and shapes', () => {
    for (const m of [null, 1, 'ready', [], { type: 'action', action: 'remove', id }, { type: 'action', action: 'reveal', id: 'web; rm -rf /' },
      { type: 'action', action: 'attach', id: 'host' }, { type: 'export', format: 'exe', data: '' }, { type: 'state', state: { types: ['pid', 'bogus'], showPrivate: true, showStopped: true, table: false } }]) {
      assert.equal(parseMapMessage(m), undefined, JSON.stringify(m));
    }
    for (const m of [{ type: 'action', action: 'workbench.action.terminal.new' }, { type: 'follow', on: 'yes' }, { type: 'revealEnv' }, { type: '__proto__' }]) {
      assert.equal(parseDetailsMessage(m), undefined, JSON.stringify(m));
    }
  });
});
