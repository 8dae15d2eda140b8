// debug.python.attach-to-stop: from the relay's `initialize` to the first
// breakpoint stop in a fresh python target (holder and injector sidecars,
// debugpy loaded with gdb, port forward, relay), against the same debugpy
// attach done by hand: `docker run` of the holder, then one `docker run` in
// the target's namespaces that runs debugpy's --pid injection and a plain DAP
// client there (test/bench/dapClient.py). Both sides get a fresh target.
// debug.python.step: median of 50 `next` inside tick() through the relay and
// the forward, against the plain client talking to the same debugpy server in
// the target's namespace.
import fs from 'node:fs';
import path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { ensureBuiltImage } from '../../src/engine/imageBuild';
import { PortForwardService } from '../../src/engine/portForward';
import { listSidecars } from '../../src/engine/sidecars';
import { DapRelay, dapPaths, type DapTarget } from '../../src/debug/dapRelay';
import { debugpyImageSpec, startDebugpy } from '../../src/debug/debugpy';
import { adapterClient, type DapMessages } from '../helpers/dapMessages';
import { projectRoot } from '../helpers/paths';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { exec, median, type Report, timeMs } from './util';

export const ids = ['debug.python.attach-to-stop', 'debug.python.step'];

const APP_DIR = path.join(projectRoot, 'test/fixtures/python-target');
const APP = path.join(APP_DIR, 'app.py');
const CLIENT = fs.readFileSync(path.join(projectRoot, 'test/bench/dapClient.py'), 'utf8');
const lines = fs.readFileSync(APP, 'utf8').split('\n');
const SQUARE = lines.findIndex((l) => l.includes('square = n * n')) + 1;
const TOTAL = SQUARE + 1;

const docker = testDocker();
const engine = new Engine(resolveEndpoint(undefined));

