// The DAP relay and the Python launcher against the real parts: a target with
// only python3 (test/fixtures/python-target/app.py), debugpy loaded into it
// from real sidecars with gdb, the real port forward, and the real debugpy
// DAP server. Failing tests print their DAP trace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { Engine } from '../../../src/engine/engine';
import { resolveEndpoint } from '../../../src/engine/connection';
import { ensureBuiltImage, ImageBuildError } from '../../../src/engine/imageBuild';
import { PortForwardService } from '../../../src/engine/portForward';
import { listSidecars } from '../../../src/engine/sidecars';
import { DapRelay, dapPaths, type DapTarget } from '../../../src/debug/dapRelay';
import { DEBUGPY_IMAGE_SETTING, debugpyImageSpec, startDebugpy, type DebugpyOptions, type DebugpyStart } from '../../../src/debug/debugpy';
import { IMAGES, execIn, removeQuietly, runContainer, testDocker, uniqueName } from '../../helpers/docker';
import { adapterClient, type DapMessages } from '../../helpers/dapMessages';
import { projectRoot } from '../../helpers/paths';

const docker = testDocker();
const engine = new Engine(resolveEndpoint(undefined));
const IMAGES_DIR = path.join(projectRoot, 'images');
const APP_DIR = path.join(projectRoot, 'test/fixtures/python-target');
const APP = path.join(APP_DIR, 'app.py');
/** `total = square + 1` in tick(). */
const LINE = lineOf('total = square + 1');

function lineOf(text: string): number {
  return fs.readFileSync(APP, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;
}

/** The target's processes as its own /proc lists them: pid, state and command line. */
async function targetProcesses(id: string): Promise<{ pid: number; state: string; command: string }[]> {
  const script = [
    'import os',
    'for p in sorted(int(x) for x in os.listdir("/proc") if x.isdigit()):',
    '    try:',
    '        st = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()[0]',
    '        cmd = open("/proc/%d/cmdline" % p, "rb").read().replace(b"\\0", b" ").decode().strip()',
    '        print(p, st, cmd)',
    '    except OSError: pass',
  ].join('\n');
  const r = await execIn(docker, id, ['python3', '-c', script]);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => {
    const [pid, state, ...rest] = l.split(' ');
    return { pid: Number(pid), state, command: rest.join(' ') };
  });
}

/** Sidecars leave through the engine's removal: wait for that state, with a deadline. */
async function noSidecars(target: string): Promise<void> {
  const until = Date.now() + 30_000;
  let left = await listSidecars(engine, { target });
  while (left.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    left = await listSidecars(engine, { target });
  }
  assert.deepEqual(left, [], 'no sidecar is left');
}

/** The service's answer over a port forward: "ticks=N last=M". */
async function serve(forwards: PortForwardService, target: string): Promise<{ ticks: number }> {
  const fwd = await forwards.forward({ target, remotePort: 8000, localPort: 0 });
  try {
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: fwd.localPort, path: '/', timeout: 10_000 }, (res) => {
        let s = '';
        res.on('data', (b: Buffer) => (s += b.toString()));
        res.on('end', () => resolve(s));
      });
      req.on('timeout', () => req.destroy(new Error('the service did not answer within 10 s')));
      req.on('error', reject);
    });
    const m = /ticks=(\d+)/.exec(body);
    assert.ok(m, `the service answered ${JSON.stringify(body)}`);
    return { ticks: Number(m[1]) };
  } finally {
    await forwards.stop(fwd.id);
  }
}

