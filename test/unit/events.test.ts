// The event stream against a real engine, including a real engine restart:
// an isolated dockerd (own socket, data root and containerd namespace) that
// this test starts, stops and starts again. The shared engine is not touched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { Engine } from '../../src/engine/engine';
import { parseEndpoint } from '../../src/engine/connection';
import { EngineEvents, parseEvent, type ContainerEvent, type StreamState } from '../../src/engine/events';
import { IMAGES, removeQuietly, runContainer, testDocker } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';
import { nextEvent } from '../helpers/events';

interface Dockerd { stop(): Promise<void>; socket: string }
type StartDockerd = (o: { root: string; socket: string; logFile?: string }) => Promise<Dockerd>;

function waitFor<T>(emitter: EngineEvents, name: string, pred: (x: T) => boolean, what: string, ms = 60_000): Promise<T> {
  return nextEvent(emitter, name, pred, ms, what);
}

describe('engine events', () => {
  it('parses container events and drops the rest', () => {
    assert.deepEqual(parseEvent({ Type: 'container', Action: 'health_status: healthy', Actor: { ID: 'abc', Attributes: { name: 'web' } }, timeNano: 2e9 }),
      { action: 'health_status', rawAction: 'health_status: healthy', id: 'abc', name: 'web', time: 2000, attributes: { name: 'web' } });
    assert.equal(parseEvent({ Type: 'network', Action: 'connect', Actor: { ID: 'n' } }), undefined);
    assert.equal(parseEvent({ Type: 'container', Action: 'exec_create: sh', Actor: { ID: 'c' } }), undefined);
  });

  it('delivers start and die of a container on the shared engine', { timeout: 60_000 }, async () => {
    const events = new EngineEvents(new Engine(parseEndpoint(process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock', 'test'))).start();
    const docker = testDocker();
    try {
      await waitFor<StreamState>(events, 'state', (s) => s.connected, 'the stream to connect');
      const started = waitFor<ContainerEvent>(events, 'event', (e) => e.action === 'start', 'start');
      const c = await runContainer(docker, { cmd: ['true'] });
      try {
        const ev = await started;
        assert.equal(ev.id, c.id);
        await waitFor<ContainerEvent>(events, 'event', (e) => e.action === 'die' && e.id === c.id, 'die');
      } finally {
        await removeQuietly(docker, [c]);
      }
    } finally {
      events.dispose();
    }
  });

  describe('with an isolated dockerd that restarts', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-iso-dockerd-'));
    const socket = path.join(root, 'docker.sock');
    let startDockerd: StartDockerd;
    let dockerd: Dockerd | undefined;

    before(async () => {
      ({ startDockerd } = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/engine.mjs')).href)) as { startDockerd: StartDockerd });
      dockerd = await startDockerd({ root, socket, logFile: path.join(root, 'dockerd.log') });
      // The isolated engine has no images: copy the local busybox over.
      const from = testDocker();
      const to = new Docker({ socketPath: socket });
      await to.loadImage(await from.getImage(IMAGES.busybox).get() as unknown as NodeJS.ReadableStream);
    });
    after(async () => {
      await dockerd?.stop();
      fs.rmSync(root, { recursive: true, force: true });
    });

    it('reconnects with backoff after dockerd stops and starts again, and says so once', { timeout: 180_000 }, async () => {
      const engine = new Engine(parseEndpoint(`unix://${socket}`, 'test'));
      const events = new EngineEvents(engine, { minDelayMs: 100, maxDelayMs: 1000 }).start();
      const states: StreamState[] = [];
      let reconnects = 0;
      events.on('state', (s: StreamState) => states.push(s));
      events.on('reconnected', () => reconnects++);
      try {
        await waitFor<StreamState>(events, 'state', (s) => s.connected, 'the first connect');
        const lost = waitFor<StreamState>(events, 'state', (s) => !s.connected, 'the stream to be lost');
        await dockerd!.stop();
        dockerd = undefined;
        const s = await lost;
        assert.ok(!s.connected);
        // While the engine is down, retries fail and the delay grows.
        await waitFor<StreamState>(events, 'state', (x) => !x.connected && x.retryInMs >= 400, 'the backoff to grow');
        assert.equal(reconnects, 0);
        const back = waitFor<void>(events, 'reconnected', () => true, 'the reconnected signal', 90_000);
        dockerd = await startDockerd({ root, socket, logFile: path.join(root, 'dockerd.log') });
        await back;
        assert.equal(reconnects, 1);
        const failures = states.filter((x) => !x.connected).map((x) => (x as { retryInMs: number }).retryInMs);
        assert.deepEqual(failures.slice(0, 3), [100, 200, 400], "the delay doubles while the engine is down");
        // Events of the restarted engine arrive on the new stream.
        const docker = new Docker({ socketPath: socket });
        const started = waitFor<ContainerEvent>(events, 'event', (e) => e.action === 'start', 'a start event after reconnecting');
        const c = await docker.createContainer({ Image: IMAGES.busybox, Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
        await c.start();
        assert.equal((await started).id, c.id);
        await c.remove({ force: true });
        assert.equal(reconnects, 1, 'reconnected fires once per lost stream');
      } finally {
        events.dispose();
      }
    });
  });
});
