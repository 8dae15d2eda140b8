// Our engine layer against real Podman (Debian's 4.3, rootful) through its
// Docker-compatible socket: list, inspect, events, compose labels, a sidecar
// with pid and net shared, exec, and the files helper. The service is reused
// or started by scripts/lib/remote.mjs (ensurePodman) and stopped if started here.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseEndpoint } from '../../src/engine/connection';
import { Engine } from '../../src/engine/engine';
import { type ContainerEvent, EngineEvents, parseEvent } from '../../src/engine/events';
import { launchSidecar, removeSidecar } from '../../src/engine/sidecars';
import { HelperPool } from '../../src/procfs/helperfs';
import { sharingFromHostConfig } from '../../src/procfs/namespaces';
import { eventually } from '../helpers/hostRunner';
import { execIn, IMAGES, removeQuietly, runContainer, uniqueName } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';

interface PodmanLib {
  ensurePodman(): Promise<{ socket: string; stop(): Promise<void> }>;
  copyImagesToPodman(images: string[]): void;
}

describe('Podman through its Docker-compatible API', () => {
  let podman: { socket: string; stop(): Promise<void> };
  let engine: Engine;
  let events: EngineEvents | undefined;
  const seen: ContainerEvent[] = [];
  const made: string[] = [];

  before(async () => {
    const lib = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/remote.mjs')).href)) as PodmanLib;
    podman = await lib.ensurePodman();
    lib.copyImagesToPodman([IMAGES.busybox]);
    engine = new Engine(parseEndpoint(`unix://${podman.socket}`, 'test'));
    events = new EngineEvents(engine, { minDelayMs: 100 }).start();
    events.on('event', (e: ContainerEvent) => seen.push(e));
    await eventually(() => events!.state.connected, 'the event stream to connect');
  });

  after(async () => {
    events?.dispose();
    if (engine) await removeQuietly(engine.docker, made);
    await podman?.stop();
  });

  it('lists and inspects a container; podman-compose labels group it; its PID is on this kernel', async () => {
    const name = uniqueName('cs-podman');
    // podman-compose before 1.0 wrote only io.podman.compose.project; 1.0 writes both (checked: 1.0.3).
    const c = await runContainer(engine.docker, { name, labels: { 'io.podman.compose.project': 'shop', 'io.podman.compose.service': 'web' } });
    made.push(c.id);
    const list = await engine.listContainers();
    const m = list.find((x) => x.id === c.id);
    assert.ok(m, 'listed');
    assert.equal(m.name, name);
    assert.equal(m.state, 'running');
    assert.equal(m.composeProject, 'shop');
    const d = await engine.inspect(name);
    assert.equal(d.id, c.id);
    assert.equal(d.composeProject, 'shop');
    assert.ok(d.pid && d.pid > 1);
    // Podman says "private" and "shareable" where Docker leaves modes empty: both mean a namespace of its own.
    assert.equal(d.hostConfig.pidMode, 'private');
    const sharing = sharingFromHostConfig([d], { cgroupVersion: '1', usernsRemap: false }).get(d.id)!;
    assert.equal(sharing.pid.host, false);
    assert.equal(sharing.net.host, false);
  });

  it('delivers create, start, die and destroy (Podman says "remove") as our events', async () => {
    const c = await runContainer(engine.docker, { name: uniqueName('cs-podman-ev'), cmd: ['true'] });
    made.push(c.id);
    await eventually(() => seen.some((e) => e.id === c.id && e.action === 'die'), 'die');
    await c.remove({ force: true });
    await eventually(() => seen.some((e) => e.id === c.id && e.action === 'destroy'), 'destroy');
    const actions = seen.filter((e) => e.id === c.id).map((e) => e.action);
    for (const a of ['create', 'start', 'die', 'destroy']) assert.ok(actions.includes(a), `${a} in ${actions.join(',')}`);
    assert.ok(!actions.includes('remove'));
    // Podman-only actions (init, cleanup) are not container changes the views need.
    assert.equal(parseEvent({ Type: 'container', Action: 'cleanup', Actor: { ID: 'x' } }), undefined);
  });

  it('runs a sidecar in the target\'s pid and net namespaces, and exec works', async () => {
    const target = await runContainer(engine.docker, { name: uniqueName('cs-podman-target'), cmd: ['sh', '-c', 'echo podman-target > /tmp/mark; exec sleep 3600'] });
    made.push(target.id);
    const s = await launchSidecar(engine, { target: target.id, role: 'debugger', image: IMAGES.busybox, cmd: ['sleep', '3600'] });
    try {
      const ps = await execIn(engine.docker, s.id, ['ps', '-o', 'pid,args']);
      assert.match(ps.stdout, /sleep 3600/);
      assert.match(ps.stdout, /echo podman-target|exec sleep 3600|^\s*1\s/m);
      const mark = await execIn(engine.docker, s.id, ['cat', '/proc/1/root/tmp/mark']);
      assert.equal(mark.stdout.trim(), 'podman-target');
      const inspected = await engine.docker.getContainer(s.id).inspect();
      assert.equal(inspected.HostConfig.PidMode, `container:${target.id}`);
      assert.equal(inspected.HostConfig.NetworkMode, `container:${target.id}`);
    } finally {
      await removeSidecar(engine, s.id);
    }
  });

  it('lists files through the helper backend (its image imported into Podman)', async () => {
    const target = await runContainer(engine.docker, { name: uniqueName('cs-podman-files'), cmd: ['sh', '-c', 'mkdir -p /srv/a && echo hi > /srv/a/f && exec sleep 3600'] });
    made.push(target.id);
    await eventually(async () => (await execIn(engine.docker, target.id, ['cat', '/srv/a/f'])).stdout.trim() === 'hi', 'the file');
    const pool = new HelperPool(() => engine, {});
    try {
      const fs = pool.fsFor(target.id, 'files');
      const entries = await fs.readdir('/srv/a');
      assert.deepEqual(entries.map((e) => e[0]), ['f']);
      assert.equal(Buffer.from(await fs.readFile('/srv/a/f')).toString(), 'hi\n');
    } finally {
      await pool.dispose();
    }
  });
});