describe('python: debugpy loaded from sidecars, relayed over DAP', () => {
  let image = '';
  let target = '';
  let targetName = '';
  const forwards = new PortForwardService(engine, { image: IMAGES.busybox });
  const started: DebugpyStart[] = [];
  const targets: string[] = [];

  const pyTarget = async () => {
    const c = await runContainer(docker, { name: uniqueName('py-target'), image: IMAGES.python, cmd: ['python3', '/app/app.py'] });
    targets.push(c.id);
    return c.id;
  };
  const dapTarget = (id: string, name: string, extra: Partial<DapTarget['config']> = {}, processId = 1): DapTarget => ({
    containerId: id, containerName: name, processId, image, config: { container: id, ...extra },
  });
  const relayFor = (t: DapTarget, injector: DebugpyOptions = {}) => new DapRelay({
    start: async () => {
      const s = await startDebugpy(t, { engine, forwards }, { ...injector, imagesDir: IMAGES_DIR });
      started.push(s);
      return s;
    },
    paths: dapPaths({ '/app': APP_DIR }, t.containerId, (p) => fs.existsSync(p)),
  });

  /** initialize, attach, a breakpoint at LINE, configurationDone: what VS Code does. */
  const attach = async (dc: DapMessages, bp: DebugProtocol.SourceBreakpoint = { line: LINE }) => {
    const init = await dc.ok<DebugProtocol.InitializeResponse>('initialize', { adapterID: 'sidecar', clientID: 'test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path', supportsRunInTerminalRequest: true });
    const from = dc.events.length;
    const attached = dc.request('attach', { type: 'sidecar', request: 'attach', container: target, debugger: 'python' });
    await dc.waitEvent('initialized', undefined, undefined, from);
    const bps = await dc.ok<DebugProtocol.SetBreakpointsResponse>('setBreakpoints', { source: { path: APP }, breakpoints: [bp] });
    await dc.ok('configurationDone');
    await attached;
    // The first stop may arrive with the attach response: wait from here on.
    return { init, bps, from };
  };

  before(async () => {
    image = await ensureBuiltImage(engine, debugpyImageSpec(IMAGES_DIR, { BASE: IMAGES.debugpy }));
    target = await pyTarget();
    targetName = (await engine.inspect(target)).name;
  });
  after(async () => {
    for (const s of started) await s.dispose().catch(() => undefined);
    await forwards.dispose();
    const left = (await Promise.all(targets.map((t) => listSidecars(engine, { target: t })))).flat();
    await removeQuietly(docker, [...targets, ...left.map((s) => s.id)]);
  });

  let dc: DapMessages;
  let relay: DapRelay;
  let threadId = 0;

  it('stops at a breakpoint set in the workspace copy, with the frame mapped back to it', async () => {
    relay = relayFor(dapTarget(target, targetName));
    dc = adapterClient(relay);
    await dc.traced(async () => {
      const { init, bps, from } = await attach(dc);
      // Stop is a detach unless the configuration asks to terminate.
      assert.equal(init.body?.supportsTerminateRequest, undefined);
      assert.equal(bps.body.breakpoints[0].verified, true);
      const stopped = await dc.waitEvent<DebugProtocol.StoppedEvent>('stopped', (e) => e.body.reason === 'breakpoint', undefined, from);
      threadId = stopped.body.threadId!;
      const top = (await dc.ok<DebugProtocol.StackTraceResponse>('stackTrace', { threadId })).body.stackFrames[0];
      assert.equal(top.name, 'tick');
      assert.equal(top.line, LINE);
      assert.equal(top.source?.path, APP);
      assert.equal(started.at(-1)?.reused, false);
    });
  });

  it('shows the values the program computed, evaluates, and steps a line', () => dc.traced(async () => {
    const top = (await dc.ok<DebugProtocol.StackTraceResponse>('stackTrace', { threadId })).body.stackFrames[0];
    const scopes = (await dc.ok<DebugProtocol.ScopesResponse>('scopes', { frameId: top.id })).body.scopes;
    const locals = (await dc.ok<DebugProtocol.VariablesResponse>('variables', { variablesReference: scopes[0].variablesReference })).body.variables;
    const v = Object.fromEntries(locals.map((x) => [x.name, x.value]));
    const n = Number(v.n);
    assert.ok(n > 0, JSON.stringify(v));
    assert.equal(Number(v.square), n * n);
    const ev = await dc.ok<DebugProtocol.EvaluateResponse>('evaluate', { expression: 'square - n * n + 7', frameId: top.id, context: 'watch' });
    assert.equal(ev.body.result, '7');
    // Clear the breakpoint so the step is not interrupted by the next tick.
    await dc.ok('setBreakpoints', { source: { path: APP }, breakpoints: [] });
    const from = dc.events.length;
    await dc.ok('next', { threadId });
    await dc.waitEvent('stopped', (e: DebugProtocol.StoppedEvent) => e.body.reason === 'step', undefined, from);
    const after = (await dc.ok<DebugProtocol.StackTraceResponse>('stackTrace', { threadId })).body.stackFrames[0];
    assert.equal(after.line, LINE + 1);
    const locals2 = (await dc.ok<DebugProtocol.VariablesResponse>('variables', { variablesReference: (await dc.ok<DebugProtocol.ScopesResponse>('scopes', { frameId: after.id })).body.scopes[0].variablesReference })).body.variables;
    assert.equal(Number(locals2.find((x) => x.name === 'total')?.value), n * n + 1);
    // No container PID reaches the client.
    const proc = dc.events.find((e) => e.event === 'process');
    assert.ok(proc, 'a process event was relayed');
    assert.equal((proc.body as { systemProcessId?: number }).systemProcessId, undefined);
  }));

  it('Stop detaches: the process runs on and serves, no sidecar and no zombie is left', () => dc.traced(async () => {
    // VS Code's Stop on an attach session asks to terminate the debuggee.
    await dc.ok('disconnect', { restart: false, terminateDebuggee: true });
    relay.dispose();
    await started.at(-1)!.dispose();
    const first = await serve(forwards, target);
    const until = Date.now() + 30_000;
    let later = first;
    while (later.ticks <= first.ticks && Date.now() < until) later = await serve(forwards, target);
    assert.ok(later.ticks > first.ticks, `ticks go on: ${first.ticks} -> ${later.ticks}`);
    await noSidecars(target);
    const procs = await targetProcesses(target);
    assert.deepEqual(procs.filter((p) => p.state === 'Z'), [], JSON.stringify(procs));
    assert.equal(procs.find((p) => p.pid === 1)?.command, 'python3 /app/app.py');
  }));

  it('a second attach reuses the loaded debugpy without injecting again; a condition, a hit count and a logpoint', async () => {
    const adaptersBefore = (await targetProcesses(target)).filter((p) => /debugpy\/adapter/.test(p.command));
    assert.equal(adaptersBefore.length, 1);
    relay = relayFor(dapTarget(target, targetName));
    dc = adapterClient(relay);
    await dc.traced(async () => {
      const { from } = await attach(dc, { line: LINE, condition: 'n % 3 == 0' });
      const stopped = await dc.waitEvent<DebugProtocol.StoppedEvent>('stopped', (e) => e.body.reason === 'breakpoint', undefined, from);
      assert.equal(started.at(-1)?.reused, true);
      assert.equal(started.at(-1)?.holderId, undefined);
      const top = (await dc.ok<DebugProtocol.StackTraceResponse>('stackTrace', { threadId: stopped.body.threadId })).body.stackFrames[0];
      const scopes = (await dc.ok<DebugProtocol.ScopesResponse>('scopes', { frameId: top.id })).body.scopes;
      const n = Number((await dc.ok<DebugProtocol.VariablesResponse>('variables', { variablesReference: scopes[0].variablesReference })).body.variables.find((x) => x.name === 'n')?.value);
      assert.equal(n % 3, 0);
      // A hit count: the third time the line runs from here on.
      await dc.ok('setBreakpoints', { source: { path: APP }, breakpoints: [{ line: LINE, hitCondition: '3' }] });
      let from2 = dc.events.length;
      await dc.ok('continue', { threadId: stopped.body.threadId });
      const third = await dc.waitEvent<DebugProtocol.StoppedEvent>('stopped', undefined, undefined, from2);
      const top3 = (await dc.ok<DebugProtocol.StackTraceResponse>('stackTrace', { threadId: third.body.threadId })).body.stackFrames[0];
      const ev3 = await dc.ok<DebugProtocol.EvaluateResponse>('evaluate', { expression: 'n', frameId: top3.id, context: 'watch' });
      assert.equal(Number(ev3.body.result), n + 3);
      // A logpoint logs and does not stop.
      await dc.ok('setBreakpoints', { source: { path: APP }, breakpoints: [{ line: LINE + 1, logMessage: 'total is {total}' }] });
      const logged = dc.waitEvent<DebugProtocol.OutputEvent>('output', (e) => /total is \d+/.test(e.body.output));
      from2 = dc.events.length;
      await dc.ok('continue', { threadId: third.body.threadId });
      await logged;
      assert.equal(dc.events.slice(from2).some((e) => e.event === 'stopped'), false, 'a logpoint does not stop');
      await dc.ok('disconnect', { restart: false, terminateDebuggee: true });
    });
    relay.dispose();
    await started.at(-1)!.dispose();
    const procs = await targetProcesses(target);
    assert.deepEqual(procs.filter((p) => /debugpy\/adapter/.test(p.command)).map((p) => p.pid), adaptersBefore.map((p) => p.pid));
    assert.deepEqual(procs.filter((p) => p.state === 'Z'), []);
    await noSidecars(target);
  });

  describe('bad input gets a sentence naming the problem and the fix', () => {
    const failure = async (t: DapTarget, injector?: DebugpyOptions) => {
      const r = relayFor(t, injector);
      const c = adapterClient(r);
      const init = await c.request('initialize', { adapterID: 'sidecar', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
      r.dispose();
      assert.equal(init.success, false);
      await noSidecars(t.containerId);
      return init.message ?? '';
    };

    it('a process that is not Python', async () => {
      const c = await runContainer(docker, { name: uniqueName('py-notpy'), image: IMAGES.target, cmd: [] });
      targets.push(c.id);
      const msg = await failure(dapTarget(c.id, 'notpy'));
      assert.match(msg, /PID 1 in notpy is not a Python interpreter \(it runs \/app\/target/);
      assert.match(msg, /"debugger": "gdb"/);
    });

    it('ptrace refused (an engine that leaves the injector no capabilities), and the process runs on', async () => {
      const fresh = await pyTarget();
      const msg = await failure(dapTarget(fresh, 'fresh'), { capAdd: [], capDrop: ['ALL'] });
      assert.match(msg, /Attaching to PID 1 in fresh was refused by ptrace/);
      assert.match(msg, /CAP_SYS_PTRACE/);
      assert.equal((await engine.inspect(fresh)).state, 'running');
    });

    it('the port is taken in the target\'s namespace by something else', async () => {
      const msg = await failure(dapTarget(target, targetName, { port: 8000 }));
      assert.match(msg, /Port 8000 on the loopback of .* is already in use by python3 \/app\/app\.py/);
      assert.match(msg, /Set "port"/);
    });

    it('no such PID', async () => {
      const msg = await failure(dapTarget(target, targetName, {}, 4242));
      assert.match(msg, /no process with PID 4242/);
    });

    it('an image build that fails names the step and the setting', async () => {
      await assert.rejects(ensureBuiltImage(engine, debugpyImageSpec(IMAGES_DIR, { BASE: 'container-sidecar-test/no-such-base:0' })), (e: Error) =>
        e instanceof ImageBuildError && /FROM container-sidecar-test\/no-such-base:0/.test(e.message) && e.message.includes(DEBUGPY_IMAGE_SETTING));
    });
  });
});
