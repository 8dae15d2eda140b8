// The bundled debug adapter driven by DebugClient over DAP, against the real
// shell-less target (static -g C binary) in a real container, with gdb in a
// real sidecar. Each failing test prints its DAP trace.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { TracedClient } from '../../helpers/dap';
import { projectRoot } from '../../helpers/paths';
import { IMAGES, execIn, readFileFromArchive, removeQuietly, runContainer, testDocker, uniqueName } from '../../helpers/docker';
import type { SidecarAttachArguments } from '../../../src/debug/config';

const SRC = path.join(projectRoot, 'test/fixtures/target.c');
const docker = testDocker();

export function attachArgs(container: string, extra: Partial<SidecarAttachArguments> = {}): SidecarAttachArguments {
  return { container, processId: 1, image: IMAGES.gdb, sourceFileMap: { '/src': path.dirname(SRC) }, ...extra };
}

/** initialize, attach, breakpoints, configurationDone: what VS Code does. */
export async function startSession(dc: TracedClient, args: SidecarAttachArguments, setup: () => Promise<unknown> = async () => undefined): Promise<void> {
  await dc.start();
  await dc.initializeRequest({ adapterID: 'sidecar', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const initialized = dc.waitForEvent('initialized');
  await dc.attachRequest(args as DebugProtocol.AttachRequestArguments);
  await initialized;
  await setup();
  await dc.configurationDoneRequest();
}

async function readCounter(id: string): Promise<number> {
  return Number((await readFileFromArchive(docker, id, '/tmp/counter')).trim());
}

async function gdbSidecars(target: string): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: ['io.container-sidecar.role=gdb', `io.container-sidecar.target=${target}`] } });
  return list.map((c) => c.Id);
}

const stopped = (dc: TracedClient, reason?: string) => dc.waitFor<DebugProtocol.StoppedEvent>('stopped', (e) => !reason || e.body.reason === reason);

