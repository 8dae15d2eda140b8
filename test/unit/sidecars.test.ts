// The sidecar-launch service against the real engine: the seed demonstration
// (a busybox sidecar sees a shell-less target's processes, ports and files),
// the exact create options, and the clear messages for bad input.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import type { ContainerDetail } from '../../src/engine/containers';
import { ensureImage, ImagePullError } from '../../src/engine/images';
import {
  cleanupOrphans, isOwnerAlive, launchSidecar, LABELS, listSidecars, processOwner, removeSidecar, SidecarSpecError, sidecarCreateOptions,
  sidecarWarnings, TargetNotRunningError, validateSpec,
} from '../../src/engine/sidecars';
import { eventually } from '../helpers/hostRunner';
import { execIn, IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

const engine = new Engine(resolveEndpoint(undefined));
const docker = testDocker();

function detail(over: Partial<ContainerDetail['hostConfig']> = {}): ContainerDetail {
  return {
    id: 'a'.repeat(64), shortId: 'a'.repeat(12), name: 'web', image: 'x', state: 'running', status: 'running', created: new Date(0), labels: {}, ports: [], command: '',
    pid: 42,
    hostConfig: { pidMode: '', networkMode: 'none', ipcMode: 'private', utsMode: '', cgroupnsMode: '', userNsMode: '', ...over },
  };
}

describe('sidecars: create options (pure)', () => {
  it('joins pid and net, adds capabilities, labels and TARGET_ROOT', () => {
    const t = detail();
    const o = sidecarCreateOptions({ target: 'web', role: 'debugger', image: 'busybox:1', cmd: ['sh'], capAdd: ['SYS_PTRACE'], tty: true, openStdin: true, user: '0', env: { A: 'b' }, name: 'n', extraLabels: { x: 'y' } }, t, 'me');
    assert.deepEqual(o.HostConfig, { PidMode: `container:${t.id}`, NetworkMode: `container:${t.id}`, CapAdd: ['SYS_PTRACE'], AutoRemove: true });
    assert.deepEqual(o.Labels, { x: 'y', [LABELS.managed]: 'true', [LABELS.target]: t.id, [LABELS.role]: 'debugger', [LABELS.owner]: 'me' });
    assert.deepEqual(o.Env, ['A=b', 'TARGET_ROOT=/proc/1/root', 'TARGET_CONTAINER=web']);
    assert.equal(o.Image, 'busybox:1');
    assert.deepEqual(o.Cmd, ['sh']);
    assert.equal(o.User, '0');
    assert.equal(o.Tty, true);
    assert.equal(o.OpenStdin, true);
    assert.equal(o.StdinOnce, true);
    assert.equal(o.name, 'n');
  });

  it('shares IPC only with a shareable target, and never gets a network of its own', () => {
    const t = detail({ ipcMode: 'shareable' });
    assert.equal(sidecarCreateOptions({ target: 'web', role: 'files', image: 'i' }, t, 'me').HostConfig!.IpcMode, `container:${t.id}`);
    assert.equal(sidecarCreateOptions({ target: 'web', role: 'files', image: 'i', share: { ipc: false } }, t, 'me').HostConfig!.IpcMode, undefined);
    const o = sidecarCreateOptions({ target: 'web', role: 'tunnel', image: 'i', share: { pid: false, net: true } }, detail(), 'me');
    assert.deepEqual(o.HostConfig, { NetworkMode: `container:${'a'.repeat(64)}`, AutoRemove: true, Init: true });
    assert.equal(sidecarCreateOptions({ target: 'web', role: 'tunnel', image: 'i', share: { net: false } }, detail(), 'me').HostConfig!.NetworkMode, 'none');
  });

  it('labels cannot be overridden by extraLabels', () => {
    const o = sidecarCreateOptions({ target: 'web', role: 'gdb', image: 'i', extraLabels: { [LABELS.role]: 'files', [LABELS.managed]: 'false' } }, detail(), 'me');
    assert.equal(o.Labels![LABELS.role], 'gdb');
    assert.equal(o.Labels![LABELS.managed], 'true');
  });

  it('warns about a target that uses the host PID namespace', () => {
    assert.deepEqual(sidecarWarnings(detail()), []);
    assert.match(sidecarWarnings(detail({ pidMode: 'host' }))[0], /--pid=host.*every process of the host/);
  });

  it('rejects malformed specs with messages that name the field', () => {
    const ok = { target: 'web', role: 'debugger' as const, image: 'busybox' };
    assert.throws(() => validateSpec({ ...ok, image: '' }), /"image" must be an image reference/);
    assert.throws(() => validateSpec({ ...ok, image: 'a b' }), SidecarSpecError);
    assert.throws(() => validateSpec({ ...ok, role: 'shell' as never }), /role "shell" is unknown/);
    assert.throws(() => validateSpec({ ...ok, cmd: 'ps aux' as never }), /"cmd" must be a list of strings/);
    assert.throws(() => validateSpec({ ...ok, env: { A: 1 } as never }), /"env" must be an object of string values/);
    assert.throws(() => validateSpec({ ...ok, target: '' }), /needs a target/);
    validateSpec({ ...ok, cmd: ['sh'], env: { A: 'b' }, capAdd: ['SYS_PTRACE'] });
  });
});

describe('sidecars: the seed demonstration on the real engine', () => {
  const name = uniqueName('sc-target');
  let targetId = '';
  let sidecarId = '';

  before(async () => {
    const t = await runContainer(docker, { name, image: IMAGES.target, cmd: ['/app/target'] });
    targetId = t.id;
    // The target writes this file once it runs; wait for it through the engine, not a sleep.
    await eventually(async () => (await docker.getContainer(targetId).inspect()).State.Running, 'the target to run');
    const s = await launchSidecar(engine, { target: name, role: 'debugger', image: IMAGES.busybox, cmd: ['sleep', '3600'], capAdd: ['SYS_PTRACE'] });
    sidecarId = s.id;
    assert.equal(s.target.id, targetId);
  });
  after(async () => {
    await removeQuietly(docker, [sidecarId, targetId].filter(Boolean));
  });

  it('the sidecar has the expected labels and HostConfig on the engine', async () => {
    const i = await docker.getContainer(sidecarId).inspect();
    assert.equal(i.HostConfig.PidMode, `container:${targetId}`);
    assert.equal(i.HostConfig.NetworkMode, `container:${targetId}`);
    assert.deepEqual(i.HostConfig.CapAdd, ['SYS_PTRACE']);
    // No init in a shared pid namespace: Docker would not run it anyway, Podman refuses it.
    assert.ok(!i.HostConfig.Init);
    assert.equal(i.Config.Labels[LABELS.managed], 'true');
    assert.equal(i.Config.Labels[LABELS.target], targetId);
    assert.equal(i.Config.Labels[LABELS.role], 'debugger');
    assert.equal(i.Config.Labels[LABELS.owner], processOwner);
    assert.ok(i.Config.Env.includes('TARGET_ROOT=/proc/1/root'));
  });

  it('from inside the sidecar, ps lists the target\'s processes', async () => {
    const r = await execIn(docker, sidecarId, ['ps']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^\s*1 .*\/app\/target/m, r.stdout);
  });

  it('netstat -ltn shows the port the target listens on', async () => {
    const r = await eventually(async () => {
      const x = await execIn(docker, sidecarId, ['netstat', '-ltn']);
      return /127\.0\.0\.1:7070/.test(x.stdout) ? x : undefined;
    }, 'the target to listen');
    assert.match(r!.stdout, /127\.0\.0\.1:7070\s.*LISTEN/);
  });

  it('/proc/1/root shows a file the target created', async () => {
    const r = await eventually(async () => {
      const x = await execIn(docker, sidecarId, ['ls', '/proc/1/root/tmp']);
      return /target-started/.test(x.stdout) ? x : undefined;
    }, 'the target to write its file');
    assert.match(r!.stdout, /target-started/);
    const bin = await execIn(docker, sidecarId, ['ls', '/proc/1/root/app']);
    assert.match(bin.stdout, /target/);
  });

  it('lists the sidecar by owner and target, and removes it (twice is fine)', async () => {
    const mine = await listSidecars(engine, { owner: processOwner, target: targetId });
    assert.deepEqual(mine.map((s) => s.id), [sidecarId]);
    await removeSidecar(engine, sidecarId);
    await removeSidecar(engine, sidecarId);
    assert.deepEqual(await listSidecars(engine, { target: targetId }), []);
  });
});

describe('sidecars: bad input gets a clear message', () => {
  it('a missing target', async () => {
    await assert.rejects(launchSidecar(engine, { target: 'cs-no-such-target', role: 'debugger', image: IMAGES.busybox }),
      (e: Error) => e instanceof TargetNotRunningError && /cs-no-such-target does not exist/.test(e.message));
  });

  it('a stopped target', async () => {
    const c = await runContainer(docker, { name: uniqueName('sc-stopped'), cmd: ['true'] });
    try {
      await c.wait();
      await assert.rejects(launchSidecar(engine, { target: c.id, role: 'debugger', image: IMAGES.busybox }),
        (e: Error) => e instanceof TargetNotRunningError && /is exited, not running; start it/.test(e.message));
    } finally {
      await removeQuietly(docker, [c]);
    }
  });

  it('a missing image whose pull fails names the image, the registry error and the setting', async () => {
    const image = 'container-sidecar-test/never-built:0';
    const err = await ensureImage(engine, image, { setting: 'sidecar.debugger.profiles' }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ImagePullError, String(err));
    assert.match(err.message, /Image container-sidecar-test\/never-built:0 is not available locally and pulling it failed: /);
    assert.ok(err.registryError.length > 0);
    assert.ok(err.message.includes(err.registryError));
    assert.match(err.message, /change the setting sidecar\.debugger\.profiles/);
  });

  it('launching with an unpullable image leaves no container behind', async () => {
    const t = await runContainer(docker, { name: uniqueName('sc-pullfail') });
    try {
      const progress: string[] = [];
      await assert.rejects(launchSidecar(engine, { target: t.id, role: 'debugger', image: 'container-sidecar-test/never-built:0' }, { onProgress: (m) => progress.push(m) }), ImagePullError);
      assert.ok(progress.some((p) => /Pulling container-sidecar-test\/never-built:0/.test(p)), progress.join('\n'));
      assert.deepEqual(await listSidecars(engine, { target: t.id }), []);
    } finally {
      await removeQuietly(docker, [t]);
    }
  });

  it('an existing local image needs no pull', async () => {
    const progress: string[] = [];
    await ensureImage(engine, IMAGES.busybox, { onProgress: (m) => progress.push(m) });
    assert.deepEqual(progress, []);
  });
});

describe('sidecars: orphan cleanup', () => {
  it('judges an owner by its PID only in this host\'s and PID namespace\'s scope', () => {
    const here = processOwner.replace(/:\d+:[0-9a-f]+$/, '');
    assert.match(here, new RegExp(`^${os.hostname()}~\\d+$`), 'the owner names the PID namespace');
    assert.equal(isOwnerAlive(processOwner), true);
    assert.equal(isOwnerAlive(`${here}:2147483646:abcdef`), false);
    // A window in a PID namespace of its own on this host: its PID 7 is not our PID 7.
    assert.equal(isOwnerAlive(`${os.hostname()}~1:2147483646:abcdef`), true);
    assert.equal(isOwnerAlive(`${os.hostname()}:2147483646:abcdef`), true, 'an owner label without its namespace is not judged');
    assert.equal(isOwnerAlive('another-host~4026531836:2147483646:abcdef'), true);
  });

  it('removes sidecars whose owner is dead or whose target is gone, and keeps live ones', async () => {
    const target = await runContainer(docker, { name: uniqueName('sc-orph') });
    // The same host and PID namespace as this process, and a PID that runs nowhere.
    const deadOwner = `${processOwner.replace(/:\d+:[0-9a-f]+$/, '')}:2147483646:abcdef`;
    const ids: string[] = [];
    try {
      const live = await launchSidecar(engine, { target: target.id, role: 'tunnel', image: IMAGES.busybox, cmd: ['sleep', '3600'] });
      const dead = await launchSidecar(engine, { target: target.id, role: 'tunnel', image: IMAGES.busybox, cmd: ['sleep', '3600'] }, { owner: deadOwner });
      ids.push(live.id, dead.id);
      const removed = await cleanupOrphans(engine);
      assert.ok(removed.some((s) => s.id === dead.id), 'the dead owner\'s sidecar is removed');
      assert.ok(!removed.some((s) => s.id === live.id), 'the live owner\'s sidecar stays');
      assert.deepEqual((await listSidecars(engine, { target: target.id })).map((s) => s.id), [live.id]);
      // When the target goes, its sidecars are orphans whoever owns them.
      await removeQuietly(docker, [target]);
      await cleanupOrphans(engine);
      await eventually(async () => (await listSidecars(engine, { target: target.id })).length === 0, 'the live sidecar of a removed target to go');
    } finally {
      await removeQuietly(docker, [target, ...ids]);
    }
  });
});
