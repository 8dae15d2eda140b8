// Runs inside the real extension host (code-server), started by
// explorer.bench.ts: event-to-view latency measured on the Containers view's
// provider, and the extension host's heap over 1000 start/die events.
// Figures go to the results file as { figure } lines.
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as vscode from 'vscode';
import type { SidecarApi } from '../../../src/extension';
import { testDocker } from '../../helpers/docker';
import { exec, median, sideBySide } from '../util';
import { cliInspect } from '../explorerCli';

type Item = vscode.TreeItem & { container?: { id: string; state: string } };

function write(o: object): void {
  const file = process.env.SIDECAR_TEST_RESULTS;
  if (file) fs.appendFileSync(file, JSON.stringify(o) + '\n');
}

function heapMB(): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** Loads every item a person would see with all running containers' Namespaces expanded. */
async function expandAll(a: SidecarApi): Promise<number> {
  let n = 0;
  const walk = async (parent: Item | undefined, depth: number): Promise<void> => {
    const kids = (await a.containers.getChildren(parent as never)) as Item[];
    n += kids.length;
    for (const k of kids) {
      const l = typeof k.label === 'string' ? k.label : '';
      if (depth === 0 && !k.container) await walk(k, 0); // compose group
      else if (k.container && k.container.state === 'running' && depth === 0) await walk(k, 1);
      else if (depth === 1 && l === 'Namespaces') await walk(k, 2);
    }
  };
  await walk(undefined, 0);
  return n;
}

export async function run(): Promise<void> {
  try {
    const ext = vscode.extensions.getExtension<SidecarApi>('container-sidecar.container-sidecar')!;
    const a = await ext.activate();
    const docker = testDocker();
    await a.containers.refresh();
    await expandAll(a);
    // Full tree build through the view's provider, cold, against the CLI route, interleaved.
    const tree = await sideBySide(7, async () => {
      a.containers.model.forgetCaches();
      await a.containers.refresh();
      await expandAll(a);
    }, async () => {
      const ids = (await exec('docker', ['ps', '-a', '--format', '{{json .}}'])).trim().split('\n').map((l) => (JSON.parse(l) as { ID: string }).ID);
      await cliInspect(ids);
    });
    const items = await expandAll(a);
    write({ figure: { id: 'explorer.tree.200', value: tree.ours, unit: 'ms', baseline: "docker ps -a --format '{{json .}}' + docker inspect of all", baselineValue: tree.theirs, target: '<= 0.5x', note: `tree built through the Containers view's provider in the extension host: ${items} items` } });

    const label = process.env.SIDECAR_BENCH_LABEL ?? 'bench-explorer';
    const stopped = (await docker.listContainers({ all: true, filters: { label: [`io.container-sidecar.test=${label}`], status: ['exited', 'created'] } })).map((c) => c.Id);

    // Latency: from the start call until the provider fires that container's item as running.
    const lat: number[] = [];
    const call: number[] = [];
    for (const id of stopped.slice(0, 15)) {
      const seen = new Promise<number>((resolve, reject) => {
        // An engine that dies mid-run must end the bench, not hang it.
        const timer = setTimeout(() => { sub.dispose(); reject(new Error(`no tree change for ${id.slice(0, 12)} within 30 s`)); }, 30_000);
        const sub = a.containers.onDidChangeTreeData((e) => {
          const it = e as Item | undefined;
          if (it?.container?.id === id && String(it.contextValue).startsWith('running')) {
            sub.dispose();
            clearTimeout(timer);
            resolve(performance.now());
          }
        });
      });
      const t0 = performance.now();
      await docker.getContainer(id).start();
      call.push(performance.now() - t0);
      lat.push((await seen) - t0);
      await docker.getContainer(id).kill().catch(() => undefined);
    }
    // The event comes at the end of the engine's own start, so the start call's time is the floor; it is the baseline.
    write({ figure: { id: 'explorer.event-latency', value: median(lat), unit: 'ms', baseline: 'the start API call alone', baselineValue: median(call), target: '< 250 ms median (Container Tools debounces 500 ms)' } });

    // Heap: 500 start/kill cycles = 1000 start and die events, with the tree loaded.
    await new Promise((r) => setTimeout(r, 1000));
    await expandAll(a);
    const before = heapMB();
    let k = 0;
    const cycles = 500;
    let done = 0;
    // Two workers: enough to keep the engine busy, gentle on a shared 2-core machine.
    await Promise.all(Array.from({ length: 2 }, async () => {
      while (done < cycles) {
        done++;
        const c = docker.getContainer(stopped[k++ % stopped.length]);
        try {
          await c.start();
          await c.kill();
        } catch {
          // the same container in two workers at once; the engine says so and we go on
        }
      }
    }));
    await new Promise((r) => setTimeout(r, 1500));
    await expandAll(a);
    const after = heapMB();
    write({ figure: { id: 'explorer.heap-growth', value: after - before, unit: 'MB', target: '< 20 MB', note: `extension host heap ${before.toFixed(1)} -> ${after.toFixed(1)} MB over ${cycles} start/kill cycles on ${stopped.length} containers` } });
  } catch (err) {
    write({ name: 'explorer host bench', ok: false, error: err instanceof Error ? err.stack : String(err) });
  } finally {
    write({ done: true });
  }
}
