// debug.go.attach-to-stop: from the first request to the first breakpoint stop
// in the Go target, through our relay and go launcher (the Go check, the
// delve sidecar, the forward, path mapping), against a plain DAP client that
// starts the same delve sidecar and forward and talks to `dlv dap` directly.
// debug.go.step: median of 50 `next` inside tick(), through the relay against
// the same plain client on delve's server in a second, identical target; the
// two sessions step in turns (the relay's overhead per step).
import fs from 'node:fs';
import path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { PortForwardService } from '../../src/engine/portForward';
import { ensureBuiltImage } from '../../src/engine/imageBuild';
import { DapRelay, dapPaths } from '../../src/debug/dapRelay';
import { delveAttachArguments, delveImageSpec, goLauncher, inferGoSourceFileMap, startDelveSidecar } from '../../src/debug/delve';
import { DapSocket } from '../helpers/dapSocket';
import { RelayClient } from '../helpers/relayClient';
import { projectRoot } from '../helpers/paths';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { median, type Report, timeMs } from './util';

export const ids = ['debug.go.attach-to-stop', 'debug.go.step'];
const MAIN = path.join(projectRoot, 'test/fixtures/go-target/main.go');
/** `s.Origin.X++` in tick(). */
const TICK_LINE = 39;

type Client = Pick<DapSocket, 'request' | 'waitFor'>;

/** initialize, attach, a breakpoint at tick, configurationDone, until stopped. Returns the stopped thread. */
async function attachAndStop(c: Client, attachArgs: Record<string, unknown>, bpPath: string): Promise<number> {
  await c.request('initialize', { adapterID: 'sidecar', clientID: 'bench', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const initialized = c.waitFor('initialized');
  await c.request('attach', attachArgs);
  await initialized;
  await c.request('setBreakpoints', { source: { path: bpPath }, breakpoints: [{ line: TICK_LINE }] });
  const stopped = c.waitFor<DebugProtocol.StoppedEvent>('stopped', (e) => e.body.reason === 'breakpoint');
  await c.request('configurationDone');
  return (await stopped).body.threadId!;
}

/** Runs the functions it is given one at a time, in the order given. */
function serial(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const r = tail.then(fn);
    tail = r.catch(() => undefined);
    return r;
  };
}

/**
 * `next` inside tick(); when a step leaves it, the breakpoint brings it back
 * (not timed). Timed steps run under `lock`, so two sessions stepping at once
 * take turns and each step sees the same machine as the other side's.
 */
async function steps(c: Client, threadId: number, n: number, lock: ReturnType<typeof serial>): Promise<number[]> {
  const times: number[] = [];
  while (times.length < n) {
    const top = (await c.request<DebugProtocol.StackTraceResponse>('stackTrace', { threadId, levels: 1 })).body.stackFrames[0];
    if (top?.name !== 'main.tick') {
      const back = c.waitFor<DebugProtocol.StoppedEvent>('stopped');
      await c.request('continue', { threadId });
      threadId = (await back).body.threadId!;
      continue;
    }
    times.push(await lock(() => timeMs(async () => {
      const s = c.waitFor('stopped');
      await c.request('next', { threadId });
      await s;
    })));
  }
  return times;
}

export async function run(report: Report): Promise<void> {
  const docker = testDocker();
  const engine = new Engine(resolveEndpoint(undefined));
  const forwards = new PortForwardService(engine, { image: IMAGES.busybox });
  const name = uniqueName('bench-go');
  const target = (await runContainer(docker, { name, image: IMAGES.go, cmd: [] })).id;
  // A second target for the baseline's steps: both sessions step at the same time, taking turns.
  const name2 = uniqueName('bench-go-raw');
  const target2 = (await runContainer(docker, { name: name2, image: IMAGES.go, cmd: [] })).id;
  const image = await ensureBuiltImage(engine, delveImageSpec({ buildArgs: { BASE: IMAGES.delve } }));
  const hostPid = (await docker.getContainer(target).inspect()).State.Pid;
  const map = await inferGoSourceFileMap({ engine, containerId: target, hostPid, command: '/app/go-target', folders: [], editorFiles: [MAIN], exists: fs.existsSync });
  if (!map) throw new Error('no source mapping for the Go target');
  const [buildDir, localDir] = Object.entries(map)[0]!;
  const buildPath = MAIN.replace(localDir, buildDir);

  /** One session through the relay; `fn` runs once it has stopped. */
  const ours = async (fn?: (c: Client, threadId: number) => Promise<void>): Promise<number> => {
    const relay = new DapRelay({
      start: () => goLauncher.start({ containerId: target, containerName: name, processId: 1, image, config: { container: name } }, { engine, forwards }),
      paths: dapPaths(map, target, fs.existsSync),
    });
    const c = new RelayClient(relay);
    try {
      let threadId = 0;
      const ms = await timeMs(async () => {
        threadId = await attachAndStop(c, { container: name, processId: 1 }, MAIN);
      });
      await fn?.(c, threadId);
      await c.request('setBreakpoints', { source: { path: MAIN }, breakpoints: [] });
      await c.request('disconnect', { terminateDebuggee: false });
      return ms;
    } finally {
      relay.dispose();
    }
  };

  /** The same session with a plain client on delve's own server: the same sidecar and forward, no relay. */
  const theirs = async (fn?: (c: Client, threadId: number) => Promise<void>, on = target): Promise<number> => {
    let dispose = async () => undefined as void;
    let c: DapSocket | undefined;
    try {
      let threadId = 0;
      const ms = await timeMs(async () => {
        const s = await startDelveSidecar(engine, { target: on, image });
        const f = await forwards.forward({ target: on, remotePort: s.port, localPort: 0 });
        dispose = async () => {
          await forwards.stop(f.id);
          await s.dispose();
        };
        c = await DapSocket.connect(f.localPort);
        threadId = await attachAndStop(c, delveAttachArguments({ pid: 1, substitutePath: [] }), buildPath);
      });
      await fn?.(c!, threadId);
      await c!.request('setBreakpoints', { source: { path: buildPath }, breakpoints: [] });
      await c!.request('disconnect', { terminateDebuggee: false });
      return ms;
    } finally {
      c?.close();
      await dispose();
    }
  };

  try {
    // Warm both paths once, then alternate.
    await ours();
    await theirs();
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 7; i++) {
      a.push(await ours());
      b.push(await theirs());
    }
    report({ id: 'debug.go.attach-to-stop', value: median(a), unit: 'ms', baseline: 'plain DAP client to dlv dap in the same sidecar and forward', baselineValue: median(b), target: '<= 1.3x' });

    // 50 steps each, both sessions open at once and taking turns step by step: this machine's load changes by the second.
    const lock = serial();
    let relaySteps: number[] = [];
    let rawSteps: number[] = [];
    await Promise.all([
      ours(async (c, t) => { relaySteps = await steps(c, t, 50, lock); }),
      theirs(async (c, t) => { rawSteps = await steps(c, t, 50, lock); }, target2),
    ]);
    report({ id: 'debug.go.step', value: median(relaySteps), unit: 'ms', baseline: 'raw next to dlv dap (no relay)', baselineValue: median(rawSteps), target: '<= 1.5x' });
  } finally {
    await forwards.dispose();
    for (const t of [target, target2]) {
      const left = await docker.listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${t}`] } });
      await removeQuietly(docker, [t, ...left.map((c) => c.Id)]);
    }
  }
}
