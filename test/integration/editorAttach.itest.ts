// "Attach Debugger Container" on an ordinary workspace file, in the real
// extension host: the shell-less C target runs with the fixtures folder bind
// mounted, so the command finds its container by the mount and its process by
// the ELF check, attaches gdb in one step, and the breakpoint already set in
// target.c is hit.
import assert from 'node:assert/strict';
import path from 'node:path';
import * as vscode from 'vscode';
import { eventually, type HostTest } from '../helpers/hostRunner';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';

const EXTENSION_ID = 'container-sidecar.container-sidecar';
const FIXTURES = path.join(projectRoot, 'test/fixtures');
const SRC = vscode.Uri.file(path.join(FIXTURES, 'target.c'));

async function gdbSidecars(target: string): Promise<string[]> {
  const list = await testDocker().listContainers({ all: true, filters: { label: ['io.container-sidecar.role=gdb', `io.container-sidecar.target=${target}`] } });
  return list.map((c) => c.Id);
}

export const editorAttachTests: HostTest[] = [
  {
    name: 'from the editor of target.c: the container that mounts it is found, gdb attaches in one step and the breakpoint set in the file is hit',
    async fn() {
      await vscode.extensions.getExtension(EXTENSION_ID)!.activate();
      const docker = testDocker();
      const cfg = vscode.workspace.getConfiguration('sidecar.debugger');
      await cfg.update('gdbImage', IMAGES.gdb, vscode.ConfigurationTarget.Global);
      const name = uniqueName('it-editor-target');
      const t = await runContainer(docker, { name, image: IMAGES.target, cmd: [], hostConfig: { NetworkMode: 'none', Binds: [`${FIXTURES}:/src:ro`] } });
      try {
        await vscode.window.showTextDocument(SRC);
        assert.equal(vscode.window.activeTextEditor?.document.languageId, 'c');
        // Line 30 is in tick(), which the target calls every round.
        vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(SRC, new vscode.Position(29, 0)))]);
        const started = new Promise<vscode.DebugSession>((r) => vscode.debug.onDidStartDebugSession(r));
        assert.equal(await vscode.commands.executeCommand('sidecar.debugger.attachFile', SRC), true, 'attached without a question');
        const session = await started;
        assert.equal(session.configuration.container, name);
        assert.equal(session.configuration.processId, 1);
        const top = await eventually(async () => {
          const item = vscode.debug.activeStackItem;
          if (!item || item.session.id !== session.id) return undefined;
          const st = await session.customRequest('stackTrace', { threadId: item.threadId, startFrame: 0, levels: 1 });
          return st.stackFrames[0] as { name: string; line: number } | undefined;
        }, 'the breakpoint in target.c to be hit', 30_000);
        assert.equal(top?.name, 'tick');
        assert.equal(top?.line, 30);
        await vscode.debug.stopDebugging(session);
        await eventually(async () => (await gdbSidecars(t.id)).length === 0, 'the gdb sidecar to be removed');
        assert.equal((await docker.getContainer(t.id).inspect()).State.Running, true, 'the target runs on after detach');
      } finally {
        vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
        if (vscode.debug.activeDebugSession) await vscode.debug.stopDebugging();
        await cfg.update('gdbImage', undefined, vscode.ConfigurationTarget.Global);
        await removeQuietly(docker, [t.id, ...await gdbSidecars(t.id)]);
      }
    },
  },
];
