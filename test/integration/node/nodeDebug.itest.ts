// Node.js attach in the real extension host, which runs inside a PID namespace
// of its own (nodeDebug.test.ts starts it so; these tests refuse to run
// otherwise). Canary processes, children of the namespace's PID 1, must survive
// every way a user can end a session, and no terminateProcess.sh may run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { eventually, type HostTest } from '../../helpers/hostRunner';
import { execIn, IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../../helpers/docker';
import { projectRoot } from '../../helpers/paths';

const EXTENSION_ID = 'container-sidecar.container-sidecar';
const NODE_IMAGE = process.env.SIDECAR_IMAGE_NODE ?? 'container-sidecar-test/node:1';
const APP = path.join(projectRoot, 'test/fixtures/node-target/app.js');

/** This host must run in a PID namespace whose PID 1 is code-server, or nothing here may run. */
function assertOwnPidNamespace(): void {
  const init = fs.readFileSync('/proc/1/cmdline', 'utf8');
  if (!init.includes('code-server')) throw new Error(`refusing to run: PID 1 here is "${init.replace(/\0/g, ' ')}", not code-server in a PID namespace of its own`);
}

let strace: ChildProcess | undefined;
/** Sessions this file started and VS Code has not reported ended yet. */
const live = new Set<string>();
vscode.debug.onDidStartDebugSession((s) => live.add(s.id));
vscode.debug.onDidTerminateDebugSession((s) => live.delete(s.id));
const canaries: number[] = [];
let target: { id: string; name: string } | undefined;

/** `setsid sleep` whose shell exits at once, so its parent becomes the namespace's PID 1. */
function startCanary(): number {
  const r = spawnSync('sh', ['-c', 'setsid sleep 100000 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' });
  const pid = Number(r.stdout.trim());
  assert.ok(pid > 1, `a canary started: ${r.stdout}${r.stderr}`);
  return pid;
}

function ppid(pid: number): number | undefined {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
  } catch {
    return undefined;
  }
}

function assertCanariesAlive(when: string): void {
  for (const pid of canaries) assert.equal(ppid(pid), 1, `canary ${pid} is alive under PID 1 after ${when}`);
  // js-debug's kill may come just after the session's end event (seen in the negative control): the trace tells.
  assert.doesNotMatch(fs.readFileSync(process.env.SIDECAR_STRACE_LOG!, 'utf8'), /terminateProcess/, `no terminateProcess.sh ran by ${when}`);
}

async function setUp(): Promise<void> {
  assertOwnPidNamespace();
  await vscode.extensions.getExtension(EXTENSION_ID)!.activate();
  await vscode.workspace.getConfiguration('sidecar.ports').update('tunnelImage', IMAGES.busybox, vscode.ConfigurationTarget.Global);
  // The workspace copy of the script: localRoot is inferred from it.
  fs.copyFileSync(APP, path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'app.js'));
  const log = process.env.SIDECAR_STRACE_LOG!;
  strace = spawn('strace', ['-f', '-qq', '-e', 'trace=execve,kill,tgkill', '-o', log, '-p', String(process.pid)], { stdio: 'ignore' });
  await eventually(() => /TracerPid:\s*[1-9]/.test(fs.readFileSync('/proc/self/status', 'utf8')), 'strace to attach to the extension host');
  while (canaries.length < 3) {
    const p = startCanary();
    await eventually(() => ppid(p) === 1, `canary ${p} to be reparented to PID 1`);
    canaries.push(p);
  }
  await newTarget();
}

async function newTarget(): Promise<void> {
  const name = uniqueName('it-node-dbg');
  const c = await runContainer(testDocker(), { name, image: NODE_IMAGE, cmd: ['/usr/bin/node', '/app/app.js'] });
  target = { id: c.id, name };
  await eventually(async () => (await execIn(testDocker(), c.id, ['cat', '/tmp/counter'])).stdout.trim() !== '', 'the node target to count');
}

async function counter(): Promise<number> {
  return Number((await execIn(testDocker(), target!.id, ['cat', '/tmp/counter'])).stdout.trim());
}

