// Debug type `sidecar` in the workbench: the inline adapter, a DAP trace in
// the log, the configuration provider (with the container and process quick
// picks), and the "Attach Debugger to Process…" / "Debug this process" commands.
import * as vscode from 'vscode';
import type { SidecarContext } from '../context';
import type { SidecarManager } from '../sidecars';
import fs from 'node:fs';
import path from 'node:path';
import { INSPECTOR_PORT, inferRoots, type InspectorDiscovery, inspectorScript, pickByName, scriptPath, sendInspectSignal, waitForInspector } from './nodeInspector';
import { closeInspector, startCdpProxy } from './cdpProxy';
import type { ContainerModel } from '../engine/containers';
import type { Engine } from '../engine/engine';
import { containerRef, splitContainerRef } from '../engine/engines';
import { LABELS } from '../engine/sidecars';
import { containerProcesses, flattenProcesses, type ProcessInfo } from '../procfs/processes';
import { listProcesses, SIGNAL_IMAGE_SETTING } from './targetProcesses';
import { DEBUG_TYPE, type SidecarAttachArguments } from './config';
import { GDB_IMAGE_SETTING } from './gdbSidecar';
import { builtImageForWorkbench, gdbImageForWorkbench } from './imageBuildUi';
import { DapRelay, dapPaths, type DapLauncher } from './dapRelay';
import { dapLauncher, debuggerForProcess } from './dapLaunchers';
import { processExe } from './delve';
import { registerEditorAttach } from './editorAttach';
import { SidecarDebugSession } from './session';
import { debugAllowed, imageForStart, imageNow, launchImage } from '../trust/consent';

/** A process row of the Containers view (owned by the explorer), or the same data from elsewhere. */
interface ProcessArg {
  process?: { hostPid: number; nsPid: number; command: string };
  containerId?: string;
  container?: Pick<ContainerModel, 'id' | 'name' | 'state'>;
}

/** The prebuilt gdb image from the settings (the workspace's only with consent); empty means the shipped Dockerfile is built on first use. */
export function gdbImage(ctx: SidecarContext): string {
  return imageNow(ctx, GDB_IMAGE_SETTING, '');
}

/** VS Code's built-in JavaScript debugger, which owns debug type `node`. */
const JS_DEBUG = 'ms-vscode.js-debug';

