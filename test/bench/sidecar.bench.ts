// sidecar.attach: from the service call until the sidecar's shell is ready
// (its prompt arrived over the attach stream), against
// `docker run --rm --pid=container:X --network=container:X <same image> sh -c :`.
// sidecar.cycles.*: 100 attach/detach cycles, then leftover containers, and
// the growth of this process's open file descriptors and heap.
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { DEFAULT_PROFILES, profileSpec } from '../../src/engine/profiles';
import { listSidecars } from '../../src/engine/sidecars';
import { SidecarTerminalSession } from '../../src/engine/terminalSession';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { exec, median, type Report, timeMs } from './util';

export const ids = ['sidecar.attach', 'sidecar.attach.roundtrip', 'sidecar.cycles.orphans', 'sidecar.cycles.fd-growth', 'sidecar.cycles.heap-growth'];

const CYCLES = 100;

/** Opens a sidecar shell and resolves once its prompt has arrived. */
async function attachReady(engine: Engine, target: string): Promise<SidecarTerminalSession> {
  const s = await SidecarTerminalSession.open(engine, profileSpec({ ...DEFAULT_PROFILES[0], image: IMAGES.busybox }, target));
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      // busybox ash follows its prompt with a cursor-position query (ESC [6n).
      if (s.transcript.endsWith('# ') || s.transcript.endsWith('# \u001b[6n')) {
        sub.dispose();
        endSub.dispose();
        resolve();
      }
    };
    const sub = s.onData(check);
    const endSub = s.onEnd((e) => reject(new Error(`the sidecar ended before its prompt: ${e.kind}`)));
    check();
  });
  return s;
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

function collect(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
}

export async function run(report: Report): Promise<void> {
  const docker = testDocker();
  const engine = new Engine(resolveEndpoint(undefined));
  const target = await runContainer(docker, { name: uniqueName('bench-sc-target'), image: IMAGES.target, cmd: ['/app/target'] });
  try {
    // Interleaved like sideBySide, but the detach after each attach runs outside the measured span.
    const ours: number[] = [];
    const theirs: number[] = [];
    const cli = () => exec('docker', ['run', '--rm', `--pid=container:${target.id}`, `--network=container:${target.id}`, IMAGES.busybox, 'sh', '-c', ':']);
    await (await attachReady(engine, target.id)).close();
    await cli();
    const roundTrip: number[] = [];
    for (let i = 0; i < 15; i++) {
      let s: SidecarTerminalSession | undefined;
      const t0 = process.hrtime.bigint();
      ours.push(await timeMs(async () => (s = await attachReady(engine, target.id))));
      await s!.close();
      roundTrip.push(Number(process.hrtime.bigint() - t0) / 1e6);
      theirs.push(await timeMs(cli));
    }
    const r = { ours: median(ours), theirs: median(theirs) };
    // Also attach plus detach (removed), since the CLI's span includes its container's removal.
    report({ id: 'sidecar.attach.roundtrip', value: median(roundTrip), unit: 'ms', baseline: 'docker run --rm --pid/--network=container:X busybox sh -c :', baselineValue: r.theirs });
    report({ id: 'sidecar.attach', value: r.ours, unit: 'ms', baseline: 'docker run --rm --pid/--network=container:X busybox sh -c :', baselineValue: r.theirs, target: '<= 1.2x' });

    // Warm up once so lazily created clients and caches are not counted as growth.
    await (await attachReady(engine, target.id)).close();
    collect();
    const fd0 = openFds();
    const heap0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < CYCLES; i++) {
      const s = await attachReady(engine, target.id);
      s.write('ps\n');
      await s.close();
    }
    // Sockets of finished requests close asynchronously; give them a moment before counting.
    await new Promise((res) => setTimeout(res, 1000));
    collect();
    const leftovers = (await listSidecars(engine, { target: target.id })).length;
    report({ id: 'sidecar.cycles.orphans', value: leftovers, unit: 'containers', target: '0' });
    report({ id: 'sidecar.cycles.fd-growth', value: openFds() - fd0, unit: 'fds', target: `~0 after ${CYCLES} cycles` });
    report({ id: 'sidecar.cycles.heap-growth', value: (process.memoryUsage().heapUsed - heap0) / (1024 * 1024), unit: 'MB', target: `~0 after ${CYCLES} cycles` });
  } finally {
    await removeQuietly(docker, [target]);
  }
}
