// Python in the real extension host: vscode.debug.startDebugging with no
// `debugger` named picks debugpy for a python3 process, a breakpoint from
// addBreakpoints in the workspace copy is hit, variables hold the computed
// values, a step moves a line, and Stop leaves the service running with no
// sidecar and no zombie. debugpy is loaded from sidecars into a target whose
// image has only python3; no container PID reaches VS Code, so this runs in
// the ordinary extension host.
import assert from 'node:assert/strict';
import path from 'node:path';
import * as vscode from 'vscode';
import { eventually, type HostTest } from '../helpers/hostRunner';
import { IMAGES, execIn, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { ensureBuiltImage } from '../../src/engine/imageBuild';
import { debugpyImageSpec } from '../../src/debug/debugpy';

const EXTENSION_ID = 'container-sidecar.container-sidecar';
const APP_DIR = path.join(projectRoot, 'test/fixtures/python-target');
const APP = vscode.Uri.file(path.join(APP_DIR, 'app.py'));

async function sidecarsOf(target: string): Promise<string[]> {
  const list = await testDocker().listContainers({ all: true, filters: { label: ['io.container-sidecar.managed=true', `io.container-sidecar.target=${target}`] } });
  return list.map((c) => c.Id);
}

/** The service's own answer, asked from inside its container: "ticks=N last=M". */
async function ticks(id: string): Promise<number> {
  const r = await execIn(testDocker(), id, ['python3', '-c', 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8000/", timeout=10).read().decode())']);
  const m = /ticks=(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`the service answered ${JSON.stringify(r.stdout + r.stderr)}`);
  return Number(m[1]);
}

async function zombies(id: string): Promise<string> {
  const script = 'import os\nfor p in os.listdir("/proc"):\n  if p.isdigit():\n    try:\n      s = open("/proc/%s/stat" % p).read()\n      if s.rsplit(")", 1)[1].split()[0] == "Z": print(s)\n    except OSError: pass';
  return (await execIn(testDocker(), id, ['python3', '-c', script])).stdout.trim();
}

export const pythonDebugTests: HostTest[] = [
  {
    name: 'python: startDebugging picks debugpy for a python3 process; breakpoint, variables and a step in the workspace copy; Stop leaves it serving with no sidecar or zombie',
    fn: async () => {
      await vscode.extensions.getExtension(EXTENSION_ID)!.activate();
      const engine = new Engine(resolveEndpoint(undefined));
      // No registry here: the shipped Dockerfile is built on the local base, and the setting names the result.
      const image = await ensureBuiltImage(engine, debugpyImageSpec(path.join(projectRoot, 'images'), { BASE: IMAGES.debugpy }));
      const docker = testDocker();
      const name = uniqueName('it-py-target');
      const t = await runContainer(docker, { name, image: IMAGES.python, cmd: ['python3', '/app/app.py'] });
      const cfg = vscode.workspace.getConfiguration('sidecar.debugger');
      await cfg.update('debugpyImage', image, vscode.ConfigurationTarget.Global);
      // The forward's tunnel: no registry here, so the local busybox.
      const ports = vscode.workspace.getConfiguration('sidecar.ports');
      await ports.update('tunnelImage', IMAGES.busybox, vscode.ConfigurationTarget.Global);
      try {
        vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(APP, new vscode.Position(11, 0)))]);
        const started = new Promise<vscode.DebugSession>((r) => vscode.debug.onDidStartDebugSession(r));
        const ok = await vscode.debug.startDebugging(undefined, { type: 'sidecar', request: 'attach', name: 'itest python', container: name, processId: 1, sourceFileMap: { '/app': APP_DIR } });
        assert.equal(ok, true);
        const session = await started;
        assert.equal(session.configuration.debugger, 'python');
        const stack = async () => {
          const item = vscode.debug.activeStackItem;
          if (!item || item.session.id !== session.id || !(item instanceof vscode.DebugThread || item instanceof vscode.DebugStackFrame)) return undefined;
          const st = await session.customRequest('stackTrace', { threadId: item.threadId, startFrame: 0, levels: 1 });
          return { threadId: item.threadId, top: st.stackFrames[0] as { id: number; name: string; line: number; source?: { path?: string } } };
        };
        const stopped = (await eventually(stack, 'the session to stop at the breakpoint', 120_000))!;
        assert.equal(stopped.top.name, 'tick');
        assert.equal(stopped.top.line, 12);
        const p = stopped.top.source?.path ?? '';
        assert.equal(p.includes('://') ? vscode.Uri.parse(p).path : p, APP.fsPath);
        await eventually(() => vscode.window.activeTextEditor?.document.uri.fsPath === APP.fsPath && vscode.window.activeTextEditor.selection.active.line === 11, 'the editor to show app.py at line 12');

        const scopes = await session.customRequest('scopes', { frameId: stopped.top.id });
        const vars = (await session.customRequest('variables', { variablesReference: scopes.scopes[0].variablesReference })).variables as { name: string; value: string }[];
        const n = Number(vars.find((v) => v.name === 'n')?.value);
        assert.equal(Number(vars.find((v) => v.name === 'square')?.value), n * n);

        vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
        await session.customRequest('next', { threadId: stopped.threadId });
        await eventually(async () => (await stack())?.top.line === 13, 'the step to line 13', 60_000);

        const ended = new Promise<void>((r) => vscode.debug.onDidTerminateDebugSession((s) => s.id === session.id && r()));
        // Stop with no argument, as the toolbar's Stop: VS Code asks to terminate the debuggee.
        await vscode.commands.executeCommand('workbench.action.debug.stop');
        await ended;
        await eventually(async () => (await sidecarsOf(t.id)).length === 0, 'the sidecars to be removed', 30_000);
        const first = await ticks(t.id);
        await eventually(async () => (await ticks(t.id)) > first, 'the service to go on computing and serving', 30_000);
        assert.equal(await zombies(t.id), '', 'no zombie in the target\'s pid namespace');
      } finally {
        vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
        if (vscode.debug.activeDebugSession) await vscode.debug.stopDebugging();
        await cfg.update('debugpyImage', undefined, vscode.ConfigurationTarget.Global);
        await ports.update('tunnelImage', undefined, vscode.ConfigurationTarget.Global);
        await removeQuietly(docker, [t.id, ...await sidecarsOf(t.id)]);
      }
    },
  },
];
