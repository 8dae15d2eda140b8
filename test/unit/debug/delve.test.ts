// Go targets against the real engine and delve: what a Go executable says
// about itself (read through /proc/<pid>/exe), the substitutePath rules, and
// `dlv dap` in a sidecar driven by a plain DAP client through a port forward.
// The target is test/fixtures/go-target built into a scratch image (no shell).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { Engine } from '../../../src/engine/engine';
import { resolveEndpoint } from '../../../src/engine/connection';
import { LABELS, listSidecars } from '../../../src/engine/sidecars';
import { PortForwardService } from '../../../src/engine/portForward';
import { containerProcesses, flattenProcesses } from '../../../src/procfs/processes';
import { delveAttachArguments, goLauncher, inspectExeInContainer, processExe, DelvePortInUseError, delveImageSpec, explainAttachError, inspectExe, NotGoError, requireGo, startDelveSidecar, type DelveSidecar } from '../../../src/debug/delve';
import { projectFiles, substitutePaths } from '../../../src/debug/goBinary';
import { ensureBuiltImage, ImageBuildError } from '../../../src/engine/imageBuild';
import { DapRelay } from '../../../src/debug/dapRelay';
import { RelayClient } from '../../helpers/relayClient';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../../helpers/docker';
import { DapSocket } from '../../helpers/dapSocket';
import { projectRoot } from '../../helpers/paths';

const docker = testDocker();
const engine = new Engine(resolveEndpoint(undefined));
const fixtures = path.join(projectRoot, 'test/fixtures');
const MAIN = path.join(fixtures, 'go-target/main.go');
/** `s.Origin.X++` in tick(), after value := fib(depth). */
const TICK_LINE = 39;

function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

async function hostPidOf(id: string): Promise<number> {
  return (await docker.getContainer(id).inspect()).State.Pid;
}

/** Process states of everything in the container's pid namespace, from /proc. */
async function processStates(id: string): Promise<string[]> {
  const procs = flattenProcesses(await containerProcesses({ id, pid: await hostPidOf(id) }));
  return procs.map((p) => {
    const stat = fs.readFileSync(`/proc/${p.hostPid}/stat`, 'utf8');
    return `${p.nsPid} ${stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)} ${p.command}`;
  });
}

/** The target's page, fetched from inside its network namespace by a throwaway busybox. */
async function fetchPage(id: string): Promise<string> {
  const c = await runContainer(docker, { name: uniqueName('go-fetch'), image: IMAGES.busybox, cmd: ['wget', '-qO-', 'http://127.0.0.1:7071/'], hostConfig: { NetworkMode: `container:${id}` } });
  try {
    await c.wait();
    // Without a TTY the log comes in frames: an 8-byte header (stream, size), then the bytes.
    const logs = await c.logs({ stdout: true, stderr: true }) as unknown as Buffer;
    let out = '';
    for (let i = 0; i + 8 <= logs.length; i += 8 + logs.readUInt32BE(i + 4)) out += logs.toString('utf8', i + 8, i + 8 + logs.readUInt32BE(i + 4));
    return out;
  } finally {
    await removeQuietly(docker, [c]);
  }
}