export function registerDebugger(ctx: SidecarContext, sidecars?: SidecarManager): void {
  const subs = ctx.extension.subscriptions;

  subs.push(vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, {
    createDebugAdapterDescriptor(session) {
      const launcher = dapLauncher(session.configuration.debugger);
      if (launcher) return dapAdapter(ctx, launcher, session.configuration, sidecars);
      const name = String(session.configuration.container ?? '');
      // Attaching takes a second or more (sidecar start, maybe an image pull): say so.
      let report: ((msg: string) => void) | undefined;
      let done!: () => void;
      const finished = new Promise<void>((r) => (done = r));
      void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Attaching gdb to ${name}` }, async (progress) => {
        report = (message) => progress.report({ message });
        await finished;
      });
      const engine = ctx.engineFor(session.configuration.engine);
      const adapter = new SidecarDebugSession({
        engine,
        // Sources outside the workspace open as container: URIs, which name the engine unless it is the default.
        engineId: ctx.engines.idFor(engine),
        defaultImage: gdbImage(ctx),
        onProgress: (m) => report?.(m),
        onAttachDone: () => done(),
      });
      return new vscode.DebugAdapterInlineImplementation(adapter);
    },
  }));

  subs.push(vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, {
    createDebugAdapterTracker(session) {
      const tag = `[dap ${session.id.slice(0, 8)}]`;
      return {
        onWillReceiveMessage: (m) => ctx.log.trace(`${tag} -> ${JSON.stringify(m)}`),
        onDidSendMessage: (m) => ctx.log.trace(`${tag} <- ${JSON.stringify(m)}`),
        onError: (e) => ctx.log.error(`${tag} ${e.message}`),
        onExit: (code, signal) => ctx.log.debug(`${tag} adapter ended ${code ?? ''} ${signal ?? ''}`),
      };
    },
  }));

  const provider = new SidecarConfigurationProvider(ctx, sidecars);
  subs.push(vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, provider, vscode.DebugConfigurationProviderTriggerKind.Initial));
  subs.push(vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, { provideDebugConfigurations: () => provider.dynamicConfigurations() }, vscode.DebugConfigurationProviderTriggerKind.Dynamic));

  const attach = async (arg?: ProcessArg) => {
    const config = await processConfiguration(ctx, arg);
    if (!config) return false;
    const folder = vscode.workspace.workspaceFolders?.[0];
    return vscode.debug.startDebugging(folder, config);
  };
  ctx.registerCommand('sidecar.debugger.attachProcess', attach);
  ctx.registerCommand('sidecar.debugger.debugProcess', attach);
  registerEditorAttach(ctx);
}

/** Builds an attach configuration from a process row, a container item, or quick picks. */
async function processConfiguration(ctx: SidecarContext, arg?: ProcessArg): Promise<vscode.DebugConfiguration | undefined> {
  const picked = arg?.containerId ?? arg?.container?.id ? undefined : await pickContainer(ctx);
  const containerRef = arg?.containerId ?? arg?.container?.id ?? picked?.id;
  if (!containerRef) return undefined;
  const engine = ctx.engineFor(picked ? picked.engineId : ctx.engineIdOf(arg));
  const target = await engine.inspect(containerRef);
  if (target.state !== 'running' || !target.pid) throw new Error(`Container ${target.name} is ${target.state}, not running; start it to debug its processes.`);
  const proc = arg?.process ?? (await pickProcess(ctx, target.id, target.name, target.pid, engine));
  if (!proc) return undefined;
  const engineId = ctx.engines.idFor(engine);
  const config: SidecarAttachArguments & vscode.DebugConfiguration = {
    type: DEBUG_TYPE,
    request: 'attach',
    name: `Attach to ${shortCommand(proc.command)} in ${target.name}${engineId ? ` on ${engine.name}` : ''}`,
    container: target.name,
    // Two engines may hold the same container name: a configuration names its engine unless it is the default.
    ...(engineId ? { engine: engineId } : {}),
    processId: proc.nsPid,
    // No sourceFileMap: the adapter learns the mapping from breakpoints set in workspace files.
  };
  // localRoot/remoteRoot (node) and sourceFileMap (DAP runtimes) are inferred when the session resolves.
  const debuggerName = debuggerForProcess({ command: proc.command, go: await isGoProcess(ctx, target.id, proc, engine) });
  if (debuggerName !== 'gdb') config.debugger = debuggerName as SidecarAttachArguments['debugger'];
  return config;
}

function shortCommand(cmd: string): string {
  const first = cmd.split(/\s+/)[0] ?? cmd;
  return first.split('/').pop() || cmd;
}

async function pickContainer(ctx: SidecarContext): Promise<{ id: string; engineId?: string } | undefined> {
  const engines = ctx.engines.all;
  const lists = await Promise.all(engines.map((e) => e.listContainers().catch(() => [])));
  const running = lists.flat().filter((c) => c.state === 'running' && c.labels[LABELS.managed] !== 'true');
  if (!running.length) throw new Error('No container is running. Start the container whose process you want to debug, then try again.');
  const on = (c: ContainerModel) => (engines.length > 1 ? ` · ${ctx.engineFor(c.engineId).name}` : '');
  const pick = await vscode.window.showQuickPick(
    running.map((c) => ({ label: c.name, description: `${c.image} · ${c.shortId}${on(c)}`, detail: c.status, id: c.id, engineId: c.engineId })),
    { title: 'Debug a process in which container?', matchOnDescription: true },
  );
  return pick && { id: pick.id, engineId: pick.engineId };
}

async function pickProcess(ctx: SidecarContext, id: string, name: string, pid: number, engine = ctx.engine): Promise<Pick<ProcessInfo, 'nsPid' | 'command'> & Partial<ProcessInfo> | undefined> {
  const procs = await listProcesses(ctx, id, pid, engine);
  if (!procs.length) throw new Error(`No process of container ${name} could be read from /proc. Is the engine on this machine?`);
  if (procs.length === 1) return procs[0];
  const pick = await vscode.window.showQuickPick(
    procs.map((p) => ({ label: p.command, description: `PID ${p.nsPid}${p.hostPid ? ` · host ${p.hostPid}` : ''}${p.user ? ` · ${p.user}` : ''}`, p })),
    { title: `Debug which process of ${name}?`, matchOnDescription: true },
  );
  return pick?.p;
}

export class SidecarConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly ctx: SidecarContext, private readonly sidecars?: SidecarManager) {}

  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [{ type: DEBUG_TYPE, request: 'attach', name: 'Attach to a process in a container', container: 'web', processName: '^/app/', sourceFileMap: { '/src': '${workspaceFolder}' } }];
  }

  /** "Attach to <process> in <container>" for each running container's processes (the Run and Debug view's dynamic list). */
  async dynamicConfigurations(): Promise<vscode.DebugConfiguration[]> {
    // Every engine's containers; one that is down contributes none.
    const engines = this.ctx.engines.all;
    // At most 20 per engine: a busy default engine must not crowd out the others.
    const lists = await Promise.all(engines.map((e) => e.listContainers().then((l) => l.filter((c) => c.state === 'running' && c.labels[LABELS.managed] !== 'true').slice(0, 20).map((c) => ({ c, e })), () => [])));
    const running = lists.flat();
    const out: vscode.DebugConfiguration[] = [];
    for (const { c, e } of running) {
      const engineId = this.ctx.engines.idFor(e);
      try {
        const d = await e.inspect(c.id);
        for (const p of flattenProcesses(await containerProcesses({ id: d.id, pid: d.pid }))) {
          out.push({ type: DEBUG_TYPE, request: 'attach', name: `Attach to ${shortCommand(p.command)} (PID ${p.nsPid}) in ${c.name}${engineId ? ` on ${e.name}` : ''}`, container: c.name, ...(engineId ? { engine: engineId } : {}), processId: p.nsPid });
        }
      } catch (err) {
        this.ctx.log.debug(`dynamic debug configurations: ${c.name}: ${String(err)}`);
      }
    }
    return out;
  }

  async resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): Promise<vscode.DebugConfiguration | undefined> {
    if (!debugAllowed()) return undefined;
    // F5 without a launch.json: the same picks as the command.
    if (!config.type && !config.request && !config.name) return processConfiguration(this.ctx);
    if (config.request !== 'attach') {
      void vscode.window.showErrorMessage(`Debug type "sidecar" only attaches to running processes; set "request": "attach" in "${config.name}".`);
      return undefined;
    }
    if (!config.container) {
      const picked = await processConfiguration(this.ctx);
      return picked ? { ...picked, ...config, container: picked.container, engine: picked.engine, processId: config.processId ?? picked.processId } : undefined;
    }
    // "web@podman" names the engine as a container: URI does; "engine" says it on its own. Unknown engines fail here with the list.
    const { container, engineId } = splitContainerRef(String(config.container));
    if (engineId && config.engine && config.engine !== engineId) throw new Error(`"${config.name}" names the engine twice ("${config.container}" and "engine": "${config.engine}"); keep one.`);
    config.container = container;
    if (engineId) config.engine = engineId;
    const engine = this.ctx.engineFor(config.engine);
    let picked: { nsPid: number; command: string } | undefined;
    if ((config.processId === undefined || config.processId === '') && !config.processName) {
      const target = await engine.inspect(String(config.container));
      if (target.state !== 'running' || !target.pid) {
        void vscode.window.showErrorMessage(`Container ${target.name} is ${target.state}, not running; start it to debug its processes.`);
        return undefined;
      }
      picked = await pickProcess(this.ctx, target.id, target.name, target.pid, engine);
      if (!picked) return undefined;
      config.processId = picked.nsPid;
    }
    if (config.debugger === undefined && (config.processId !== undefined && config.processId !== '')) {
      // No debugger named: pick it by what the process runs (gdb when that cannot be told).
      const target = await engine.inspect(String(config.container));
      const proc = target.pid ? (await listProcesses(this.ctx, target.id, target.pid, engine).catch(() => [])).find((p) => p.nsPid === Number(config.processId)) : undefined;
      if (proc) config.debugger = debuggerForProcess({ command: proc.command, go: await isGoProcess(this.ctx, target.id, proc, engine) });
      picked ??= proc;
    }
    if (config.debugger === 'node') return this.resolveNode(config, picked);
    const launcher = dapLauncher(config.debugger);
    if (launcher) return this.resolveDap(config, launcher);
    // launch.json belongs to the workspace: its image needs the same consent as a workspace setting.
    if (config.image) config.image = await launchImage(this.ctx, config.image, GDB_IMAGE_SETTING, '');
    if (!config.image) {
      const image = await gdbImageForWorkbench(this.ctx, engine);
      if (!image) return undefined;
      config.image = image;
    }
    return config;
  }

  /**
   * A runtime whose debugger speaks DAP (python, go): the process by name
   * resolved, the debugger image built if needed, and the source map given or
   * inferred from the process's script as for node. The adapter factory starts
   * the sidecars; a relay carries DAP (see dapRelay.ts).
   */
  private async resolveDap(config: vscode.DebugConfiguration, launcher: DapLauncher): Promise<vscode.DebugConfiguration | undefined> {
    if (!this.sidecars) throw new Error('Port forwarding is not available in this window; reload it and try again.');
    const engine = this.ctx.engineFor(config.engine);
    const target = await engine.inspect(String(config.container));
    if (target.state !== 'running' || !target.pid) throw new Error(`Container ${target.name} is ${target.state}, not running; start it to debug its processes.`);
    const procs = await listProcesses(this.ctx, target.id, target.pid, engine);
    if (config.processId !== undefined && config.processId !== '') {
      const pid = Number(config.processId);
      if (!Number.isInteger(pid) || pid <= 0) throw new Error(`"processId" must be a PID inside the container, not ${JSON.stringify(config.processId)}.`);
      config.processId = pid;
    } else {
      config.processId = pickByName(procs, String(config.processName), target.name).nsPid;
    }
    // launch.json belongs to the workspace: its image needs the same consent as a workspace setting.
    if (config.image) config.image = await launchImage(this.ctx, config.image, launcher.imageSetting, '');
    if (!config.image) {
      const image = await builtImageForWorkbench(this.ctx, { setting: launcher.imageSetting, what: launcher.label, spec: (dir) => launcher.imageSpec(dir), engine });
      if (!image) return undefined;
      config.image = image;
    }
    if (!config.sourceFileMap && launcher.inferSourceFileMap) {
      const proc = procs.find((p) => p.nsPid === config.processId);
      const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
      const map = await launcher.inferSourceFileMap({ engine, containerId: target.id, hostPid: proc?.hostPid, command: proc?.command ?? '', folders, editorFiles: editorFiles(), exists: (p) => fs.existsSync(p) });
      if (map) {
        this.ctx.log.info(`${launcher.label}: sources of PID ${config.processId} in ${target.name}: ${Object.entries(map).map(([r, l]) => `${r} is ${l}`).join(', ')} (the workspace holds the same files)`);
        config.sourceFileMap = map;
      }
    } else if (!config.sourceFileMap) {
      const command = procs.find((p) => p.nsPid === config.processId)?.command ?? '';
      const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
      const roots = inferRoots(scriptPath(command), folders, (p) => fs.existsSync(p));
      if (roots) {
        this.ctx.log.info(`${launcher.label}: ${roots.remoteRoot} in ${target.name} is ${roots.localRoot} (the workspace holds the same script)`);
        config.sourceFileMap = { [roots.remoteRoot]: roots.localRoot };
      }
    }
    // The id names container: URIs for sources that are not in the workspace.
    config.sidecarContainerId = target.id;
    return config;
  }

  /**
   * debugger "node": open the inspector, forward it, and hand over to VS
   * Code's node debugger. This runs in the first resolution step on purpose:
   * a type changed there goes through the new type's resolvers (js-debug's),
   * and ${workspaceFolder} in localRoot is substituted afterwards.
   * `picked` is the process the user already chose (its command line), so it is not listed again.
   */
  private async resolveNode(config: vscode.DebugConfiguration, picked?: { nsPid: number; command: string }): Promise<vscode.DebugConfiguration | undefined> {
    if (!this.sidecars) throw new Error('Port forwarding is not available in this window; reload it and try again.');
    const engine = this.ctx.engineFor(config.engine);
    const forwards = this.sidecars.forwardsOn(engine);
    const target = await engine.inspect(String(config.container));
    if (target.state !== 'running' || !target.pid) throw new Error(`Container ${target.name} is ${target.state}, not running; start it to debug its processes.`);
    const image = await imageForStart(this.ctx, SIGNAL_IMAGE_SETTING, 'busybox:latest');
    let pid: number;
    let command = picked?.command;
    if (config.processId !== undefined && config.processId !== '') {
      pid = Number(config.processId);
      if (!Number.isInteger(pid) || pid <= 0) throw new Error(`"processId" must be a PID inside the container, not ${JSON.stringify(config.processId)}.`);
    } else if (config.processName) {
      // Nothing is signalled unless exactly one process matches.
      const p = pickByName(await listProcesses(this.ctx, target.id, target.pid, engine), String(config.processName), target.name);
      pid = p.nsPid;
      command = p.command;
    } else {
      pid = 1;
    }
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Attaching the Node.js debugger to PID ${pid} in ${target.name}` }, async (progress) => {
      const report = (m: string) => progress.report({ message: m });
      report(`sending SIGUSR1, forwarding port ${INSPECTOR_PORT}`);
      // Two sidecars that need nothing from each other start at once: the signal's and the tunnel's.
      const [signalled, forwarded] = await Promise.allSettled([
        sendInspectSignal(engine, { target: target.id, pid, image, setting: SIGNAL_IMAGE_SETTING, onProgress: report }),
        forwards.forward({ target: target.id, remotePort: INSPECTOR_PORT, localPort: 0, onProgress: report }),
      ]);
      const fwd = forwarded.status === 'fulfilled' ? forwarded.value : undefined;
      let script: string | undefined;
      let discovery: InspectorDiscovery;
      try {
        // The signal's error says more (no such process, not node) than the forward's.
        if (signalled.status === 'rejected') throw signalled.reason;
        if (!fwd) throw (forwarded as PromiseRejectedResult).reason;
        // The inspector names the script it runs: the roots need no process listing.
        discovery = await waitForInspector(fwd.localPort);
        script = inspectorScript(discovery['/json/list']) ?? (command ? scriptPath(command) : undefined);
      } catch (err) {
        if (fwd) await forwards.stop(fwd.id);
        throw err;
      }
      const roots = await this.nodeRoots(config, script, target.name);
      // js-debug talks to the proxy, never to the forward: see cdpProxy.ts for why.
      const proxy = await startCdpProxy({ upstreamPort: fwd.localPort, log: this.ctx.log, discovery: { ...discovery } });
      this.ctx.log.info(`Node.js inspector of PID ${pid} in ${target.name} forwarded to 127.0.0.1:${fwd.localPort}, debugger proxy on 127.0.0.1:${proxy.port}`);
      if (!vscode.extensions.getExtension(JS_DEBUG)) this.ctx.log.warn(`${JS_DEBUG} is not installed; the node attach needs VS Code's built-in JavaScript debugger.`);
      // The proxy and the forward live as long as the node session.
      const sub = vscode.debug.onDidTerminateDebugSession((s) => {
        if (s.configuration.sidecarForward !== fwd.id) return;
        sub.dispose();
        void proxy.close().then(() => forwards.stop(fwd.id)).then(() => this.offerCloseInspector(target.id, target.name, pid, engine));
      });
      return {
        type: 'node',
        request: 'attach',
        name: config.name,
        address: '127.0.0.1',
        port: proxy.port,
        ...roots,
        // What keeps the host safe is the proxy: js-debug SIGKILLs the tree of the PID it read from the
        // debuggee when a session is terminated (Stop), and the proxy never lets it read one. These two
        // stay off because they walk the HOST's process tree from that PID and inject NODE_OPTIONS into
        // the target. (js-debug's attach ignores killBehavior, so it is not set.)
        attachExistingChildren: false,
        autoAttachChildProcesses: false,
        sidecarForward: fwd.id,
        sidecarContainer: target.name,
      };
    });
  }

  /** localRoot/remoteRoot: the configuration's, else inferred from the script and the workspace, else asked for once. */
  private async nodeRoots(config: vscode.DebugConfiguration, script: string | undefined, container: string): Promise<{ localRoot?: string; remoteRoot?: string }> {
    if (config.localRoot && config.remoteRoot) return { localRoot: config.localRoot, remoteRoot: config.remoteRoot };
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const inferred = inferRoots(script, folders, (p) => fs.existsSync(p));
    if (inferred) {
      this.ctx.log.info(`node attach: ${inferred.remoteRoot} in ${container} is ${inferred.localRoot} (the workspace holds the same script)`);
      return inferred;
    }
    const remoteRoot = config.remoteRoot ?? (script && path.posix.dirname(script));
    if (!remoteRoot) return {};
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true, canSelectFiles: false, canSelectMany: false, defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      title: `Which local folder holds the sources of ${remoteRoot} in ${container}? (Cancel to attach without breakpoints in local files)`, openLabel: 'Use as localRoot',
    });
    if (!picked?.[0]) return { remoteRoot };
    const localRoot = picked[0].fsPath;
    void vscode.window.showInformationMessage(`Save localRoot ${localRoot} and remoteRoot ${remoteRoot} to launch.json, so you are not asked again?`, 'Save').then(async (choice) => {
      if (choice !== 'Save') return;
      const launch = vscode.workspace.getConfiguration('launch', vscode.workspace.workspaceFolders?.[0]);
      const list = launch.get<vscode.DebugConfiguration[]>('configurations') ?? [];
      const saved = { ...config, type: DEBUG_TYPE, request: 'attach', debugger: 'node', localRoot, remoteRoot };
      await launch.update('configurations', [...list.filter((c) => c.name !== config.name), saved], vscode.ConfigurationTarget.WorkspaceFolder);
    });
    return { localRoot, remoteRoot };
  }

  /** Node keeps the inspector that SIGUSR1 opened listening after the debugger leaves; say so, and offer to close it. */
  private offerCloseInspector(targetId: string, name: string, pid: number, engine: Engine): void {
    const msg = `Detached from PID ${pid} in ${name}; it runs on. Node keeps its inspector listening on 127.0.0.1:${INSPECTOR_PORT} inside the container until the process ends.`;
    this.ctx.log.info(msg);
    void vscode.window.showInformationMessage(msg, 'Close Inspector').then(async (choice) => {
      if (choice !== 'Close Inspector' || !this.sidecars) return;
      const forwards = this.sidecars.forwardsOn(engine);
      const fwd = await forwards.forward({ target: targetId, remotePort: INSPECTOR_PORT, localPort: 0 });
      try {
        const closed = await closeInspector({ upstreamPort: fwd.localPort });
        this.ctx.log.info(closed ? `Closed the inspector of PID ${pid} in ${name}.` : `The inspector of PID ${pid} in ${name} could not be closed (require is not reachable, e.g. an ES module).`);
      } finally {
        await forwards.stop(fwd.id);
      }
    });
  }
}

