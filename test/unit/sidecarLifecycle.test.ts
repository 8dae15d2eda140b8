// Lifecycle of debugger sidecars and port forwards on the real engine: the
// terminal session over the attach stream, its endings (closed, exit, target
// stopped), orphan cleanup, and a port-forward round trip to a server that
// listens only on the container's loopback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { DEFAULT_PROFILES, parseProfiles, profileSpec } from '../../src/engine/profiles';
import { listSidecars, processOwner, removeOwnedSidecars } from '../../src/engine/sidecars';
import { describeEnd, SidecarTerminalSession } from '../../src/engine/terminalSession';
import { checkRemoteHost, parsePort, PortForwardService } from '../../src/engine/portForward';
import { eventually } from '../helpers/hostRunner';
import { projectRoot } from '../helpers/paths';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

const engine = new Engine(resolveEndpoint(undefined));
const docker = testDocker();
const shell = { ...DEFAULT_PROFILES[0], image: IMAGES.busybox };

async function gone(targetId: string): Promise<void> {
  await eventually(async () => (await listSidecars(engine, { target: targetId })).length === 0, 'no sidecar of the target to remain');
}

describe('debugger session: terminal over the attach stream', () => {
  let targetId = '';
  const name = uniqueName('lc-target');
  before(async () => {
    targetId = (await runContainer(docker, { name, image: IMAGES.target, cmd: ['/app/target'] })).id;
  });
  after(() => removeQuietly(docker, [targetId]));

  it('the shell sees the target\'s processes and TARGET_ROOT; closing removes the sidecar', async () => {
    const s = await SidecarTerminalSession.open(engine, profileSpec(shell, name), { cols: 120, rows: 40 });
    try {
      assert.equal(s.target.id, targetId);
      assert.equal((await listSidecars(engine, { target: targetId })).length, 1);
      s.write('ps; echo "root=$TARGET_ROOT"; stty size\n');
      await eventually(() => /\/app\/target/.test(s.transcript) && /root=\/proc\/1\/root/.test(s.transcript), `ps output in the terminal:\n${s.transcript}`);
      await eventually(() => /40 120/.test(s.transcript), 'the TTY size to be 40x120');
      await s.resize(100, 30);
      s.write('stty size\n');
      await eventually(() => /30 100/.test(s.transcript), 'the resized TTY');
    } finally {
      const end = await s.close();
      assert.deepEqual(end, { kind: 'detached' });
    }
    assert.deepEqual(await listSidecars(engine, { target: targetId }), []);
  });

  it('typing exit ends the session and leaves nothing behind', async () => {
    const s = await SidecarTerminalSession.open(engine, profileSpec(shell, name));
    s.write('exit 3\n');
    const end = await s.ended;
    assert.deepEqual(end, { kind: 'exited', code: 3 });
    assert.match(describeEnd(end, name), /exit code 3/);
    await gone(targetId);
  });

  it('an interrupted attach stream (window gone) ends the shell and the sidecar', async () => {
    const s = await SidecarTerminalSession.open(engine, profileSpec(shell, name));
    // Stdin closes with our only attach (StdinOnce), the shell exits and AutoRemove removes the sidecar.
    (s as unknown as { stream: { destroy(): void } }).stream.destroy();
    await s.ended;
    await gone(targetId);
  });
});

describe('debugger session: when the target stops', () => {
  it('the sidecar ends, the session says so, and nothing is left', async () => {
    const name = uniqueName('lc-dies');
    const t = await runContainer(docker, { name, image: IMAGES.target, cmd: ['/app/target'] });
    try {
      const s = await SidecarTerminalSession.open(engine, profileSpec(shell, name));
      await t.kill();
      const end = await s.ended;
      assert.equal(end.kind, 'target-stopped');
      assert.match(describeEnd(end, name), new RegExp(`Container ${name} stopped \\(exited\\), so its sidecar ended`));
      await gone(t.id);
    } finally {
      await removeQuietly(docker, [t]);
    }
  });

  it('also when the sidecar does not share the pid namespace', async () => {
    const name = uniqueName('lc-dies-net');
    const t = await runContainer(docker, { name });
    try {
      const s = await SidecarTerminalSession.open(engine, profileSpec({ ...shell, share: { pid: false, net: true, ipc: false } }, name));
      await t.remove({ force: true });
      const end = await s.ended;
      assert.deepEqual(end, { kind: 'target-stopped', state: 'missing' });
      await gone(t.id);
    } finally {
      await removeQuietly(docker, [t]);
    }
  });
});

describe('deactivate: removing this window\'s sidecars', () => {
  it('removes every sidecar of this owner', async () => {
    const t = await runContainer(docker, { name: uniqueName('lc-deact') });
    try {
      await SidecarTerminalSession.open(engine, profileSpec(shell, t.id));
      await SidecarTerminalSession.open(engine, profileSpec(shell, t.id));
      assert.equal((await listSidecars(engine, { target: t.id, owner: processOwner })).length, 2);
      await removeOwnedSidecars(engine);
      await gone(t.id);
    } finally {
      await removeQuietly(docker, [t]);
    }
  });
});