describe('Go executables: detection and source paths', () => {
  let goTarget = '';
  let cTarget = '';
  before(async () => {
    goTarget = (await runContainer(docker, { name: uniqueName('go-exe'), image: IMAGES.go, cmd: ['/app/go-target'] })).id;
    cTarget = (await runContainer(docker, { name: uniqueName('c-exe'), image: IMAGES.target, cmd: ['/app/target'] })).id;
  });
  after(() => removeQuietly(docker, [goTarget, cTarget]));

  it('a Go binary in a scratch image: Go, its version and its build paths, read through /proc/<pid>/exe', async () => {
    const info = await inspectExe(await hostPidOf(goTarget));
    assert.ok(info?.go, 'detected as Go');
    assert.match(info.version ?? '', /^go1\.\d+/);
    const own = projectFiles(info.files);
    assert.equal(own.length, 1, own.join(', '));
    assert.match(own[0]!, /\/go-target\/main\.go$/);
    assert.ok(info.files.some((f) => f.endsWith('/src/runtime/proc.go')), 'the runtime is in the file table, and left out of projectFiles');
  });

  it('a C binary and a shell are not Go, and requireGo says so with the fix', async () => {
    const c = await inspectExe(await hostPidOf(cTarget));
    assert.deepEqual(c, { elf: true, go: false, files: [] });
    assert.throws(() => requireGo(c, { pid: 1, command: '/app/target', container: 'web' }),
      (e: Error) => e instanceof NotGoError && /PID 1 \(\/app\/target\) in container web is not a Go program: its executable is a program built by another compiler\. Pick the Go process/.test(e.message));
    const script = await inspectExe(process.pid);
    assert.equal(script?.go, false, 'node is not Go');
    assert.throws(() => requireGo({ elf: false, go: false, files: [] }, { pid: 7, command: 'python3 app.py', container: 'api' }), /is not a Go program: its executable is not an ELF executable/);
    // Unreadable (not root): delve decides, nothing is refused here.
    assert.doesNotThrow(() => requireGo(undefined, { pid: 1, command: '', container: 'x' }));
  });

  it('substitutePath: sourceFileMap first, then editor files and workspace folders by their common tail', () => {
    const files = ['/build/repo/svc/main.go', '/build/repo/svc/util/u.go', '/usr/lib/go-1.19/src/runtime/proc.go', '/usr/lib/go-1.19/src/fmt/print.go', '/root/go/pkg/mod/x@v1/x.go'];
    assert.deepEqual(projectFiles(files), ['/build/repo/svc/main.go', '/build/repo/svc/util/u.go']);
    assert.deepEqual(substitutePaths({ binaryFiles: files, editorFiles: ['/home/me/code/svc/util/u.go'] }), [{ from: '/home/me/code', to: '/build/repo' }]);
    const ws = new Set(['/ws/svc/main.go', '/ws2/main.go']);
    assert.deepEqual(substitutePaths({ binaryFiles: files, folders: ['/ws', '/ws2', '/empty'], exists: (p) => ws.has(p) }),
      [{ from: '/ws2', to: '/build/repo/svc' }, { from: '/ws', to: '/build/repo' }]);
    assert.deepEqual(substitutePaths({ sourceFileMap: { '/build/repo/': '/src/repo/' }, binaryFiles: files, folders: ['/ws'], exists: (p) => ws.has(p) }),
      [{ from: '/src/repo', to: '/build/repo' }], 'a folder inferred for the build prefix the user mapped is not added');
    assert.deepEqual(substitutePaths({ binaryFiles: files, editorFiles: ['/x/other.go'], folders: [] }), []);
  });

  it('without /proc (not root, a remote engine): the executable named by the command line is fetched from the container by the engine', async () => {
    const go = await inspectExeInContainer(engine, goTarget, '/app/go-target --flag');
    assert.equal(go?.go, true);
    assert.deepEqual(go?.files, (await inspectExe(await hostPidOf(goTarget)))?.files, 'the same file table as through /proc');
    assert.deepEqual(await inspectExeInContainer(engine, cTarget, '/app/target'), { elf: true, go: false, files: [] });
    assert.equal(await inspectExeInContainer(engine, goTarget, 'go-target'), undefined, 'a relative name cannot be told');
    assert.equal(await inspectExeInContainer(engine, goTarget, '/no/such/file'), undefined);
    assert.equal((await processExe({ engine, containerId: goTarget, hostPid: 0, command: '/app/go-target' }))?.go, true);
  });

  it('the go launcher refuses a process that is not Go, or no process, before any sidecar starts', async () => {
    const forwards = new PortForwardService(engine, { image: IMAGES.busybox });
    const c = await docker.getContainer(cTarget).inspect();
    const start = (id: string, name: string, pid: number) => goLauncher.start(
      { containerId: id, containerName: name, processId: pid, image: IMAGES.delve, config: { container: name } },
      { engine, forwards },
    );
    await assert.rejects(start(cTarget, c.Name.slice(1), 1), (e: Error) => e instanceof NotGoError && /PID 1 \(\/app\/target\) in container c-exe-\S+ is not a Go program/.test(e.message));
    await assert.rejects(start(goTarget, 'go-exe', 4242), /There is no process with PID 4242 in container go-exe-\S+\. Pick a process/);
    assert.deepEqual([...await listSidecars(engine, { target: cTarget }), ...await listSidecars(engine, { target: goTarget })], []);
    await forwards.dispose();
  });

  it('delve\'s attach refusals become sentences', () => {
    assert.match(explainAttachError('could not attach to pid 1: operation not permitted', { pid: 1, container: 'web' }) ?? '', /delve may not trace PID 1 in container web: ptrace was refused .*CAP_SYS_PTRACE/);
    assert.match(explainAttachError('could not attach to pid 9: no such process', { pid: 9, container: 'web' }) ?? '', /PID 9 does not run in container web/);
    // delve's words for a stripped executable (busybox), as checked against delve 1.20.
    assert.match(explainAttachError('Failed to attach: could not attach to pid 1: could not open debug info - debuggee must not be built with \'go run\' or -ldflags=\'-s -w\', which strip debug info', { pid: 1, container: 'web' }) ?? '',
      /PID 1 in container web cannot be debugged by delve: .*could not open debug info.*delve needs a Go program that keeps its debug information .* use "debugger": "gdb"\.$/);
    assert.equal(explainAttachError('something else', { pid: 1, container: 'web' }), undefined);
  });
});

