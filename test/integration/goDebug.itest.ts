// Go in the real extension host: a static Go binary alone in a scratch image,
// debugged through delve's own DAP server in a sidecar and our relay. The
// debugger is picked by reading the executable; the breakpoint is set in the
// workspace copy of the source (the binary records the build machine's
// paths); Stop detaches and the service runs on and serves.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { eventually, type HostTest } from '../helpers/hostRunner';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';

const EXTENSION_ID = 'container-sidecar.container-sidecar';
const FIXTURES = path.join(projectRoot, 'test/fixtures');
const MAIN = vscode.Uri.file(path.join(FIXTURES, 'go-target/main.go'));
/** `s.Origin.X++` in tick(), 1-based. */
const TICK_LINE = 39;

function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

async function ourSidecars(target: string): Promise<string[]> {
  const list = await testDocker().listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${target}`] } });
  return list.map((c) => `${c.Labels['io.container-sidecar.role']} ${c.Id.slice(0, 12)}`);
}

/** The target's page, fetched inside its network namespace by a throwaway busybox. */
async function fetchPage(id: string): Promise<string> {
  const docker = testDocker();
  const c = await runContainer(docker, { name: uniqueName('it-go-fetch'), image: IMAGES.busybox, cmd: ['wget', '-qO-', 'http://127.0.0.1:7071/'], hostConfig: { NetworkMode: `container:${id}` } });
  try {
    await c.wait();
    const logs = await c.logs({ stdout: true, stderr: true }) as unknown as Buffer;
    let out = '';
    for (let i = 0; i + 8 <= logs.length; i += 8 + logs.readUInt32BE(i + 4)) out += logs.toString('utf8', i + 8, i + 8 + logs.readUInt32BE(i + 4));
    return out;
  } finally {
    await removeQuietly(docker, [c]);
  }
}

/** Zombies among the processes of the container's pid namespace (host /proc, by cgroup). */
async function zombies(id: string): Promise<string[]> {
  const pid = (await testDocker().getContainer(id).inspect()).State.Pid;
  const ns = fs.readlinkSync(`/proc/${pid}/ns/pid`);
  const out: string[] = [];
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readlinkSync(`/proc/${p}/ns/pid`) !== ns) continue;
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') out.push(stat);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Stopped events of sidecar sessions, as VS Code receives them from the adapter. */
function trackStops(): { next(pred?: (e: DebugProtocol.StoppedEvent) => boolean): Promise<DebugProtocol.StoppedEvent>; dispose(): void } {
  const trace: string[] = [];
  const waiters: { pred: (e: DebugProtocol.StoppedEvent) => boolean; resolve: (e: DebugProtocol.StoppedEvent) => void }[] = [];
  const sub = vscode.debug.registerDebugAdapterTrackerFactory('sidecar', {
    createDebugAdapterTracker: () => ({
      onWillReceiveMessage: (m: DebugProtocol.ProtocolMessage) => trace.push(`-> ${JSON.stringify(m).slice(0, 400)}`),
      onDidSendMessage: (m: DebugProtocol.ProtocolMessage) => {
        trace.push(`<- ${JSON.stringify(m).slice(0, 400)}`);
        if (m.type !== 'event' || (m as DebugProtocol.Event).event !== 'stopped') return;
        const e = m as DebugProtocol.StoppedEvent;
        for (const w of waiters.splice(0)) {
          if (w.pred(e)) w.resolve(e);
          else waiters.push(w);
        }
      },
    }),
  });
  return {
    next: (pred = () => true) => new Promise<DebugProtocol.StoppedEvent>((resolve, reject) => {
      // The first stop includes starting delve's sidecar and the forward: generous on a loaded machine.
      const timer = setTimeout(() => reject(new Error(`no stopped event within 90 s; DAP trace:\n${trace.join('\n')}`)), 90_000);
      waiters.push({ pred, resolve: (e) => { clearTimeout(timer); resolve(e); } });
    }),
    dispose: () => sub.dispose(),
  };
}

async function withGoTarget(fn: (id: string, name: string) => Promise<void>, binds: string[] = []): Promise<void> {
  await vscode.extensions.getExtension(EXTENSION_ID)!.activate();
  const docker = testDocker();
  const name = uniqueName('it-go-target');
  const t = await runContainer(docker, { name, image: IMAGES.go, cmd: [], hostConfig: { NetworkMode: 'none', Binds: binds } });
  // The user's setting (a launch.json `image` would ask for consent): the local delve image has dlv.
  const cfg = vscode.workspace.getConfiguration('sidecar.debugger');
  await cfg.update('delveImage', IMAGES.delve, vscode.ConfigurationTarget.Global);
  // The forward of delve's port runs nc in a tunnel sidecar: the local busybox.
  const ports = vscode.workspace.getConfiguration('sidecar.ports');
  await ports.update('tunnelImage', IMAGES.busybox, vscode.ConfigurationTarget.Global);
  try {
    await fn(t.id, name);
  } finally {
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    if (vscode.debug.activeDebugSession) await vscode.debug.stopDebugging();
    await cfg.update('delveImage', undefined, vscode.ConfigurationTarget.Global);
    await ports.update('tunnelImage', undefined, vscode.ConfigurationTarget.Global);
    const left = await testDocker().listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${t.id}`] } });
    await removeQuietly(docker, [t.id, ...left.map((c) => c.Id)]);
  }
}

