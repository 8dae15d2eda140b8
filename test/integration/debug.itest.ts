// Debug type `sidecar` in the real extension host: vscode.debug.startDebugging
// with breakpoints from vscode.debug.addBreakpoints, and the commands, against
// the shell-less target with gdb in a real sidecar. Node.js attach is tested in
// node/nodeDebug.itest.ts, inside a PID namespace of its own.
import assert from 'node:assert/strict';
import path from 'node:path';
import * as vscode from 'vscode';
import { eventually, type HostTest } from '../helpers/hostRunner';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';

const EXTENSION_ID = 'container-sidecar.container-sidecar';
const SRC = vscode.Uri.file(path.join(projectRoot, 'test/fixtures/target.c'));

async function gdbSidecars(target: string): Promise<string[]> {
  const list = await testDocker().listContainers({ all: true, filters: { label: ['io.container-sidecar.role=gdb', `io.container-sidecar.target=${target}`] } });
  return list.map((c) => c.Id);
}

/** The top frame once the session has stopped, as the Call Stack view would show it. */
async function topFrame(session: vscode.DebugSession): Promise<{ name: string; line: number; source?: { path?: string } }> {
  return eventually(async () => {
    const item = vscode.debug.activeStackItem;
    if (!item || item.session.id !== session.id) return undefined;
    const st = await session.customRequest('stackTrace', { threadId: item.threadId, startFrame: 0, levels: 1 });
    return st.stackFrames[0];
  }, 'the session to stop', 30_000);
}

async function withTarget(fn: (id: string, name: string) => Promise<void>): Promise<void> {
  await vscode.extensions.getExtension(EXTENSION_ID)!.activate();
  const docker = testDocker();
  const name = uniqueName('it-dbg-target');
  const t = await runContainer(docker, { name, image: IMAGES.target, cmd: [] });
  try {
    await fn(t.id, name);
  } finally {
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    if (vscode.debug.activeDebugSession) await vscode.debug.stopDebugging();
    await removeQuietly(docker, [t.id, ...await gdbSidecars(t.id)]);
  }
}

export const debugTests: HostTest[] = [
  {
    name: 'startDebugging with a sidecar configuration stops at a breakpoint from addBreakpoints; the editor shows the line; stop detaches',
    fn: () => withTarget(async (id, name) => {
      vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(SRC, new vscode.Position(29, 0)))]);
      const started = new Promise<vscode.DebugSession>((r) => vscode.debug.onDidStartDebugSession(r));
      // No sourceFileMap: the adapter learns /src -> test/fixtures from the breakpoint gdb resolved.
      // The image comes from the user's settings: an `image` in the configuration is the workspace's (launch.json) and would ask for consent.
      const cfg = vscode.workspace.getConfiguration('sidecar.debugger');
      await cfg.update('gdbImage', IMAGES.gdb, vscode.ConfigurationTarget.Global);
      let ok: boolean;
      try {
        ok = await vscode.debug.startDebugging(undefined, { type: 'sidecar', request: 'attach', name: 'itest attach', container: name, processId: 1 });
      } finally {
        await cfg.update('gdbImage', undefined, vscode.ConfigurationTarget.Global);
      }
      assert.equal(ok, true);
      const session = await started;
      const top = await topFrame(session);
      assert.equal(top.name, 'tick');
      assert.equal(top.line, 30);
      // The remote workbench hands paths back as vscode-remote URIs.
      const p = top.source?.path ?? '';
      assert.equal(p.includes('://') ? vscode.Uri.parse(p).path : p, SRC.fsPath);
      await eventually(() => vscode.window.activeTextEditor?.document.uri.fsPath === SRC.fsPath && vscode.window.activeTextEditor.selection.active.line === 29, 'the editor to show target.c at line 30');
      const bp = vscode.debug.breakpoints[0];
      assert.ok(bp instanceof vscode.SourceBreakpoint);
      const ended = new Promise<void>((r) => vscode.debug.onDidTerminateDebugSession((s) => s.id === session.id && r()));
      await vscode.debug.stopDebugging(session);
      await ended;
      await eventually(async () => (await gdbSidecars(id)).length === 0, 'the gdb sidecar to be removed');
      assert.equal((await testDocker().getContainer(id).inspect()).State.Running, true, 'the target runs on after detach');
    }),
  },
  {
    name: 'Debug this process on a process row attaches with the image from sidecar.debugger.gdbImage',
    fn: () => withTarget(async (id) => {
      const cfg = vscode.workspace.getConfiguration('sidecar.debugger');
      await cfg.update('gdbImage', IMAGES.gdb, vscode.ConfigurationTarget.Global);
      try {
        vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint('factorial')]);
        const started = new Promise<vscode.DebugSession>((r) => vscode.debug.onDidStartDebugSession(r));
        const row = { process: { hostPid: 0, nsPid: 1, command: '/app/target' }, containerId: id, contextValue: 'process' };
        assert.equal(await vscode.commands.executeCommand('sidecar.debugger.debugProcess', row), true);
        const session = await started;
        assert.equal(session.configuration.processId, 1);
        const top = await topFrame(session);
        assert.equal(top.name, 'factorial');
        assert.equal((await gdbSidecars(id)).length, 1);
        await vscode.debug.stopDebugging(session);
        await eventually(async () => (await gdbSidecars(id)).length === 0, 'the gdb sidecar to be removed');
      } finally {
        await cfg.update('gdbImage', undefined, vscode.ConfigurationTarget.Global);
      }
    }),
  },
];
