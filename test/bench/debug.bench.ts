// debug.attach-to-stop: from the DAP attach request to the first stopped event
// (stopOnAttach), against `docker run --rm --pid=container:X --cap-add
// SYS_PTRACE <gdb image> gdb -batch -p 1` through the CLI.
// debug.step: median time of a DAP `next` until `stopped` over 100 steps,
// against a raw MI -exec-next to gdb in a sidecar (the adapter's overhead).
import path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { startGdbSidecar } from '../../src/debug/gdbSidecar';
import { Gdb, type StopInfo } from '../../src/debug/mi/gdb';
import { TracedClient } from '../helpers/dap';
import { projectRoot } from '../helpers/paths';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { exec, median, type Report, timeMs } from './util';

export const ids = ['debug.attach-to-stop', 'debug.step'];
const SRC = path.join(projectRoot, 'test/fixtures/target.c');

async function attachToStop(target: string): Promise<number> {
  const dc = new TracedClient();
  await dc.start();
  await dc.initializeRequest({ adapterID: 'sidecar', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  try {
    return await timeMs(async () => {
      const stopped = dc.waitForEvent('stopped');
      const initialized = dc.waitForEvent('initialized');
      await dc.attachRequest({ container: target, processId: 1, image: IMAGES.gdb, stopOnAttach: true } as DebugProtocol.AttachRequestArguments);
      await initialized;
      await dc.configurationDoneRequest();
      await stopped;
    });
  } finally {
    await dc.stop();
  }
}

/** `next` steps inside tick(); when a step leaves it, the tick breakpoint brings us back (not timed: the target sleeps 200 ms per round). */
async function dapSteps(target: string, n: number): Promise<number[]> {
  const dc = new TracedClient();
  await dc.start();
  await dc.initializeRequest({ adapterID: 'sidecar', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const times: number[] = [];
  try {
    const initialized = dc.waitForEvent('initialized');
    await dc.attachRequest({ container: target, processId: 1, image: IMAGES.gdb, sourceFileMap: { '/src': path.dirname(SRC) } } as DebugProtocol.AttachRequestArguments);
    await initialized;
    await dc.send('setFunctionBreakpoints', { breakpoints: [{ name: 'tick' }] });
    let stop = dc.waitFor<DebugProtocol.StoppedEvent>('stopped');
    await dc.configurationDoneRequest();
    let threadId = (await stop).body.threadId!;
    while (times.length < n) {
      const top = (await dc.stackTraceRequest({ threadId, levels: 1 })).body.stackFrames[0];
      if (top.name !== 'tick') {
        stop = dc.waitFor('stopped');
        await dc.continueRequest({ threadId });
        threadId = (await stop).body.threadId!;
        continue;
      }
      times.push(await timeMs(async () => {
        const s = dc.waitFor('stopped');
        await dc.nextRequest({ threadId });
        await s;
      }));
    }
    return times;
  } finally {
    await dc.stop();
  }
}

async function miSteps(engine: Engine, target: string, n: number): Promise<number[]> {
  const sidecar = await startGdbSidecar(engine, { target, image: IMAGES.gdb });
  const gdb = new Gdb(sidecar.mi);
  const next = () => new Promise<StopInfo>((r) => gdb.once('stopped', r));
  const times: number[] = [];
  try {
    await gdb.attach(1);
    const bp = await gdb.insertBreakpoint({ location: 'tick' });
    let s = next();
    await gdb.continue();
    await s;
    while (times.length < n) {
      const [top] = await gdb.frames(1, 0, 0);
      if (top.func !== 'tick') {
        s = next();
        await gdb.continue();
        await s;
        continue;
      }
      times.push(await timeMs(async () => {
        const st = next();
        await gdb.next(1);
        await st;
      }));
    }
    await gdb.deleteBreakpoints([bp.number]);
    await gdb.detach();
    await gdb.exit();
    return times;
  } finally {
    await sidecar.dispose();
  }
}

export async function run(report: Report): Promise<void> {
  const docker = testDocker();
  const engine = new Engine(resolveEndpoint(undefined));
  const target = (await runContainer(docker, { name: uniqueName('bench-dbg'), image: IMAGES.target, cmd: [] })).id;
  try {
    // Warm both paths once, then alternate.
    await attachToStop(target);
    const cli = () => exec('docker', ['run', '--rm', `--pid=container:${target}`, '--cap-add', 'SYS_PTRACE', '--network', 'none', IMAGES.gdb, 'gdb', '-batch', '-p', '1']);
    await cli();
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < 7; i++) {
      ours.push(await attachToStop(target));
      theirs.push(await timeMs(cli));
    }
    report({ id: 'debug.attach-to-stop', value: median(ours), unit: 'ms', baseline: 'docker run --rm --pid=container:X --cap-add SYS_PTRACE <gdb image> gdb -batch -p 1', baselineValue: median(theirs), target: '<= 1.5x' });

    const dap = await dapSteps(target, 100);
    const mi = await miSteps(engine, target, 100);
    report({ id: 'debug.step', value: median(dap), unit: 'ms', baseline: 'raw MI -exec-next to gdb in a sidecar (no DAP)', baselineValue: median(mi), target: '<= 2.0x' });
  } finally {
    await removeQuietly(docker, [target]);
  }
}