/** Stops the session as the Stop button does, then checks what the container holds afterwards. */
async function stopAndCheck(session: vscode.DebugSession, id: string): Promise<void> {
  const ended = new Promise<void>((r) => vscode.debug.onDidTerminateDebugSession((s) => s.id === session.id && r()));
  void vscode.commands.executeCommand('workbench.action.debug.stop');
  await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the session did not end within 30 s')), 30_000))]);
  await eventually(async () => (await ourSidecars(id)).length === 0, 'the delve sidecar and the tunnel to be removed', 20_000);
  assert.equal((await testDocker().getContainer(id).inspect()).State.Running, true, 'the target runs on after Stop');
  const first = Number(/counter (\d+)/.exec(await fetchPage(id))?.[1]);
  assert.ok(Number.isInteger(first), 'the service still serves');
  await eventually(async () => Number(/counter (\d+)/.exec(await fetchPage(id))?.[1]) > first, 'the counter to move on after Stop', 15_000);
  assert.deepEqual(await zombies(id), [], 'no zombie in the target\'s pid namespace');
}

export const goDebugTests: HostTest[] = [
  {
    name: 'go: a sidecar configuration without "debugger" picks delve for the Go binary; the breakpoint in the workspace copy is hit; variables hold computed values; next moves a line; Stop detaches and the service serves on',
    fn: () => withGoTarget(async (id, name) => {
      vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(MAIN, new vscode.Position(TICK_LINE - 1, 0)))]);
      const stops = trackStops();
      try {
        const started = new Promise<vscode.DebugSession>((r) => vscode.debug.onDidStartDebugSession(r));
        const hit = stops.next((e) => e.body.reason === 'breakpoint');
        assert.equal(await vscode.debug.startDebugging(undefined, { type: 'sidecar', request: 'attach', name: 'itest go attach', container: name, processId: 1 }), true);
        const session = await started;
        assert.equal(session.configuration.debugger, 'go', 'picked by reading /proc/<pid>/exe');
        const threadId = (await hit).body.threadId!;
        const threads = (await session.customRequest('threads')) as DebugProtocol.ThreadsResponse['body'];
        assert.ok(threads.threads.length >= 2, 'goroutines show as threads');
        const frames = ((await session.customRequest('stackTrace', { threadId, levels: 3 })) as DebugProtocol.StackTraceResponse['body']).stackFrames;
        assert.equal(frames[0]?.name, 'main.tick');
        assert.equal(frames[0]?.line, TICK_LINE);
        const p = frames[0]?.source?.path ?? '';
        assert.equal(p.includes('://') ? vscode.Uri.parse(p).path : p, MAIN.fsPath, 'the frame is the workspace copy');
        await eventually(() => vscode.window.activeTextEditor?.document.uri.fsPath === MAIN.fsPath && vscode.window.activeTextEditor.selection.active.line === TICK_LINE - 1, 'the editor to show main.go at the breakpoint');
        const scopes = ((await session.customRequest('scopes', { frameId: frames[0]!.id })) as DebugProtocol.ScopesResponse['body']).scopes;
        const vars = new Map<string, string>();
        for (const sc of scopes) {
          const body = (await session.customRequest('variables', { variablesReference: sc.variablesReference })) as DebugProtocol.VariablesResponse['body'];
          for (const v of body.variables) vars.set(v.name, v.value);
        }
        const depth = Number(vars.get('depth'));
        assert.ok(depth >= 1 && depth <= 10, [...vars].join(', '));
        assert.equal(Number(vars.get('value')), fib(depth), `value = fib(depth): ${[...vars].join(', ')}`);
        const stepped = stops.next((e) => e.body.reason === 'step');
        await session.customRequest('next', { threadId });
        await stepped;
        const after = ((await session.customRequest('stackTrace', { threadId, levels: 1 })) as DebugProtocol.StackTraceResponse['body']).stackFrames[0];
        assert.equal(after?.line, TICK_LINE + 1, 'next moved one line');
        vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
        await stopAndCheck(session, id);
      } finally {
        stops.dispose();
      }
    }),
  },
  {
    name: 'go: "Debug this process" on the Go process row attaches delve and hits the breakpoint',
    fn: () => withGoTarget(async (id, name) => {
      vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(MAIN, new vscode.Position(TICK_LINE - 1, 0)))]);
      const stops = trackStops();
      try {
        const started = new Promise<vscode.DebugSession>((r) => vscode.debug.onDidStartDebugSession(r));
        const hit = stops.next((e) => e.body.reason === 'breakpoint');
        const hostPid = (await testDocker().getContainer(id).inspect()).State.Pid;
        // What the Containers view hands the command for a process row.
        assert.equal(await vscode.commands.executeCommand('sidecar.debugger.debugProcess', { containerId: id, process: { hostPid, nsPid: 1, command: '/app/go-target' } }), true);
        const session = await started;
        assert.equal(session.configuration.container, name);
        assert.equal(session.configuration.debugger, 'go');
        const threadId = (await hit).body.threadId!;
        const top = ((await session.customRequest('stackTrace', { threadId, levels: 1 })) as DebugProtocol.StackTraceResponse['body']).stackFrames[0];
        assert.equal(top?.name, 'main.tick');
        vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
        await stopAndCheck(session, id);
      } finally {
        stops.dispose();
      }
    }),
  },
  {
    name: 'go: "Attach Debugger Container" on main.go finds the container that mounts it and its Go process, attaches delve in one step and hits the breakpoint set in the file',
    fn: () => withGoTarget(async (id, name) => {
      await vscode.window.showTextDocument(MAIN);
      assert.equal(vscode.window.activeTextEditor?.document.languageId, 'go');
      vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(MAIN, new vscode.Position(TICK_LINE - 1, 0)))]);
      const stops = trackStops();
      try {
        const started = new Promise<vscode.DebugSession>((r) => vscode.debug.onDidStartDebugSession(r));
        const hit = stops.next((e) => e.body.reason === 'breakpoint');
        assert.equal(await vscode.commands.executeCommand('sidecar.debugger.attachFile', MAIN), true, 'attached without a question');
        const session = await started;
        assert.equal(session.configuration.container, name);
        assert.equal(session.configuration.processId, 1);
        assert.equal(session.configuration.debugger, 'go');
        const threadId = (await hit).body.threadId!;
        const top = ((await session.customRequest('stackTrace', { threadId, levels: 1 })) as DebugProtocol.StackTraceResponse['body']).stackFrames[0];
        assert.equal(top?.name, 'main.tick');
        assert.equal(top?.line, TICK_LINE);
        vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
        await stopAndCheck(session, id);
      } finally {
        stops.dispose();
      }
    // The source folder is mounted, as a development container would: that is how the file's container is found.
    }, [`${path.join(FIXTURES, 'go-target')}:/src:ro`]),
  },
];