/** Whether a process runs a Go program (its executable read through /proc, else from the container); undefined when that cannot be told. */
async function isGoProcess(ctx: SidecarContext, containerId: string, proc: { hostPid?: number; command: string }, engine = ctx.engine): Promise<boolean | undefined> {
  return (await processExe({ engine, containerId, hostPid: proc.hostPid, command: proc.command }))?.go;
}

/** Workspace files the user has breakpoints in, and the active editor's: they pin source mappings down. */
function editorFiles(): string[] {
  const files = new Set<string>();
  for (const bp of vscode.debug.breakpoints) {
    if (bp instanceof vscode.SourceBreakpoint && bp.location.uri.scheme === 'file') files.add(bp.location.uri.fsPath);
  }
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.scheme === 'file') files.add(active.fsPath);
  return [...files];
}

/** The inline adapter for a DAP runtime: a relay to the server its launcher starts, under a progress notification. */
function dapAdapter(ctx: SidecarContext, launcher: DapLauncher, config: vscode.DebugConfiguration, sidecars?: SidecarManager): vscode.DebugAdapterDescriptor {
  if (!sidecars) throw new Error('Port forwarding is not available in this window; reload it and try again.');
  const args = config as SidecarAttachArguments & vscode.DebugConfiguration;
  const engine = ctx.engineFor(args.engine);
  const forwards = sidecars.forwardsOn(engine);
  const relay = new DapRelay({
    start: () => vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Attaching ${launcher.label} to PID ${String(args.processId)} in ${args.container}` }, async (progress) => {
      const target = await engine.inspect(args.container);
      return launcher.start(
        { containerId: target.id, containerName: target.name, processId: Number(args.processId), image: String(args.image), config: args },
        { engine, forwards, onProgress: (message) => progress.report({ message }), log: (level, msg) => ctx.log[level](msg) },
      );
    }),
    // Sources outside the workspace open as container: URIs, which name the engine unless it is the default.
    paths: dapPaths(args.sourceFileMap, containerRef(String(config.sidecarContainerId ?? args.container), ctx.engines.idFor(engine)), (p) => fs.existsSync(p)),
    terminateOnStop: args.terminateOnStop === true,
    log: (level, msg) => ctx.log[level](`[${launcher.label}] ${msg}`),
  });
  return new vscode.DebugAdapterInlineImplementation(relay);
}
