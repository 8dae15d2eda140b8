// The explorer's model (no vscode) on the real engine: what a refresh holds,
// and how engine events turn into changes naming only the affected containers.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { describeStatus, ExplorerModel, humanDuration, type ModelChange } from '../../src/views/model';
import { removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

function nextChange(model: ExplorerModel, pred: (c: ModelChange) => boolean, what: string): Promise<ModelChange> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 30_000);
    const on = (c: ModelChange) => {
      if (!pred(c)) return;
      clearTimeout(t);
      model.off('change', on);
      resolve(c);
    };
    model.on('change', on);
  });
}

describe('explorer model', () => {
  const docker = testDocker();
  const engine = new Engine(resolveEndpoint(undefined));
  const ids: string[] = [];
  after(() => removeQuietly(docker, ids));

  it('writes status texts the way docker does', () => {
    assert.equal(humanDuration(400), 'Less than a second');
    assert.equal(humanDuration(3_000), '3 seconds');
    assert.equal(humanDuration(65_000), 'About a minute');
    assert.equal(humanDuration(3 * 60_000), '3 minutes');
    assert.equal(humanDuration(3_600_000), 'About an hour');
    assert.equal(humanDuration(5 * 3_600_000), '5 hours');
    assert.equal(humanDuration(3 * 86_400_000), '3 days');
    const now = Date.UTC(2026, 0, 1);
    const base = { id: 'x', shortId: 'x', name: 'x', image: 'i', status: 'engine text', created: new Date(now), labels: {}, ports: [], command: '' };
    assert.equal(describeStatus({ ...base, state: 'running', startedAt: new Date(now - 120_000) }, now), 'Up 2 minutes');
    assert.equal(describeStatus({ ...base, state: 'paused', startedAt: new Date(now - 120_000) }, now), 'Up 2 minutes (Paused)');
    assert.equal(describeStatus({ ...base, state: 'exited', exitCode: 3, finishedAt: new Date(now - 7_200_000) }, now), 'Exited (3) 2 hours ago');
    assert.equal(describeStatus({ ...base, state: 'exited' }, now), 'engine text', 'without inspect times, the engine\'s own text');
  });

  it('a refresh holds every container, details and namespaces of the running ones', async () => {
    const c = await runContainer(docker, { name: uniqueName('model-run') });
    ids.push(c.id);
    const model = new ExplorerModel(() => engine, () => engine.endpoint.label);
    try {
      await model.refresh();
      assert.ok(model.status.ok);
      const e = model.containers.get(c.id);
      assert.ok(e?.detail?.pid, 'the running container is inspected');
      assert.ok(model.snapshot.containers.get(c.id)?.pid.inode, 'its namespaces are read');
    } finally {
      model.dispose();
    }
  });

  it('events: start, stop and destroy become changes naming that container', { timeout: 90_000 }, async () => {
    const model = new ExplorerModel(() => engine, () => engine.endpoint.label);
    try {
      await model.refresh();
      const name = uniqueName('model-live');
      const added = nextChange(model, (ch) => ch.added.length > 0 && model.containers.get(ch.added[0])?.model.name === name, 'the created container');
      const c = await runContainer(docker, { name, start: false });
      ids.push(c.id);
      assert.deepEqual((await added).added.filter((id) => id === c.id), [c.id]);
      const started = nextChange(model, (ch) => ch.updated.includes(c.id) && model.containers.get(c.id)?.model.state === 'running', 'the start');
      const nsChanged = nextChange(model, (ch) => ch.namespaces.includes(c.id), 'its namespaces');
      await c.start();
      const ch = await started;
      assert.ok(!ch.all, 'not a full reload');
      await nsChanged;
      assert.ok(model.snapshot.containers.has(c.id));
      const stopped = nextChange(model, (x) => x.updated.includes(c.id) && model.containers.get(c.id)?.model.state === 'exited', 'the stop');
      await c.kill();
      await stopped;
      assert.match(model.containers.get(c.id)!.model.status, /^Exited \(137\) /);
      const removed = nextChange(model, (x) => x.removed.includes(c.id), 'the removal');
      await c.remove();
      await removed;
      assert.equal(model.containers.has(c.id), false);
      // Namespaces are re-read after the state change is announced.
      for (let i = 0; i < 100 && model.snapshot.containers.has(c.id); i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(model.snapshot.containers.has(c.id), false);
    } finally {
      model.dispose();
    }
  });
});
