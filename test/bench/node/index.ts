// debug.node.attach-to-stop, inside the real extension host, which runs in a
// PID namespace of its own (debug.bench.ts starts it so): the baseline is VS
// Code's plain node attach WITHOUT our proxy, so the debuggee's PID reaches
// js-debug there; it is ended with stopDebugging(session) (no terminate), and
// even a kill could reach only this namespace.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { Engine } from '../../../src/engine/engine';
import { resolveEndpoint } from '../../../src/engine/connection';
import { PortForwardService } from '../../../src/engine/portForward';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../../helpers/docker';
import { projectRoot } from '../../helpers/paths';
import { eventually } from '../../helpers/hostRunner';
import { median, timeMs } from '../util';

function write(o: object): void {
  const file = process.env.SIDECAR_TEST_RESULTS;
  if (file) fs.appendFileSync(file, JSON.stringify(o) + '\n');
}

/** Sessions started and not yet reported ended (activeDebugSession lags behind). */
const live = new Set<string>();
vscode.debug.onDidStartDebugSession((s) => live.add(s.id));
vscode.debug.onDidTerminateDebugSession((s) => live.delete(s.id));

/** Starts a session and waits for the breakpoint stop; ends it without terminating the debuggee. */
async function toStop(config: vscode.DebugConfiguration): Promise<number> {
  let top: vscode.DebugSession | undefined;
  const sub = vscode.debug.onDidStartDebugSession((s) => { if (!s.parentSession) top = s; });
  try {
    return await timeMs(async () => {
      if (!(await vscode.debug.startDebugging(undefined, config))) throw new Error('the session did not start');
      await eventually(() => vscode.debug.activeStackItem instanceof vscode.DebugStackFrame, 'the breakpoint stop', 60_000);
    });
  } finally {
    sub.dispose();
    if (top) await vscode.debug.stopDebugging(top);
    await eventually(() => live.size === 0, 'the session to end', 60_000);
  }
}

export async function run(): Promise<void> {
  const docker = testDocker();
  let target = '';
  try {
    if (!fs.readFileSync('/proc/1/cmdline', 'utf8').includes('code-server')) throw new Error('refusing to run: not in a PID namespace of its own');
    await vscode.extensions.getExtension('container-sidecar.container-sidecar')!.activate();
    await vscode.workspace.getConfiguration('sidecar.ports').update('tunnelImage', IMAGES.busybox, vscode.ConfigurationTarget.Global);
    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    fs.copyFileSync(path.join(projectRoot, 'test/fixtures/node-target/app.js'), path.join(ws, 'app.js'));
    const name = uniqueName('bench-node');
    target = (await runContainer(docker, { name, image: process.env.SIDECAR_IMAGE_NODE ?? 'container-sidecar-test/node:1', cmd: ['/usr/bin/node', '/app/app.js'] })).id;
    vscode.debug.addBreakpoints([new vscode.SourceBreakpoint(new vscode.Location(vscode.Uri.file(path.join(ws, 'app.js')), new vscode.Position(14, 0)))]);
    const forwards = new PortForwardService(new Engine(resolveEndpoint(undefined)), { image: IMAGES.busybox });
    const ours = () => toStop({ type: 'sidecar', request: 'attach', name: 'bench ours', debugger: 'node', container: name, processId: 1 });
    // The same forward (a tunnel sidecar), then js-debug straight at it; the inspector is already open.
    const plain = async () => {
      let fwdId = '';
      try {
        return await timeMs(async () => {
          const fwd = await forwards.forward({ target, remotePort: 9229, localPort: 0 });
          fwdId = fwd.id;
          await toStop({ type: 'node', request: 'attach', name: 'bench plain', address: '127.0.0.1', port: fwd.localPort, localRoot: ws, remoteRoot: '/app', attachExistingChildren: false, autoAttachChildProcesses: false });
        });
      } finally {
        if (fwdId) await forwards.stop(fwdId);
      }
    };
    await ours();
    await plain();
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 5; i++) {
      a.push(await ours());
      b.push(await plain());
    }
    write({ figure: { id: 'debug.node.attach-to-stop', value: median(a), unit: 'ms', baseline: "VS Code's node attach through the same forward (inspector already open)", baselineValue: median(b), target: '<= 1.2x' } });
  } catch (err) {
    write({ name: 'node bench', ok: false, error: err instanceof Error ? err.stack : String(err) });
  } finally {
    vscode.debug.removeBreakpoints(vscode.debug.breakpoints);
    await vscode.workspace.getConfiguration('sidecar.ports').update('tunnelImage', undefined, vscode.ConfigurationTarget.Global);
    if (target) await removeQuietly(docker, [target]);
    write({ done: true });
  }
}