describe('profiles', () => {
  it('defaults to a busybox shell and a network-tools profile', () => {
    const { profiles, problems } = parseProfiles(undefined);
    assert.deepEqual(problems, []);
    assert.deepEqual(profiles.map((p) => p.image), ['busybox:latest', 'nicolaka/netshoot:latest']);
    assert.ok(profiles.every((p) => p.capabilities.includes('SYS_PTRACE')));
    const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.contributes.configuration.properties['sidecar.debugger.profiles'].default, DEFAULT_PROFILES, 'the manifest default matches the code');
  });

  it('each malformed profile gets a message naming it, the field and the fix; good ones stay', () => {
    const { profiles, problems } = parseProfiles([
      { name: 'ok', image: 'busybox:1' },
      { name: 'no image' },
      { name: 'cmd string', image: 'x', command: 'sh -c ps' },
      { name: 'caps', image: 'x', capabilities: ['sys ptrace'] },
      { name: 'share', image: 'x', share: { uts: true } },
      { name: 'typo', image: 'x', comand: ['sh'] },
      'busybox',
      { name: 'ok', image: 'y' },
    ]);
    assert.deepEqual(profiles.map((p) => p.name), ['ok']);
    assert.deepEqual(profiles[0].command, ['sh']);
    assert.deepEqual(profiles[0].capabilities, ['SYS_PTRACE']);
    assert.match(problems[0], /^Profile 2 \("no image"\) in sidecar\.debugger\.profiles: "image" must be an image reference/);
    assert.match(problems[1], /"command" must be a non-empty list of strings/);
    assert.match(problems[2], /"capabilities" must be a list of Linux capability names/);
    assert.match(problems[3], /"share\.uts" is not allowed/);
    assert.match(problems[4], /unknown field "comand"/);
    assert.match(problems[5], /^Profile 7 in sidecar\.debugger\.profiles: must be an object/);
    assert.match(problems[6], /name is used by an earlier profile/);
    assert.match(parseProfiles({}).problems[0], /must be a list of profiles/);
  });
});

describe('port forwarding through a tunnel sidecar', () => {
  let targetId = '';
  const forwards = new PortForwardService(engine, { image: IMAGES.busybox });
  const page = 'hello from inside the namespace';
  before(async () => {
    // httpd listens only on the container's own loopback: unreachable from the host without the tunnel.
    targetId = (await runContainer(docker, {
      name: uniqueName('lc-httpd'),
      cmd: ['sh', '-c', `mkdir -p /www && echo '${page}' > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www`],
    })).id;
  });
  after(async () => {
    await forwards.dispose();
    await removeQuietly(docker, [targetId]);
  });

  it('fetches a page from a server on the container\'s loopback, twice, then stops', async () => {
    const f = await forwards.forward({ target: targetId, remotePort: 8080, localPort: 0 });
    assert.equal(f.localHost, '127.0.0.1');
    assert.ok(f.localPort > 0);
    assert.deepEqual(forwards.list().map((x) => x.id), [f.id]);
    const tunnel = await docker.getContainer(f.tunnelId).inspect();
    assert.equal(tunnel.HostConfig.NetworkMode, `container:${targetId}`);
    assert.deepEqual(tunnel.HostConfig.PortBindings ?? {}, {});
    for (let i = 0; i < 2; i++) {
      const body = await eventually(async () => {
        const r = await fetch(`http://127.0.0.1:${f.localPort}/index.html`);
        return r.ok ? r.text() : undefined;
      }, 'the page through the forward');
      assert.equal(body, `${page}\n`);
    }
    await forwards.stop(f.id);
    assert.deepEqual(forwards.list(), []);
    await gone(targetId);
    await assert.rejects(new Promise((resolve, reject) => net.connect(f.localPort, '127.0.0.1').on('connect', resolve).on('error', reject)), /ECONNREFUSED/);
  });

  it('carries binary data both ways and passes the client\'s half-close', async () => {
    // An echo server on the container's network: `cat` behind busybox nc, one process per connection.
    const echo = await runContainer(docker, { name: uniqueName('lc-echo'), cmd: ['nc', '-ll', '-p', '9000', '-e', 'cat'] });
    try {
      const f = await forwards.forward({ target: echo.id, remotePort: 9000, localPort: 0 });
      const data = Buffer.concat(Array.from({ length: 64 }, () => Buffer.from(Array.from({ length: 256 }, (_, i) => i))));
      const back = await eventually(async () => {
        const got = await new Promise<Buffer>((resolve, reject) => {
          const chunks: Buffer[] = [];
          const s = net.connect(f.localPort, '127.0.0.1', () => s.end(data));
          s.on('data', (b: Buffer) => chunks.push(b));
          s.on('close', () => resolve(Buffer.concat(chunks)));
          s.on('error', reject);
        });
        return got.length ? got : undefined;
      }, 'the echo through the forward', 10_000);
      assert.equal(back!.length, data.length);
      assert.ok(back!.equals(data), 'every byte comes back unchanged');
      await forwards.stop(f.id);
    } finally {
      await removeQuietly(docker, [echo]);
    }
  });

  it('ends the forward when the target stops', async () => {
    const t = await runContainer(docker, { name: uniqueName('lc-fwd-stop') });
    const f = await forwards.forward({ target: t.id, remotePort: 1234, localPort: 0 });
    await t.kill();
    await eventually(() => !forwards.list().some((x) => x.id === f.id), 'the forward to end');
    await gone(t.id);
    await removeQuietly(docker, [t]);
  });

  it('rejects bad ports and non-loopback hosts with clear messages', async () => {
    assert.equal(parsePort('8080', 'p'), 8080);
    assert.throws(() => parsePort('http', 'The container port'), /The container port must be a whole number from 1 to 65535, not "http"/);
    assert.throws(() => parsePort(70000, 'p'), /1 to 65535/);
    assert.throws(() => checkRemoteHost('192.168.1.4'), /loopback only; use 127\.0\.0\.1/);
    assert.equal(checkRemoteHost('localhost'), '127.0.0.1');
    await assert.rejects(forwards.forward({ target: 'cs-no-such-target', remotePort: 80 }), /cs-no-such-target does not exist/);
  });
});
