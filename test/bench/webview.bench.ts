// The webviews' figures, in code-server's real extension host with the page
// drawn by Chromium (test/bench/webviewHost), with 200 containers on the engine:
// - webview.map.200: from Show Namespace Map to the page's first complete
//   render, against the Containers view's own first render (cold model load
//   and its top-level items) of the same 200. Target <= 2x.
// - webview.map.update: from a container's start call to the map having drawn
//   it running, against the Containers view firing its item as running in the
//   same run. Target <= 1.2x.
// - webview.details.cpu: extension host CPU while a details panel streams
//   stats (and samples processes) for 60 s, as % of one core. Target < 2 %.
import type Docker from 'dockerode';
import path from 'node:path';
import { IMAGES, testDocker } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';
import { runInExtensionHost } from '../helpers/workbench';
import type { Figure, Report } from './util';

export const ids = ['webview.map.200', 'webview.map.update', 'webview.details.cpu'];

const LABEL = 'bench-webview';

export async function run(report: Report): Promise<void> {
  const docker = testDocker();
  const existing = await docker.listContainers({ all: true });
  const runningNow = existing.filter((c) => c.State === 'running').length;
  const created: Docker.Container[] = [];
  try {
    const toCreate = Math.max(0, 200 - existing.length);
    const toRun = Math.max(0, Math.min(toCreate, 100 - runningNow));
    let i = 0;
    await Promise.all(Array.from({ length: 6 }, async () => {
      while (i < toCreate) {
        const k = i++;
        const c = await docker.createContainer({ Image: IMAGES.busybox, Cmd: ['sleep', '3600'], Labels: { 'io.container-sidecar.test': LABEL }, HostConfig: { NetworkMode: 'none' }, StopTimeout: 1 });
        created.push(c);
        if (k < toRun) await c.start();
      }
    }));
    // Stopped ones for the update figure, and a CPU-busy one for the details figure.
    for (let k = 0; k < 10; k++) created.push(await docker.createContainer({ Image: IMAGES.busybox, Cmd: ['sleep', '3600'], Labels: { 'io.container-sidecar.test': LABEL }, HostConfig: { NetworkMode: 'none' }, StopTimeout: 1 }));
    const busy = await docker.createContainer({ Image: IMAGES.busybox, Cmd: ['sh', '-c', 'while :; do :; done'], Labels: { 'io.container-sidecar.test': `${LABEL}-busy` }, HostConfig: { NetworkMode: 'none' } });
    created.push(busy);
    await busy.start();
    const results = (await runInExtensionHost(path.join(projectRoot, 'out/test/bench/webviewHost'), { timeoutMs: 10 * 60_000, env: { SIDECAR_BENCH_LABEL: LABEL } })) as unknown as { figure?: Figure & { note?: string }; ok?: boolean; error?: string }[];
    for (const line of results) {
      if (line.figure) {
        if (line.figure.note) console.log(`  ${line.figure.note}`);
        report({ id: line.figure.id, value: line.figure.value, unit: line.figure.unit, baseline: line.figure.baseline, baselineValue: line.figure.baselineValue, target: line.figure.target });
      } else if (line.ok === false) {
        throw new Error(`webview bench failed in the extension host: ${line.error}`);
      }
    }
  } finally {
    let j = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (j < created.length) await created[j++].remove({ force: true }).catch(() => undefined);
    }));
  }
}