describe('debug adapter over DAP: gdb in a sidecar of the shell-less target', () => {
  let target = '';
  const dc = new TracedClient();
  let threadId = 1;

  before(async () => {
    target = (await runContainer(docker, { name: uniqueName('dap-target'), image: IMAGES.target, cmd: [] })).id;
  });
  after(async () => {
    await dc.stop().catch(() => undefined);
    await removeQuietly(docker, [target, ...(await gdbSidecars(target))]);
  });

  it('attaches; a breakpoint is verified and hit at the right line of the mapped source', () => dc.traced(async () => {
    let bps: DebugProtocol.SetBreakpointsResponse | undefined;
    await startSession(dc, attachArgs(target), async () => {
      // Only on the round whose factorial recursion is deepest (depth 5).
      bps = await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: 30, condition: 's->counter % 5 == 4' }] });
    });
    assert.equal(bps!.body.breakpoints.length, 1);
    assert.equal(bps!.body.breakpoints[0].verified, true);
    assert.equal(bps!.body.breakpoints[0].line, 30);
    const ev = await stopped(dc, 'breakpoint');
    threadId = ev.body.threadId!;
    const st = await dc.stackTraceRequest({ threadId });
    const top = st.body.stackFrames[0];
    assert.equal(top.name, 'tick');
    assert.equal(top.line, 30);
    assert.equal(top.source?.path, SRC);
  }));

  it('shows locals, arguments and the nested struct, expandable', () => dc.traced(async () => {
    const st = await dc.stackTraceRequest({ threadId });
    const scopes = (await dc.scopesRequest({ frameId: st.body.stackFrames[0].id })).body.scopes;
    assert.deepEqual(scopes.map((s) => s.name), ['Locals', 'Arguments', 'Registers']);
    const locals = (await dc.variablesRequest({ variablesReference: scopes[0].variablesReference })).body.variables;
    assert.deepEqual(locals.map((v) => v.name), ['depth', 'value']);
    assert.equal(locals[0].value, '5');
    const args = (await dc.variablesRequest({ variablesReference: scopes[1].variablesReference })).body.variables;
    assert.equal(args[0].name, 's');
    assert.match(args[0].value, /^0x[0-9a-f]+ <global_state>$/);
    // A pointer to a struct expands straight to the fields it points at.
    const fields = (await dc.variablesRequest({ variablesReference: args[0].variablesReference })).body.variables;
    assert.deepEqual(fields.map((f) => f.name), ['counter', 'origin', 'history', 'label']);
    assert.equal(Number(fields[0].value) % 5, 4, 'the breakpoint condition held');
    assert.match(fields[1].value, /^\{x = \d+, y = \d+\}$/);
    assert.match(fields[3].value, /^"target"/);
    const origin = (await dc.variablesRequest({ variablesReference: fields[1].variablesReference })).body.variables;
    assert.deepEqual(origin.map((f) => f.name), ['x', 'y']);
    const history = (await dc.variablesRequest({ variablesReference: fields[2].variablesReference })).body.variables;
    assert.deepEqual(history.map((f) => f.name), ['0', '1', '2', '3']);
    const regs = (await dc.variablesRequest({ variablesReference: scopes[2].variablesReference })).body.variables;
    assert.ok(regs.some((r) => r.name === 'rip'), 'registers include rip');
  }));

  it('evaluates for watch, hover and the console; an MI error is shown and the session carries on', () => dc.traced(async () => {
    const frameId = (await dc.stackTraceRequest({ threadId })).body.stackFrames[0].id;
    const label = await dc.evaluateRequest({ expression: 's->label', frameId, context: 'watch' });
    assert.match(label.body.result, /"target"/);
    const sum = await dc.evaluateRequest({ expression: 'depth * 10', frameId, context: 'hover' });
    assert.equal(sum.body.result, '50');
    const g = await dc.evaluateRequest({ expression: 'global_state', frameId, context: 'repl' });
    assert.ok(g.body.variablesReference > 0, 'a struct is expandable in the console');
    await assert.rejects(dc.evaluateRequest({ expression: 'nosuchvar', frameId, context: 'repl' }), /No symbol "nosuchvar" in current context/);
    const cli = await dc.evaluateRequest({ expression: '-exec info line factorial', frameId, context: 'repl' });
    assert.match(cli.body.result, /Line 23 of "\/src\/target.c"/);
    assert.equal((await dc.evaluateRequest({ expression: 'depth', frameId, context: 'watch' })).body.result, '5');
  }));

  it('steps in, shows the recursion, steps out and steps over', () => dc.traced(async () => {
    let s = stopped(dc, 'step');
    await dc.stepInRequest({ threadId });
    await s;
    let frames = (await dc.stackTraceRequest({ threadId })).body.stackFrames;
    assert.deepEqual([frames[0].name, frames[0].line], ['factorial', 24]);
    // Into the recursion: factorial(1) is four calls deeper.
    const bp = await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: 24, condition: 'n == 1' }] });
    assert.equal(bp.body.breakpoints[0].verified, true);
    s = stopped(dc, 'breakpoint');
    await dc.continueRequest({ threadId });
    await s;
    frames = (await dc.stackTraceRequest({ threadId })).body.stackFrames;
    assert.deepEqual(frames.map((f) => `${f.name}:${f.line}`), ['factorial:24', 'factorial:25', 'factorial:25', 'factorial:25', 'factorial:25', 'tick:30', 'main:57']);
    const n = async (level: number) => {
      const scopes = (await dc.scopesRequest({ frameId: frames[level].id })).body.scopes;
      return (await dc.variablesRequest({ variablesReference: scopes[1].variablesReference })).body.variables[0].value;
    };
    assert.deepEqual([await n(0), await n(1), await n(4)], ['1', '2', '5']);
    await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [] });
    await dc.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [] });
    for (let i = 0; i < 5; i++) {
      s = stopped(dc, 'step');
      await dc.stepOutRequest({ threadId });
      await s;
    }
    frames = (await dc.stackTraceRequest({ threadId })).body.stackFrames;
    assert.deepEqual([frames[0].name, frames[0].line], ['tick', 30]);
    s = stopped(dc, 'step');
    await dc.nextRequest({ threadId });
    await s;
    frames = (await dc.stackTraceRequest({ threadId })).body.stackFrames;
    assert.deepEqual([frames[0].name, frames[0].line], ['tick', 31]);
    const value = await dc.evaluateRequest({ expression: 'value', frameId: frames[0].id, context: 'watch' });
    assert.equal(value.body.result, '120');
    // Set a local from the Variables view; the program sees the new value.
    const scopes = (await dc.scopesRequest({ frameId: frames[0].id })).body.scopes;
    const set = await dc.setVariableRequest({ variablesReference: scopes[0].variablesReference, name: 'value', value: '7' });
    assert.equal(set.body.value, '7');
    assert.equal((await dc.evaluateRequest({ expression: 'value * 2', frameId: frames[0].id, context: 'watch' })).body.result, '14');
  }));

  it('sets a function breakpoint with a hit count while running, pauses and continues', () => dc.traced(async () => {
    await dc.continueRequest({ threadId });
    const fb = await dc.send('setFunctionBreakpoints', { breakpoints: [{ name: 'tick', hitCondition: '3' }] }) as DebugProtocol.SetFunctionBreakpointsResponse;
    assert.equal(fb.body.breakpoints[0].verified, true);
    assert.equal(fb.body.breakpoints[0].line, 29);
    const hit = await stopped(dc, 'breakpoint');
    assert.deepEqual(hit.body.hitBreakpointIds, [fb.body.breakpoints[0].id]);
    await dc.send('setFunctionBreakpoints', { breakpoints: [] });
    await dc.continueRequest({ threadId });
    const s = stopped(dc, 'pause');
    await dc.pauseRequest({ threadId });
    await s;
    const th = await dc.threadsRequest();
    assert.equal(th.body.threads.length, 1);
    assert.match(th.body.threads[0].name, /target/);
    // A gdb error on a step goes to the Debug Console, and the session carries on.
    const said = dc.waitFor<DebugProtocol.OutputEvent>('output', (e) => /^gdb: .*99.* \(next\)/.test(e.body.output));
    await assert.rejects(dc.nextRequest({ threadId: 99 }));
    await said;
    await dc.continueRequest({ threadId });
  }));

  it('disconnect detaches: the target keeps counting and no sidecar is left', () => dc.traced(async () => {
    await dc.disconnectRequest({ terminateDebuggee: false });
    const a = await readCounter(target);
    await new Promise((r) => setTimeout(r, 800));
    assert.ok((await readCounter(target)) > a, 'the target still counts');
    assert.deepEqual(await gdbSidecars(target), []);
    assert.equal((await docker.getContainer(target).inspect()).State.Running, true);
  }));
});