async function tunnels(): Promise<number> {
  return (await testDocker().listContainers({ all: true, filters: { label: [`io.container-sidecar.target=${target!.id}`] } })).length;
}

/** Starts a node session on the target; resolves with the top-level session once js-debug's child session started. */
async function attach(extra: object = {}): Promise<vscode.DebugSession> {
  const sessions: vscode.DebugSession[] = [];
  const sub = vscode.debug.onDidStartDebugSession((s) => sessions.push(s));
  try {
    const ok = await vscode.debug.startDebugging(undefined, { type: 'sidecar', request: 'attach', name: 'node itest', debugger: 'node', container: target!.name, processId: 1, ...extra });
    assert.equal(ok, true, 'the session starts');
    await eventually(() => sessions.some((s) => s.parentSession), 'js-debug to attach to the target');
    return sessions.find((s) => !s.parentSession)!;
  } finally {
    sub.dispose();
  }
}

/** Waits until no session runs and the forward is gone, then checks the canaries and the target. */
async function afterEnd(how: string, targetLives = true): Promise<void> {
  await eventually(() => live.size === 0, `every session to end after ${how}`, 60_000);
  await eventually(async () => (await tunnels()) === 0, `the forward to be removed after ${how}`, 30_000);
  assertCanariesAlive(how);
  if (targetLives) {
    const before = await counter();
    await eventually(async () => (await counter()) > before, `the target to count on after ${how}`);
  }
}

function endTest(how: string, end: (s: vscode.DebugSession) => Thenable<unknown>): HostTest {
  return {
    name: `${how} ends the session; every canary lives, the target counts on`,
    async fn() {
      const s = await attach();
      // Wait on the state, not on the call: once, on a fresh clone, VS Code's
      // stopDebugging(session) never settled although the session had ended.
      await Promise.race([Promise.resolve(end(s)), new Promise((r) => setTimeout(r, 30_000))]);
      await afterEnd(how);
    },
  };
}

