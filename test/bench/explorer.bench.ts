// The explorer's figures, with 200 containers on the engine (about 100 running):
// - explorer.tree.200: a cold full build of the tree through the Containers
//   view's provider (list, inspect of the running ones, the items down to every
//   running container's namespaces) against the CLI route
//   `docker ps -a --format '{{json .}}'` + `docker inspect` of all.
// - explorer.event-latency: from the start API call until the Containers view's
//   provider fires that container's item as running (in the extension host).
// - explorer.heap-growth: extension host heap after 1000 start/die events with
//   the tree loaded, minus before (after full GCs).
// All three run in code-server's real extension host (test/bench/host); the
// model alone in plain Node is printed for context.
import type Docker from 'dockerode';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { NS_TYPES } from '../../src/procfs/namespaces';
import path from 'node:path';
import { describeStatus, ExplorerModel } from '../../src/views/model';
import { IMAGES, testDocker } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';
import { runInExtensionHost } from '../helpers/workbench';
import { exec, type Figure, type Report, sideBySide } from './util';
import { cliInspect } from './explorerCli';

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
      await cliInspect(idsNow);
    });
    // Context only: the same build through the model alone in plain Node. The figure comes from the extension host below.
    console.log(`  model alone in plain Node: ${r.ours.toFixed(1)} ms vs CLI ${r.theirs.toFixed(1)} ms (${(r.ours / r.theirs).toFixed(2)}x)`);

    // 2 and 3 run in the real extension host, on the Containers view's provider.
    const results = (await runInExtensionHost(path.join(projectRoot, 'out/test/bench/host'), { timeoutMs: 10 * 60_000 })) as unknown as { figure?: Figure & { note?: string }; ok?: boolean; error?: string }[];
    for (const line of results) {
      if (line.figure) {
        if (line.figure.note) console.log(`  ${line.figure.note}`);
        report({ id: line.figure.id, value: line.figure.value, unit: line.figure.unit, baseline: line.figure.baseline, baselineValue: line.figure.baselineValue, target: line.figure.target });
      } else if (line.ok === false) {
        throw new Error(`extension host bench failed: ${line.error}`);
      }
    }
  } finally {
    await pool(created, 8, (c) => c.remove({ force: true }).catch(() => undefined));
  }
}