describe('debug adapter over DAP: bad input gets a clear message', () => {
  let target = '';
  let stoppedTarget = '';
  let sleeper = '';
  const clients: TracedClient[] = [];
  const client = () => {
    const c = new TracedClient();
    clients.push(c);
    return c;
  };

  before(async () => {
    target = (await runContainer(docker, { name: uniqueName('dap-bad'), image: IMAGES.target, cmd: [] })).id;
    const st = await runContainer(docker, { name: uniqueName('dap-stopped'), image: IMAGES.busybox, cmd: ['true'] });
    await st.wait();
    stoppedTarget = st.id;
    sleeper = (await runContainer(docker, { name: uniqueName('dap-sleeper'), image: IMAGES.busybox, cmd: ['sh', '-c', 'sleep 1000 & while true; do sleep 1; done'] })).id;
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.stop().catch(() => undefined);
  });
  after(async () => {
    const left = [...await gdbSidecars(target), ...await gdbSidecars(stoppedTarget), ...await gdbSidecars(sleeper)];
    await removeQuietly(docker, [target, stoppedTarget, sleeper, ...left]);
    assert.deepEqual(left, [], 'no failed attach leaves a sidecar');
  });

  const attachFails = async (args: SidecarAttachArguments, expected: RegExp) => {
    const dc = client();
    await dc.traced(async () => {
      await dc.start();
      await dc.initializeRequest();
      await assert.rejects(dc.attachRequest(args as DebugProtocol.AttachRequestArguments), expected);
    });
  };

  it('no such container', () => attachFails(attachArgs('no-such-container-xyz'), /Container no-such-container-xyz does not exist/));

  it('the container is stopped', () => attachFails(attachArgs(stoppedTarget), /is exited, not running; start it/));

  it('no such process', () => attachFails(attachArgs(target, { processId: 4242 }), /There is no process with PID 4242 in container dap-bad/));

  it('no process matches a name, and several do', async () => {
    await attachFails(attachArgs(sleeper, { processId: undefined, processName: 'nginx' }), /No process in dap-sleeper-\S+ matches "nginx". Its processes: 1 sh -c/);
    await attachFails(attachArgs(sleeper, { processId: undefined, processName: 'sleep' }), /Several processes in dap-sleeper-\S+ match "sleep"/);
  });

  it('the gdb image is missing and the pull fails', () => attachFails(attachArgs(target, { image: 'container-sidecar-test/no-such-gdb:1' }),
    /Image container-sidecar-test\/no-such-gdb:1 is not available locally and pulling it failed: .*sidecar\.debugger\.gdbImage/));

  it('ptrace denied: the process is already traced by another debugger', async () => {
    const first = client();
    await first.traced(() => startSession(first, attachArgs(target)));
    await attachFails(attachArgs(target), /ptrace was denied: PID 1 in container dap-bad-\S+ is already traced by process \d+ \(another debugger\)\. Detach that debugger/);
  });

  it('terminate (only when asked) ends the debugged process, not the container', async () => {
    const dc = client();
    await dc.traced(async () => {
      await startSession(dc, attachArgs(sleeper, { processId: undefined, processName: '^sleep 1000' }));
      const terminated = dc.waitForEvent('terminated');
      await dc.send('terminate', {});
      await terminated;
      const ps = await execIn(docker, sleeper, ['ps', '-o', 'args']);
      assert.doesNotMatch(ps.stdout, /^sleep 1000$/m);
      assert.equal((await docker.getContainer(sleeper).inspect()).State.Running, true);
      assert.deepEqual(await gdbSidecars(sleeper), []);
    });
    // Give the next test its process back.
    await execIn(docker, sleeper, ['sh', '-c', 'sleep 1000 >/dev/null 2>&1 &']);
  });

  it('the process exits while attached: the session ends cleanly', async () => {
    const dc = client();
    await dc.traced(async () => {
      await startSession(dc, attachArgs(sleeper, { processId: undefined, processName: '^sleep 1000' }));
      const pid = (await execIn(docker, sleeper, ['pidof', 'sleep'])).stdout.trim().split(/\s+/);
      const signalled = stopped(dc, 'exception');
      const out = await execIn(docker, sleeper, ['sh', '-c', 'kill -TERM $(ps -o pid,args | grep "sleep 1000" | grep -v grep | cut -c1-6)']);
      assert.equal(out.exitCode, 0, `${out.stderr} (pids ${pid.join(' ')})`);
      const ev = await signalled;
      assert.match(ev.body.text ?? '', /SIGTERM/);
      const exited = dc.waitFor<DebugProtocol.ExitedEvent>('exited');
      const terminated = dc.waitForEvent('terminated');
      await dc.continueRequest({ threadId: ev.body.threadId! });
      await exited;
      await terminated;
      assert.deepEqual(await gdbSidecars(sleeper), []);
    });
  });
});

