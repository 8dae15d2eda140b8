import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../src/engine/engine';
import { EngineUnavailableError, parseEndpoint, resolveEndpoint, SettingsError } from '../../src/engine/connection';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

describe('engine: listing containers on the real engine', () => {
  const docker = testDocker();
  const engine = new Engine(resolveEndpoint(undefined));
  const names = { running: uniqueName('list-running'), stopped: uniqueName('list-stopped'), created: uniqueName('list-created') };
  const ids: string[] = [];

  before(async () => {
    const running = await runContainer(docker, { name: names.running, labels: { 'com.docker.compose.project': 'demo' } });
    const stopped = await runContainer(docker, { name: names.stopped, cmd: ['sh', '-c', 'exit 3'] });
    await stopped.wait();
    const created = await runContainer(docker, { name: names.created, start: false });
    ids.push(running.id, stopped.id, created.id);
  });
  after(() => removeQuietly(docker, ids));

  it('lists the containers the test started, running and stopped', async () => {
    const list = await engine.listContainers();
    const byName = new Map(list.map((c) => [c.name, c]));
    for (const n of Object.values(names)) assert.ok(byName.has(n), `${n} is listed`);
    assert.equal(byName.get(names.running)!.state, 'running');
    assert.equal(byName.get(names.stopped)!.state, 'exited');
    assert.equal(byName.get(names.created)!.state, 'created');
  });

  it('models a running container', async () => {
    const c = (await engine.listContainers()).find((x) => x.name === names.running)!;
    assert.equal(c.id, ids[0]);
    assert.equal(c.shortId, ids[0].slice(0, 12));
    assert.equal(c.image, IMAGES.busybox);
    assert.match(c.status, /^Up /);
    assert.equal(c.composeProject, 'demo');
    assert.equal(c.command, 'sleep 3600');
    const d = await engine.inspect(names.running);
    assert.equal(d.state, 'running');
    assert.ok(d.pid && d.pid > 1, 'a running container has a host PID');
    assert.equal(d.exitCode, undefined);
    assert.equal(d.hostConfig.networkMode, 'none');
  });

  it('models a stopped container with its exit code and time', async () => {
    const c = (await engine.listContainers()).find((x) => x.name === names.stopped)!;
    assert.match(c.status, /^Exited \(3\)/);
    const d = await engine.inspect(ids[1]);
    assert.equal(d.state, 'exited');
    assert.equal(d.exitCode, 3);
    assert.equal(d.pid, undefined);
    assert.ok(d.finishedAt instanceof Date && d.finishedAt.getTime() > Date.now() - 10 * 60_000);
  });

  it('says which container is missing', async () => {
    await assert.rejects(engine.inspect('no-such-container-xyz'), /Container no-such-container-xyz does not exist/);
  });
});

describe('engine: a wrong endpoint', () => {
  it('names the endpoint, the cause and a fix for a missing socket', async () => {
    const engine = new Engine(parseEndpoint('unix:///tmp/no-such-docker.sock', 'test'));
    const err = await engine.listContainers().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof EngineUnavailableError, `got ${String(err)}`);
    assert.match(err.message, /unix:\/\/\/tmp\/no-such-docker\.sock/);
    assert.match(err.message, /socket does not exist/);
    assert.match(err.message, /DOCKER_HOST|sidecar\.engines/);
  });

  it('names a refused tcp endpoint', async () => {
    const engine = new Engine(parseEndpoint('tcp://127.0.0.1:1', 'test'));
    const err = await engine.ping().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof EngineUnavailableError);
    assert.match(err.message, /tcp:\/\/127\.0\.0\.1:1: the connection was refused/);
  });

  it('rejects malformed settings with a message naming the setting', () => {
    assert.throws(() => resolveEndpoint('unix:///x'), SettingsError);
    assert.throws(() => resolveEndpoint(['ftp://x']), /sidecar\.engines.*not a Docker endpoint/);
    assert.throws(() => resolveEndpoint(['unix://relative']), /absolute socket path/);
    assert.deepEqual(resolveEndpoint([], { DOCKER_HOST: 'tcp://127.0.0.1:2375' }).options, { host: '127.0.0.1', port: 2375, protocol: 'http' });
    assert.equal(resolveEndpoint([], {}).label, 'unix:///var/run/docker.sock');
    // The CLI's TLS variables with a folder that holds no certificates: named, with the fix.
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-nocerts-'));
    try {
      assert.throws(() => resolveEndpoint([], { DOCKER_HOST: 'tcp://127.0.0.1:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: empty }), (e: Error) => e instanceof SettingsError && e.message.includes(`${empty} holds none of ca.pem, cert.pem and key.pem; point DOCKER_CERT_PATH`));
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
