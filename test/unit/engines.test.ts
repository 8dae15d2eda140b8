// Several engines: the per-call deadline against a real TCP listener that
// accepts and never answers (a hung engine), models that do not wait for each
// other, and how a container reference names its engine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { EngineUnavailableError, resolveEndpoint } from '../../src/engine/connection';
import { Engine } from '../../src/engine/engine';
import { containerRef, EngineSet, splitContainerRef } from '../../src/engine/engines';
import { ExplorerModel } from '../../src/views/model';
import { composeProject } from '../../src/engine/containers';
import { removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

describe('several engines', () => {
  const sockets = new Set<net.Socket>();
  const hung = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  let port = 0;
  const docker = testDocker();
  let id = '';

  before(async () => {
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    port = (hung.address() as net.AddressInfo).port;
    id = (await runContainer(docker, { name: uniqueName('engines-unit') })).id;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    hung.close();
    await removeQuietly(docker, [id]);
  });

  it('an engine that accepts and never answers is "not answering" at the deadline, for lists, inspects and the event stream', async () => {
    const engine = new Engine({ label: `tcp://127.0.0.1:${port}`, options: { host: '127.0.0.1', port, protocol: 'http' }, id: 'hung', name: 'Hung' }, { deadlineMs: 800 });
    for (const call of [() => engine.listContainers(), () => engine.inspect('x'), () => engine.ping(), () => engine.ask((d, abortSignal) => d.getEvents({ abortSignal } as object))]) {
      const err = await call().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof EngineUnavailableError, String(err));
      assert.match(err.message, new RegExp(`^No Docker Engine answers at tcp://127\\.0\\.0\\.1:${port}: not answering \\(no reply within 0\\.8 s\\)\\. Check that the engine is running`));
    }
  });

  it('a hung engine\'s model does not hold up the real engine\'s; it is down once its connection fails', async () => {
    // A deadline far beyond any real list here: the check is that the real model loads while the hung one still waits.
    const hungEngine = new Engine({ label: `tcp://127.0.0.1:${port}`, options: { host: '127.0.0.1', port, protocol: 'http' } }, { deadlineMs: 60_000 });
    const real = new Engine(resolveEndpoint(undefined));
    const slow = new ExplorerModel(() => hungEngine, () => hungEngine.endpoint.label);
    const fast = new ExplorerModel(() => real, () => real.endpoint.label);
    try {
      const slowDone = slow.refresh();
      await fast.refresh();
      assert.ok(!slow.loaded, 'the hung engine\'s model is still waiting');
      assert.ok(fast.status.ok && fast.containers.has(id), 'the real engine lists its containers meanwhile');
      // The hung engine drops its connections: its model says why.
      for (const s of sockets) s.destroy();
      await slowDone;
      assert.ok(!slow.status.ok && /No Docker Engine answers at tcp:\/\/127\.0\.0\.1:\d+/.test(slow.status.error), JSON.stringify(slow.status));
    } finally {
      slow.dispose();
      fast.dispose();
    }
  });

  it('a set of engines: by id or name, the default first, ids only for the others', () => {
    const set = new EngineSet({
      engines: [
        { label: 'unix:///var/run/docker.sock', options: { socketPath: '/var/run/docker.sock' }, id: 'docker', name: 'Docker', source: 'default' },
        { label: 'unix:///run/podman/podman.sock', options: { socketPath: '/run/podman/podman.sock' }, id: 'podman', name: 'Podman', source: 'podman' },
      ],
      problems: [],
    });
    assert.ok(set.multiple);
    assert.equal(set.get(undefined), set.default);
    assert.equal(set.get('default'), set.default);
    assert.equal(set.get('Podman').id, 'podman');
    assert.equal(set.idFor(set.default), undefined, 'the default engine is not named, so today\'s URIs stay as they were');
    assert.equal(set.idFor(set.get('podman')), 'podman');
    assert.equal(set.default.dataId, undefined, 'the default engine\'s containers carry no engine id');
    assert.equal(set.get('podman').dataId, 'podman');
    assert.throws(() => set.get('build'), /^SettingsError|No engine "build" is configured \(there are "docker", "podman"\); add it to the setting sidecar\.engines or remove it from sidecar\.hiddenEngines\./);
    // Settings that changed elsewhere keep the Engine objects (and their streams) of unchanged engines.
    const again = new EngineSet({ engines: [set.all[1].endpoint], problems: [] }, set);
    assert.equal(again.all[0], set.all[1]);
    const none = new EngineSet({ engines: [], problems: ['The setting sidecar.engines: "ftp://x" is not a Docker endpoint.'] });
    assert.throws(() => none.default, /not a Docker endpoint/);
  });

  it('a container reference names its engine after "@"; none means the default engine', () => {
    assert.deepEqual(splitContainerRef('web'), { container: 'web' });
    assert.deepEqual(splitContainerRef('web@podman'), { container: 'web', engineId: 'podman' });
    assert.deepEqual(splitContainerRef('0123abcd@build-box'), { container: '0123abcd', engineId: 'build-box' });
    assert.equal(containerRef('web', undefined), 'web');
    assert.equal(containerRef('web', 'podman'), 'web@podman');
  });

  it('podman-compose\'s project label groups like Docker Compose\'s', () => {
    assert.equal(composeProject({ 'io.podman.compose.project': 'shop' }), 'shop');
    assert.equal(composeProject({ 'com.docker.compose.project': 'shop', 'io.podman.compose.project': 'other' }), 'shop');
    assert.equal(composeProject({}), undefined);
  });
});