describe('debug adapter over DAP: sources without a sourceFileMap', () => {
  let target = '';
  const dc = new TracedClient();
  before(async () => {
    target = (await runContainer(docker, { name: uniqueName('dap-unmapped'), image: IMAGES.target, cmd: [] })).id;
  });
  after(async () => {
    await dc.stop().catch(() => undefined);
    await removeQuietly(docker, [target, ...(await gdbSidecars(target))]);
  });

  it('shows the container copy (container: scheme) for a build path that exists there, and no source for libc', () => dc.traced(async () => {
    const onEntry = stopped(dc, 'entry');
    await startSession(dc, { container: target, processId: 1, image: IMAGES.gdb, stopOnAttach: true });
    const entry = await onEntry;
    let frames = (await dc.stackTraceRequest({ threadId: entry.body.threadId! })).body.stackFrames;
    // Attached inside nanosleep: the static libc has no debug information.
    assert.equal(frames[0].source, undefined);
    assert.equal(frames[0].presentationHint, 'subtle');
    const fb = await dc.send('setFunctionBreakpoints', { breakpoints: [{ name: 'tick' }] }) as DebugProtocol.SetFunctionBreakpointsResponse;
    assert.equal(fb.body.breakpoints[0].source?.path, `container://${target}/src/target.c`);
    const s = stopped(dc, 'breakpoint');
    await dc.continueRequest({ threadId: entry.body.threadId! });
    await s;
    frames = (await dc.stackTraceRequest({ threadId: entry.body.threadId! })).body.stackFrames;
    assert.equal(frames[0].source?.path, `container://${target}/src/target.c`);
    assert.equal(frames[0].line, 29);
  }));
});

describe('debug adapter over DAP: as a non-root user in the docker group', () => {
  let target = '';
  let dc: TracedClient | undefined;
  before(async () => {
    target = (await runContainer(docker, { name: uniqueName('dap-nonroot'), image: IMAGES.target, cmd: [] })).id;
  });
  after(async () => {
    await dc?.stop().catch(() => undefined);
    await removeQuietly(docker, [target, ...(await gdbSidecars(target))]);
  });

  it('attaches and stops at a breakpoint with no access to /proc/<pid>/root (everything goes through the Engine API)', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('creating the test user needs root');
    const users = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/users.mjs')).href)) as { ensureTestUser(): { uid: number } };
    const { uid } = users.ensureTestUser();
    const gid = Number(spawnSync('getent', ['group', 'docker'], { encoding: 'utf8' }).stdout.split(':')[2]);
    dc = new TracedClient({ HOME: '/home/sidecar-dev', USER: 'sidecar-dev' }, { uid, gid });
    const client = dc;
    await client.traced(async () => {
      const hit = stopped(client, 'breakpoint');
      let bp: DebugProtocol.SetBreakpointsResponse | undefined;
      await startSession(client, attachArgs(target), async () => {
        bp = await client.setBreakpointsRequest({ source: { path: SRC }, breakpoints: [{ line: 24 }] });
      });
      assert.equal(bp!.body.breakpoints[0].verified, true);
      const ev = await hit;
      const top = (await client.stackTraceRequest({ threadId: ev.body.threadId! })).body.stackFrames[0];
      assert.deepEqual([top.name, top.line, top.source?.path], ['factorial', 24, SRC]);
      await client.disconnectRequest({});
      assert.deepEqual(await gdbSidecars(target), []);
    });
  });
});