describe('dlv dap in a sidecar, driven by a plain DAP client', () => {
  let target = '';
  let targetName = '';
  let image = '';
  const forwards = new PortForwardService(engine, { image: IMAGES.busybox });
  const sidecars: DelveSidecar[] = [];
  const clients: DapSocket[] = [];

  before(async () => {
    targetName = uniqueName('go-dap');
    target = (await runContainer(docker, { name: targetName, image: IMAGES.go, cmd: ['/app/go-target'] })).id;
    // No registry here: the shipped Dockerfile on the local delve image skips its install step.
    image = await ensureBuiltImage(engine, delveImageSpec({ buildArgs: { BASE: IMAGES.delve } }));
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const s of sidecars) await s.dispose().catch(() => undefined);
    await forwards.dispose();
    await removeQuietly(docker, [target]);
  });

  async function connect(s: DelveSidecar): Promise<DapSocket> {
    const f = await forwards.forward({ target, remotePort: s.port, localPort: 0 });
    const dap = await DapSocket.connect(f.localPort);
    clients.push(dap);
    await dap.request('initialize', { adapterID: 'go', clientID: 'test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    return dap;
  }

  const traced = async (dap: DapSocket | undefined, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      if (dap) console.error(`DAP trace:\n${dap.trace.join('\n')}`);
      throw err;
    }
  };

  it('attaches by the container\'s PID, stops at a breakpoint in the workspace copy, shows computed values, steps, and detaches leaving the service running', async () => {
    const s = await startDelveSidecar(engine, { target, image });
    sidecars.push(s);
    const info = await docker.getContainer(s.id).inspect();
    assert.equal(info.HostConfig.PidMode, `container:${target}`);
    assert.equal(info.HostConfig.NetworkMode, `container:${target}`);
    assert.deepEqual(info.HostConfig.CapAdd, ['SYS_PTRACE']);
    // No Init: the engine runs none in a shared pid namespace; dlv leaves no child behind (checked below: no zombie).
    assert.equal(info.Config.Labels[LABELS.role], 'delve');
    assert.equal(info.Config.Labels[LABELS.target], target);

    const exe = await inspectExe(await hostPidOf(target));
    const rules = substitutePaths({ binaryFiles: exe!.files, folders: [fixtures], exists: fs.existsSync });
    assert.equal(rules.length, 1);
    assert.equal(rules[0]!.from, fixtures);
    const dap = await connect(s);
    await traced(dap, async () => {
      const initialized = dap.waitFor('initialized');
      await dap.request('attach', { request: 'attach', ...delveAttachArguments({ pid: 1, substitutePath: rules }) });
      await initialized;
      const bp = await dap.request<DebugProtocol.SetBreakpointsResponse>('setBreakpoints', { source: { path: MAIN }, breakpoints: [{ line: TICK_LINE }] });
      assert.equal(bp.body.breakpoints[0]?.verified, true, JSON.stringify(bp.body));
      const stopped = dap.waitFor<DebugProtocol.StoppedEvent>('stopped', (e) => e.body.reason === 'breakpoint');
      await dap.request('configurationDone');
      const threadId = (await stopped).body.threadId!;

      const threads = await dap.request<DebugProtocol.ThreadsResponse>('threads');
      assert.ok(threads.body.threads.length >= 2, 'goroutines are threads');
      const frames = (await dap.request<DebugProtocol.StackTraceResponse>('stackTrace', { threadId, levels: 5 })).body.stackFrames;
      assert.equal(frames[0]?.name, 'main.tick');
      assert.equal(frames[0]?.line, TICK_LINE);
      assert.equal(frames[0]?.source?.path, MAIN, 'the frame shows the workspace copy');
      const scopes = (await dap.request<DebugProtocol.ScopesResponse>('scopes', { frameId: frames[0]!.id })).body.scopes;
      const vars = new Map<string, string>();
      for (const sc of scopes) {
        for (const v of (await dap.request<DebugProtocol.VariablesResponse>('variables', { variablesReference: sc.variablesReference })).body.variables) vars.set(v.name, v.value);
      }
      const depth = Number(vars.get('depth'));
      assert.ok(depth >= 1 && depth <= 10, `depth ${vars.get('depth')}`);
      assert.equal(Number(vars.get('value')), fib(depth), `value = fib(depth): ${[...vars].join(', ')}`);
      const counter = await dap.request<DebugProtocol.EvaluateResponse>('evaluate', { expression: 's.Counter', frameId: frames[0]!.id, context: 'watch' });
      assert.equal((Number(counter.body.result) % 10) + 1, depth, 'depth was computed from s.Counter');
      const label = await dap.request<DebugProtocol.EvaluateResponse>('evaluate', { expression: 's.Label', frameId: frames[0]!.id, context: 'watch' });
      assert.equal(label.body.result, '"go-target"');

      const stepped = dap.waitFor<DebugProtocol.StoppedEvent>('stopped', (e) => e.body.reason === 'step');
      await dap.request('next', { threadId });
      await stepped;
      const after = (await dap.request<DebugProtocol.StackTraceResponse>('stackTrace', { threadId, levels: 1 })).body.stackFrames[0];
      assert.equal(after?.line, TICK_LINE + 1, 'next moved one line');

      await dap.request('setBreakpoints', { source: { path: MAIN }, breakpoints: [] });
      const detaching = dap.waitFor<DebugProtocol.OutputEvent>('output', (e) => /Detaching without terminating target process/.test(e.body.output));
      await dap.request('disconnect', { terminateDebuggee: false });
      await detaching;
    });
    await s.ended;
    // dlv exits after the session; AutoRemove takes the sidecar.
    for (const deadline = Date.now() + 15_000; (await listSidecars(engine, { target })).some((x) => x.role === 'delve') && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual((await listSidecars(engine, { target })).filter((x) => x.role === 'delve'), [], 'no delve sidecar is left');
    assert.equal((await docker.getContainer(target).inspect()).State.Running, true);
    const before = await fetchPage(target);
    assert.match(before, /^go-target counter \d+/);
    // Still counting: the loop runs on after the detach.
    const n = Number(/counter (\d+)/.exec(before)![1]);
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      const now = Number(/counter (\d+)/.exec(await fetchPage(target))?.[1]);
      if (now > n) break;
      assert.ok(Date.now() < deadline - 100, 'the counter moves on after the detach');
    }
    assert.deepEqual((await processStates(target)).filter((p) => / Z /.test(p)), [], 'no zombie in the target\'s pid namespace');
  });

  it('a port already in use in the target\'s network namespace is named, with the fix', async () => {
    // The target itself listens on 7071.
    await assert.rejects(startDelveSidecar(engine, { target, image, port: 7071 }),
      (e: Error) => e instanceof DelvePortInUseError && new RegExp(`Port 7071 is already in use in the network namespace of container ${targetName}.*Set "port"`).test(e.message));
    assert.deepEqual((await listSidecars(engine, { target })).filter((x) => x.role === 'delve'), [], 'the failed sidecar is removed');
  });

  it('ptrace denied (another debugger holds the process): the relay answers attach with the sentence', async () => {
    const first = await startDelveSidecar(engine, { target, image });
    sidecars.push(first);
    const a = await connect(first);
    const relay = new DapRelay({ start: () => goLauncher.start({ containerId: target, containerName: targetName, processId: 1, image, config: { container: targetName } }, { engine, forwards }) });
    const b = new RelayClient(relay);
    await traced(a, async () => {
      await a.request('attach', { request: 'attach', ...delveAttachArguments({ pid: 1, substitutePath: [] }) });
      await b.request('initialize', { adapterID: 'sidecar', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
      // The first delve holds the default port: the second moves on to the next one.
      await assert.rejects(b.request('attach', { container: targetName, processId: 1 }),
        new RegExp(`delve may not trace PID 1 in container ${targetName}: ptrace was refused \\(.*operation not permitted.*\\)\\. The delve sidecar needs CAP_SYS_PTRACE`));
      relay.dispose();
      await a.request('disconnect', { terminateDebuggee: false });
      await first.ended;
    });
    const delves = async () => (await listSidecars(engine, { target, role: 'delve' })).map((x) => x.name);
    for (const deadline = Date.now() + 15_000; (await delves()).length && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await delves(), [], 'both delve sidecars are gone');
    assert.equal((await docker.getContainer(target).inspect()).State.Running, true);
  });

  it('a delve image that cannot be built names the step, the engine\'s error and the setting', async () => {
    await assert.rejects(startDelveSidecar(engine, { target, buildArgs: { BASE: 'container-sidecar-test/no-such-base:1' } }),
      (e: Error) => e instanceof ImageBuildError && /Building the image container-sidecar\/delve:\w+ failed at step "FROM container-sidecar-test\/no-such-base:1": .*set sidecar\.debugger\.delveImage to an image/.test(e.message));
    assert.deepEqual((await listSidecars(engine, { target })).filter((x) => x.role === 'delve'), []);
  });
});