export const nodeDebugTests: HostTest[] = [
  { name: 'set-up: own PID namespace, strace on the extension host, canaries under PID 1, a node target', fn: setUp },
  {
    name: 'a processName that matches nothing attaches nothing: no SIGUSR1, the inspector stays closed',
    async fn() {
      const ok = await Promise.resolve(vscode.debug.startDebugging(undefined, { type: 'sidecar', request: 'attach', name: 'node itest', debugger: 'node', container: target!.name, processName: 'no-such-process' })).then((x) => x, () => false);
      assert.equal(ok, false);
      assert.equal(vscode.debug.activeDebugSession, undefined);
      // The target was never attached before, so nothing may listen on 9229 in it now.
      const r = await execIn(testDocker(), target!.id, ['node', '-e', "require('net').connect(9229, '127.0.0.1').on('connect', () => process.exit(1)).on('error', () => process.exit(0))"]);
      assert.equal(r.exitCode, 0, 'nothing listens on 9229 in the target');
    },
  },
  {
    name: 'a breakpoint in the workspace copy of the script is hit, with a stack, variables, evaluate and step; after stopping the target counts on',
    async fn() {
      const file = vscode.Uri.file(path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'app.js'));
      vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(file, new vscode.Position(14, 0)))]);
      try {
        const s = await attach();
        // A stack frame is focused only once the thread has paused (a thread alone may be focused earlier).
        const item = await eventually((): vscode.DebugStackFrame | undefined => {
          const i = vscode.debug.activeStackItem;
          return i instanceof vscode.DebugStackFrame ? i : undefined;
        }, 'the breakpoint to be hit', 30_000) as vscode.DebugStackFrame;
        const child = item.session;
        const st = await child.customRequest('stackTrace', { threadId: item.threadId, startFrame: 0, levels: 5 });
        assert.equal(st.stackFrames[0].name, 'tick');
        assert.equal(st.stackFrames[0].line, 15);
        assert.ok(String(st.stackFrames[0].source.path).endsWith(file.fsPath), `the frame is in the workspace copy: ${st.stackFrames[0].source.path}`);
        const frameId = st.stackFrames[0].id;
        const scopes = await child.customRequest('scopes', { frameId });
        const vars = await child.customRequest('variables', { variablesReference: scopes.scopes[0].variablesReference });
        assert.ok(vars.variables.some((v: { name: string }) => v.name === 's'), `tick's locals include s: ${JSON.stringify(vars.variables.map((v: { name: string }) => v.name))}`);
        const ev = await child.customRequest('evaluate', { expression: 's.label', frameId, context: 'repl' });
        assert.equal(ev.result, "'node-target'");
        vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
        await child.customRequest('next', { threadId: item.threadId });
        await eventually(async () => {
          const again = await child.customRequest('stackTrace', { threadId: item.threadId, startFrame: 0, levels: 1 });
          return again.stackFrames[0]?.line === 16;
        }, 'a step to line 16');
        await vscode.debug.stopDebugging(s);
        await afterEnd('stopDebugging(session) while paused');
      } finally {
        vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
      }
    },
  },
  endTest('Stop (workbench.action.debug.stop)', () => vscode.commands.executeCommand('workbench.action.debug.stop')),
  endTest('stopDebugging() with no argument', () => vscode.debug.stopDebugging()),
  endTest('stopDebugging(session)', (s) => vscode.debug.stopDebugging(s)),
  endTest('Disconnect (workbench.action.debug.disconnect)', () => vscode.commands.executeCommand('workbench.action.debug.disconnect')),
  {
    name: 'Restart, then Stop: every canary lives',
    async fn() {
      await attach();
      let restarted = false;
      const sub = vscode.debug.onDidStartDebugSession((s) => { if (s.parentSession) restarted = true; });
      try {
        await vscode.commands.executeCommand('workbench.action.debug.restart');
        // Restart either re-attaches (a new child session) or ends the session; Stop ends what is left.
        await eventually(() => restarted || live.size === 0, 'the restart to settle', 60_000);
      } finally {
        sub.dispose();
      }
      // A Stop sent while the restart is still attaching may land on the old session: Stop until none is left.
      await eventually(async () => {
        if (live.size) await vscode.commands.executeCommand('workbench.action.debug.stop');
        return live.size === 0;
      }, 'Stop to end the restarted session', 60_000);
      await afterEnd('Restart');
    },
  },
  {
    name: 'a processName configuration attaches the one process it matches',
    async fn() {
      const s = await attach({ processId: undefined, processName: '/app/app\\.js$' });
      assert.equal(s.configuration.sidecarContainer, target!.name);
      await vscode.debug.stopDebugging(s);
      await afterEnd('processName attach');
    },
  },
  {
    name: 'the target exiting ends the session; every canary lives',
    async fn() {
      await attach();
      // SIGKILL: node as PID 1 ignores SIGTERM (it installs no handler).
      await testDocker().getContainer(target!.id).kill({ signal: 'SIGKILL' });
      await afterEnd('the target exiting', false);
    },
  },
  {
    name: 'no terminateProcess.sh ran and no SIGKILL was sent (strace of the extension host)',
    async fn() {
      strace?.kill('SIGINT');
      await new Promise((r) => strace?.once('exit', r));
      const log = fs.readFileSync(process.env.SIDECAR_STRACE_LOG!, 'utf8');
      assert.ok(/execve\(/.test(log), 'strace saw the host start processes (it watched)');
      assert.doesNotMatch(log, /terminateProcess/, 'no terminateProcess.sh ran');
      assert.doesNotMatch(log, /kill\([^)]*SIGKILL/, 'no SIGKILL was sent');
      assertCanariesAlive('all of the above');
      if (target) await removeQuietly(testDocker(), [target.id]);
      for (const pid of canaries) process.kill(pid);
      await vscode.workspace.getConfiguration('sidecar.ports').update('tunnelImage', undefined, vscode.ConfigurationTarget.Global);
    },
  },
];