/** A relay session up to the first stop at `line`; the caller ends it. */
async function relaySession(forwards: PortForwardService, image: string, id: string, line: number): Promise<{ dc: DapMessages; relay: DapRelay; threadId: number; end: () => Promise<void> }> {
  const t: DapTarget = { containerId: id, containerName: id.slice(0, 12), processId: 1, image, config: { container: id } };
  let server: Awaited<ReturnType<typeof startDebugpy>> | undefined;
  const relay = new DapRelay({
    start: async () => (server = await startDebugpy(t, { engine, forwards }, { imagesDir: path.join(projectRoot, 'images') })),
    paths: dapPaths({ '/app': APP_DIR }, id, (p) => fs.existsSync(p)),
  });
  const dc = adapterClient(relay);
  await dc.ok('initialize', { adapterID: 'sidecar', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const attached = dc.request('attach', {});
  await dc.waitEvent('initialized');
  await dc.ok('setBreakpoints', { source: { path: APP }, breakpoints: [{ line }] });
  const from = dc.events.length;
  await dc.ok('configurationDone');
  await attached;
  const stopped = await dc.waitEvent<DebugProtocol.StoppedEvent>('stopped', undefined, undefined, from);
  return {
    dc, relay, threadId: stopped.body.threadId!,
    end: async () => {
      await dc.ok('setBreakpoints', { source: { path: APP }, breakpoints: [] });
      await dc.ok('disconnect', { terminateDebuggee: false });
      relay.dispose();
      await server?.dispose();
    },
  };
}

/** The attach by hand: holder, then injection and a plain client in the target's namespaces. */
async function byHand(image: string, id: string): Promise<void> {
  const holder = uniqueName('bench-py-holder');
  await exec('docker', ['run', '-d', '--rm', '--name', holder, `--pid=container:${id}`, '--network', 'none', '--cap-drop', 'ALL', image, 'python3', '-c', 'import signal; signal.pause()', holder]);
  try {
    const script = [
      // $HOLDER comes from the environment, so this script's own command line does not match.
      'H=$(for p in /proc/[0-9]*; do tr \'\\0\' \' \' < $p/cmdline 2>/dev/null | grep -q "$HOLDER" && basename $p; done | head -1)',
      'mkdir -p /tmp/bin && printf \'#!/bin/sh\\nexec /usr/bin/gdb -iex "set sysroot /proc/1/root" "$@"\\n\' > /tmp/bin/gdb && chmod +x /tmp/bin/gdb',
      'PATH=/tmp/bin:$PATH python3 /proc/$H/root/usr/lib/python3/dist-packages/debugpy --listen 127.0.0.1:5678 --pid 1 >/dev/null 2>&1',
      `python3 -c "$CLIENT" attach 5678 /app/app.py ${TOTAL}`,
    ].join('\n');
    await exec('docker', ['run', '--rm', `--pid=container:${id}`, `--network=container:${id}`, '--cap-add', 'SYS_PTRACE', '-e', `CLIENT=${CLIENT}`, '-e', `HOLDER=${holder}`, image, 'sh', '-c', script]);
  } finally {
    await exec('docker', ['rm', '-f', holder]).catch(() => undefined);
  }
}

async function relaySteps(forwards: PortForwardService, image: string, id: string, n: number): Promise<number[]> {
  const s = await relaySession(forwards, image, id, SQUARE);
  const times: number[] = [];
  let threadId = s.threadId;
  try {
    while (times.length < n) {
      const top = (await s.dc.ok<DebugProtocol.StackTraceResponse>('stackTrace', { threadId, levels: 1 })).body.stackFrames[0];
      if (top.name !== 'tick' || top.line > SQUARE + 2) {
        const from = s.dc.events.length;
        await s.dc.ok('continue', { threadId });
        threadId = (await s.dc.waitEvent<DebugProtocol.StoppedEvent>('stopped', undefined, undefined, from)).body.threadId!;
        continue;
      }
      times.push(await timeMs(async () => {
        const from = s.dc.events.length;
        await s.dc.ok('next', { threadId });
        await s.dc.waitEvent('stopped', undefined, undefined, from);
      }));
    }
    return times;
  } finally {
    await s.end();
  }
}

async function rawSteps(image: string, id: string, n: number): Promise<number[]> {
  const out = await exec('docker', ['run', '--rm', `--network=container:${id}`, image, 'python3', '-c', CLIENT, 'steps', '5678', '/app/app.py', String(SQUARE), String(n)]);
  return JSON.parse(out.trim().split('\n').at(-1)!) as number[];
}

export async function run(report: Report): Promise<void> {
  const image = await ensureBuiltImage(engine, debugpyImageSpec(path.join(projectRoot, 'images'), { BASE: IMAGES.debugpy }));
  const forwards = new PortForwardService(engine, { image: IMAGES.busybox });
  const targets: string[] = [];
  const fresh = async () => {
    const c = await runContainer(docker, { name: uniqueName('bench-py'), image: IMAGES.python, cmd: ['python3', '/app/app.py'] });
    targets.push(c.id);
    return c.id;
  };
  try {
    const ours: number[] = [];
    const theirs: number[] = [];
    // Warm both paths once, then alternate; every round on a fresh target (debugpy is loaded once per process).
    for (let i = 0; i < 4; i++) {
      const a = await fresh();
      const b = await fresh();
      const o = await timeMs(async () => (await relaySession(forwards, image, a, TOTAL)).end());
      const t = await timeMs(() => byHand(image, b));
      if (i > 0) {
        ours.push(o);
        theirs.push(t);
      }
      await removeQuietly(docker, [a, b]);
    }
    report({ id: 'debug.python.attach-to-stop', value: median(ours), unit: 'ms', baseline: 'holder + debugpy --pid injection by hand, plain DAP client in the target\'s namespace', baselineValue: median(theirs), target: '<= 1.3x' });

    const target = await fresh();
    // Load debugpy once; both sides then talk to the same server.
    await (await relaySession(forwards, image, target, TOTAL)).end();
    const dap = await relaySteps(forwards, image, target, 50);
    const raw = await rawSteps(image, target, 50);
    report({ id: 'debug.python.step', value: median(dap), unit: 'ms', baseline: 'the same next sent by a plain DAP client to debugpy in the target\'s namespace', baselineValue: median(raw), target: '<= 1.5x' });
  } finally {
    await forwards.dispose();
    const left = (await Promise.all(targets.map((t) => listSidecars(engine, { target: t })))).flat();
    await removeQuietly(docker, [...targets, ...left.map((s) => s.id)]);
  }
}
