// The explorer's figures, with 200 containers on the engine (about 100 running):
// - explorer.tree.200: a full build of the tree's data (list, inspect of the
//   running ones, namespaces of every running container, the rows' texts)
//   against the CLI route `docker ps -a --format '{{json .}}'` + `docker inspect` of all.
// - explorer.event-latency: from the start API call until the model announces a
//   change naming that container (the providers fire synchronously on it).
// - explorer.heap-growth: heap after 1000 start/die events handled, minus before.
// The model is the same code the views use; it runs here in plain Node (no
// extension host), which is what these figures measure.
import v8 from 'node:v8';
import vm from 'node:vm';
import type Docker from 'dockerode';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { NS_TYPES } from '../../src/procfs/namespaces';
import { describeStatus, ExplorerModel, type ModelChange } from '../../src/views/model';
import { IMAGES, testDocker } from '../helpers/docker';
import { exec, median, type Report, sideBySide } from './util';

export const ids = ['explorer.tree.200', 'explorer.event-latency', 'explorer.heap-growth'];

const LABEL = { 'io.container-sidecar.test': 'bench-explorer' };

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

/** The texts the tree shows down to every running container's namespaces. */
function rows(model: ExplorerModel): number {
  let n = 0;
  const name = (id: string) => model.containers.get(id)?.model.name ?? id.slice(0, 12);
  for (const e of model.containers.values()) {
    n += `${describeStatus({ ...e.model, ...e.detail })} · ${e.model.image} · ${e.model.shortId}`.length;
    const ns = model.snapshot.containers.get(e.model.id);
    if (!ns) continue;
    for (const t of NS_TYPES) n += `${ns[t].inode} · ${ns[t].with.map(name).join(', ')}`.length;
  }
  return n;
}

function newModel(engine: Engine): ExplorerModel {
  return new ExplorerModel(() => engine, () => engine.endpoint.label);
}

function gcHeapMB(): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

export async function run(report: Report): Promise<void> {
  const docker = testDocker();
  const engine = new Engine(resolveEndpoint(undefined));
  const existing = await engine.listContainers();
  const created: Docker.Container[] = [];
  const runningNow = existing.filter((c) => c.state === 'running').length;
  try {
    // Fill the engine up to 200 containers, about half of them running.
    const toCreate = Math.max(0, 200 - existing.length);
    const toRun = Math.max(0, Math.min(toCreate, 100 - runningNow));
    await pool(Array.from({ length: toCreate }, (_, i) => i), 6, async (i) => {
      const c = await docker.createContainer({ Image: IMAGES.busybox, Cmd: ['sleep', '3600'], Labels: LABEL, HostConfig: { NetworkMode: 'none' }, StopTimeout: 1 });
      created.push(c);
      if (i < toRun) await c.start();
    });
    const all = await engine.listContainers();
    console.log(`  ${all.length} containers, ${all.filter((c) => c.state === 'running').length} running`);

    // 1. Full tree build vs the CLI route.
    const r = await sideBySide(7, async () => {
      const m = newModel(engine);
      await m.refresh();
      if (!m.status.ok) throw new Error(m.status.error);
      rows(m);
      m.dispose();
    }, async () => {
      const ps = await exec('docker', ['ps', '-a', '--format', '{{json .}}']);
      const idsNow = ps.trim().split('\n').map((l) => (JSON.parse(l) as { ID: string }).ID);
      await exec('docker', ['inspect', ...idsNow]);
    });
    report({ id: 'explorer.tree.200', value: r.ours, unit: 'ms', baseline: "docker ps -a --format '{{json .}}' + docker inspect of all", baselineValue: r.theirs, target: '<= 0.5x' });

    // 2. Event to view latency.
    const model = newModel(engine);
    await model.refresh();
    const stopped = created.slice(toRun, toRun + 15);
    const lat: number[] = [];
    const call: number[] = [];
    for (const c of stopped) {
      const seen = new Promise<number>((resolve) => {
        const on = (ch: ModelChange) => {
          if ([...ch.updated, ...ch.added].includes(c.id) && model.containers.get(c.id)?.model.state === 'running') {
            model.off('change', on);
            resolve(performance.now());
          }
        };
        model.on('change', on);
      });
      const t0 = performance.now();
      await c.start();
      call.push(performance.now() - t0);
      lat.push((await seen) - t0);
      await c.kill().catch(() => undefined);
    }
    // The start call itself is in the figure (the event comes at its end); its own time is the baseline for context.
    report({ id: 'explorer.event-latency', value: median(lat), unit: 'ms', baseline: 'the start API call alone', baselineValue: median(call), target: '< 250 ms median (Container Tools debounces 500 ms)' });

    // 3. Heap growth over 1000 start/die events, spread over the containers.
    let handled = 0;
    model.on('change', (ch: ModelChange) => (handled += ch.updated.length));
    await new Promise((res) => setTimeout(res, 500));
    const before = gcHeapMB();
    const cycles = 500; // each is one start and one die event
    const pool2 = created.slice(toRun);
    let k = 0;
    await pool(Array.from({ length: cycles }, (_, i) => i), 4, async () => {
      const c = pool2[k++ % pool2.length];
      try {
        await c.start();
        await c.kill();
      } catch {
        // a concurrent cycle on the same container; the event count below is what matters
      }
    });
    await new Promise((res) => setTimeout(res, 1000));
    const after = gcHeapMB();
    model.dispose();
    console.log(`  ${cycles} start/kill cycles (${cycles * 2} start/die events) on ${pool2.length} containers; the model handled ${handled} updates`);
    console.log(`  heap ${before.toFixed(1)} MB before, ${after.toFixed(1)} MB after (model in plain Node, not the extension host)`);
    report({ id: 'explorer.heap-growth', value: after - before, unit: 'MB', target: '< 20 MB' });
  } finally {
    await pool(created, 8, (c) => c.remove({ force: true }).catch(() => undefined));
  }
}
