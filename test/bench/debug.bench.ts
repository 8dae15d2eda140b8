// debug.attach-to-stop: from the DAP attach request to the first stopped event
// (stopOnAttach), against `docker run --rm --pid=container:X --cap-add
// SYS_PTRACE <gdb image> gdb -batch -p 1` through the CLI.
// debug.step: median time of a DAP `next` until `stopped` over 100 steps,
// against a raw MI -exec-next to gdb in a sidecar (the adapter's overhead).
// debug.image-build: first-use build of the shipped gdb Dockerfile from the
// local gdb base, against the same build with the docker CLI (legacy builder).
// debug.node.attach-to-stop: from startDebugging to the first breakpoint stop
// in a node container, against VS Code's plain node attach through the same
// kind of forward (test/bench/node, in a PID namespace of its own).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { gdbImageSpec, startGdbSidecar } from '../../src/debug/gdbSidecar';
import { ensureBuiltImage } from '../../src/engine/imageBuild';
import { Gdb, type StopInfo } from '../../src/debug/mi/gdb';
import { TracedClient } from '../helpers/dap';
import { projectRoot } from '../helpers/paths';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { exec, type Figure, median, type Report, sideBySide, timeMs } from './util';
import { runInExtensionHost } from '../helpers/workbench';

export const ids = ['debug.attach-to-stop', 'debug.step', 'debug.image-build', 'debug.node.attach-to-stop'];
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

export async function run(report: Report, wanted: (id: string) => boolean = () => true): Promise<void> {
  const engine = new Engine(resolveEndpoint(undefined));
  if (wanted('debug.attach-to-stop') || wanted('debug.step')) await gdbAttach(report, engine);
  if (wanted('debug.image-build')) await imageBuild(report, engine);
  if (wanted('debug.node.attach-to-stop')) await nodeAttachToStop(report);
}

async function gdbAttach(report: Report, engine: Engine): Promise<void> {
  const docker = testDocker();
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

/**
 * debug.node.attach-to-stop: in code-server's extension host, run as PID 1 of
 * its own PID namespace (the baseline hands the debuggee's PID to js-debug).
 */
async function nodeAttachToStop(report: Report): Promise<void> {
  const results = (await runInExtensionHost(path.join(projectRoot, 'out/test/bench/node'), { pidNamespace: true, logName: 'code-server-bench-node', timeoutMs: 10 * 60_000 })) as unknown as { figure?: Figure; ok?: boolean; error?: string }[];
  for (const line of results) {
    if (line.figure) report(line.figure);
    else if (line.ok === false) throw new Error(`extension host bench failed: ${line.error}`);
  }
}

/**
 * A first use builds without the engine's cache, so each round builds a temp
 * copy of the Dockerfile with a label of its own after FROM: the RUN step
 * then misses the cache like it does on a user's machine.
 */
export async function imageBuild(report: Report, engine: Engine): Promise<void> {
  const docker = testDocker();
  const spec = gdbImageSpec({ buildArgs: { BASE: IMAGES.gdb } });
  const text = fs.readFileSync(path.join(spec.dir, 'Dockerfile'), 'utf8');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-image-build-'));
  const tags: string[] = [];
  const copy = () => {
    const name = uniqueName('bench-gdb');
    const dir = fs.mkdtempSync(path.join(tmp, 'ctx-'));
    fs.writeFileSync(path.join(dir, 'Dockerfile'), text.replace(/^(FROM .*)$/m, `$1\nLABEL io.container-sidecar.bench=${name}`));
    return { dir, repository: `container-sidecar-test/${name}` };
  };
  try {
    const { ours, theirs } = await sideBySide(3, async () => {
      const c = copy();
      tags.push(await ensureBuiltImage(engine, { ...spec, ...c }));
    }, async () => {
      const c = copy();
      tags.push(`${c.repository}:cli`);
      await exec('env', ['DOCKER_BUILDKIT=0', 'docker', 'build', '-q', '--build-arg', `BASE=${IMAGES.gdb}`, '-t', `${c.repository}:cli`, c.dir]);
    });
    report({ id: 'debug.image-build', value: ours, unit: 'ms', baseline: 'DOCKER_BUILDKIT=0 docker build of the same Dockerfile', baselineValue: theirs, target: 'a figure (first use only)' });
  } finally {
    for (const t of tags) await docker.getImage(t).remove().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
