// Debugger sidecars and port forwards in the workbench: the commands, the
// terminals, a status bar item, and the lifecycle (orphans on activation,
// our own sidecars on deactivate). The engine-side work lives in src/engine/.
import * as vscode from 'vscode';
import type { SidecarContext } from '../context';
import type { ContainerModel } from '../engine/containers';
import type { Engine } from '../engine/engine';
import { hasImage } from '../engine/images';
import { type DebuggerProfile, PROFILES_SETTING, profileSpec } from '../engine/profiles';
import { type ActiveForward, parsePort, PortForwardService } from '../engine/portForward';
import { cleanupOrphans, LABELS, listSidecars, processOwner, removeOwnedSidecars, removeSidecar, runningTarget, sidecarWarnings } from '../engine/sidecars';
import { SidecarTerminalSession } from '../engine/terminalSession';
import { SidecarPty } from './terminal';
import { imageForStart, imageNow, profilesForStart } from '../trust/consent';

export const TUNNEL_IMAGE_SETTING = 'sidecar.ports.tunnelImage';

/** What the attach command returns: enough for tests and for other features to follow the session. */
export interface AttachedSidecar {
  sidecarId: string;
  targetId: string;
  profile: string;
  terminal: vscode.Terminal;
  pty: SidecarPty;
  session: SidecarTerminalSession;
}

/** Arguments the commands accept: a tree item with `container`, a `container:` Uri, an id or name, or nothing. */
type TargetArg = { container?: Pick<ContainerModel, 'id' | 'name' | 'state'>; containerId?: string } | vscode.Uri | string | undefined;

let active: SidecarManager | undefined;

export class SidecarManager implements vscode.Disposable {
  readonly sessions = new Map<string, AttachedSidecar>();
  private forwardService: PortForwardService | undefined;
  private forwardEngine: Engine | undefined;
  private readonly status = vscode.window.createStatusBarItem('sidecar.status', vscode.StatusBarAlignment.Left, 50);
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** Fires when sidecars or forwards of this window come or go. */
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly ctx: SidecarContext) {
    this.status.name = 'Container Sidecar';
    this.status.command = 'sidecar.debugger.list';
    ctx.extension.subscriptions.push(
      this.status,
      this.changeEmitter,
      ctx.onDidChangeEngine(() => void this.resetForwards()),
      // VS Code calls a Pseudoterminal's close() only once it was opened: a terminal
      // disposed before that (say, in the tick the attach returned) would leave its
      // sidecar running. Every closed terminal ends its sidecar here.
      vscode.window.onDidCloseTerminal((t) => {
        for (const s of this.sessions.values()) if (s.terminal === t) s.pty.close();
      }),
    );
    this.updateStatus();
  }

  get log(): vscode.LogOutputChannel {
    return this.ctx.log;
  }

  /** Forwards belong to one engine; a changed sidecar.engines setting ends them. */
  get forwards(): PortForwardService {
    const engine = this.ctx.engine;
    if (!this.forwardService || this.forwardEngine !== engine) {
      void this.forwardService?.dispose();
      this.forwardEngine = engine;
      this.forwardService = new PortForwardService(engine, {
        image: this.tunnelImage(),
        setting: TUNNEL_IMAGE_SETTING,
        log: (level, msg) => this.ctx.log[level](msg),
      });
      this.forwardService.onDidChange(() => this.changed());
    }
    return this.forwardService;
  }

  private tunnelImage(): string {
    return imageNow(this.ctx, TUNNEL_IMAGE_SETTING, 'busybox:latest');
  }

  private async resetForwards(): Promise<void> {
    const old = this.forwardService;
    this.forwardService = undefined;
    await old?.dispose();
    this.changed();
  }

  activeForwards(): ActiveForward[] {
    return this.forwardService?.list() ?? [];
  }

  changed(): void {
    this.updateStatus();
    void vscode.commands.executeCommand('setContext', 'sidecar:activeSidecars', this.sessions.size);
    void vscode.commands.executeCommand('setContext', 'sidecar:portForwards', this.activeForwards().length);
    this.changeEmitter.fire();
  }

  private updateStatus(): void {
    const n = this.sessions.size;
    const f = this.activeForwards().length;
    if (!n && !f) {
      this.status.hide();
      return;
    }
    const parts = [n ? `${n} sidecar${n === 1 ? '' : 's'}` : '', f ? `${f} forward${f === 1 ? '' : 's'}` : ''].filter(Boolean);
    this.status.text = `$(debug-alt) ${parts.join(', ')}`;
    const lines = [...this.sessions.values()].map((s) => `Debugger sidecar on ${s.session.target.name} (${s.profile})`)
      .concat(this.activeForwards().map((x) => `127.0.0.1:${x.localPort} → ${x.target.name}:${x.remotePort}`));
    this.status.tooltip = `Container Sidecar\n${lines.join('\n')}\nClick to show or stop them.`;
    this.status.show();
  }

  /** The profiles from the setting; problems become one clear message, never a silent skip. */
  async profiles(): Promise<DebuggerProfile[]> {
    const { profiles, problems } = await profilesForStart(this.ctx);
    if (problems.length && !profiles.length) throw new Error(`${problems.join(' ')} Fix the setting ${PROFILES_SETTING}.`);
    if (problems.length) {
      void vscode.window.showWarningMessage(`${problems.join(' ')} These profiles are left out.`, 'Open Settings').then((a) => {
        if (a) void vscode.commands.executeCommand('workbench.action.openSettings', PROFILES_SETTING);
      });
    }
    return profiles;
  }

  async attach(arg: TargetArg, profileName?: unknown): Promise<AttachedSidecar | undefined> {
    const ref = await this.pickTarget(arg, 'Attach a debugger container to which container?');
    if (!ref) return undefined;
    const profiles = await this.profiles();
    let profile: DebuggerProfile | undefined;
    if (typeof profileName === 'string') {
      profile = profiles.find((p) => p.name === profileName);
      if (!profile) throw new Error(`There is no debugger profile named "${profileName}"; the profiles are ${profiles.map((p) => `"${p.name}"`).join(', ')} (setting ${PROFILES_SETTING}).`);
    } else if (profiles.length === 1) {
      profile = profiles[0];
    } else {
      const pick = await vscode.window.showQuickPick(profiles.map((p) => ({ label: p.name, description: p.image, detail: `${p.command.join(' ')} · capabilities ${p.capabilities.join(', ') || 'none'}`, profile: p })), {
        title: 'Debugger profile',
        placeHolder: 'Which image and tools should the sidecar have?',
      });
      profile = pick?.profile;
    }
    if (!profile) return undefined;
    const engine = this.ctx.engine;
    const target = await runningTarget(engine, ref);
    const warnings = sidecarWarnings(target);
    if (warnings.some((w) => /--pid=host/.test(w))) {
      const go = await vscode.window.showWarningMessage(warnings.join('\n'), { modal: true }, 'Attach Anyway');
      if (go !== 'Attach Anyway') return undefined;
    }
    const spec = profileSpec(profile, target.id);
    // Pulls can take minutes: show a cancellable notification then; a local image starts in well under a second.
    const needsPull = !(await hasImage(engine, profile.image));
    const session = await vscode.window.withProgress({
      location: needsPull ? vscode.ProgressLocation.Notification : vscode.ProgressLocation.Window,
      title: `Attaching debugger container to ${target.name}`,
      cancellable: needsPull,
    }, async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        return await SidecarTerminalSession.open(engine, spec, { onProgress: (message) => progress.report({ message }), signal: abort.signal, setting: PROFILES_SETTING });
      } finally {
        sub.dispose();
      }
    });
    this.log.info(`Attached debugger sidecar ${session.id.slice(0, 12)} (${profile.name}, ${profile.image}) to ${target.name}`);
    const pty = new SidecarPty(session, { profile: profile.name, image: profile.image, warnings: [...warnings, ...(profile.warnings ?? [])] }, this.log);
    const terminal = vscode.window.createTerminal({ name: `Sidecar: ${target.name}`, pty, iconPath: new vscode.ThemeIcon('debug-alt') });
    const attached: AttachedSidecar = { sidecarId: session.id, targetId: target.id, profile: profile.name, terminal, pty, session };
    this.sessions.set(session.id, attached);
    session.onEnd(() => {
      this.sessions.delete(session.id);
      this.changed();
    });
    this.changed();
    terminal.show();
    return attached;
  }

  /** Detach from the tree (a sidecar item) or the palette (a quick pick of sidecars). */
  async detach(arg: TargetArg): Promise<void> {
    let id = typeof arg === 'string' ? arg : arg && !(arg instanceof vscode.Uri) ? arg.container?.id : undefined;
    if (!id) {
      const all = await listSidecars(this.ctx.engine);
      if (!all.length) {
        void vscode.window.showInformationMessage('No sidecars are running.');
        return;
      }
      const pick = await vscode.window.showQuickPick(all.map((s) => ({ label: s.name, description: `${s.role} · ${s.state}`, detail: s.owner === processOwner ? 'started by this window' : 'started by another window', id: s.id })), { title: 'Detach which sidecar?' });
      id = pick?.id;
    }
    if (!id) return;
    const mine = [...this.sessions.values()].find((s) => s.sidecarId === id || s.sidecarId.startsWith(id));
    if (mine) {
      await mine.session.close();
      mine.terminal.dispose();
      return;
    }
    const forward = this.activeForwards().find((f) => f.tunnelId === id);
    if (forward) return this.forwards.stop(forward.id);
    await removeSidecar(this.ctx.engine, id);
    this.log.info(`Removed sidecar ${id.slice(0, 12)}`);
  }

  async forward(arg: TargetArg, port?: unknown, localPort?: unknown): Promise<ActiveForward | undefined> {
    const ref = await this.pickTarget(arg, 'Forward a port of which container?');
    if (!ref) return undefined;
    let remote = port;
    if (remote === undefined) {
      remote = await vscode.window.showInputBox({
        title: 'Port inside the container',
        prompt: 'A port the container listens on in its own network namespace, e.g. 8080 or 9229 (Node inspector).',
        validateInput: (v) => { try { parsePort(v, 'The port'); return undefined; } catch (e) { return (e as Error).message; } },
      });
      if (remote === undefined) return undefined;
    }
    const remotePort = parsePort(remote, 'The container port');
    const target = await runningTarget(this.ctx.engine, ref);
    const f = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Forwarding port ${remotePort} of ${target.name}`, cancellable: true }, async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        return await this.forwards.forward({
          target: target.id, remotePort, localPort: localPort === undefined ? undefined : localPort === 0 ? 0 : parsePort(localPort, 'The local port'),
          image: await imageForStart(this.ctx, TUNNEL_IMAGE_SETTING, 'busybox:latest'),
          onProgress: (message) => progress.report({ message }), signal: abort.signal,
        });
      } finally {
        sub.dispose();
      }
    });
    const address = `127.0.0.1:${f.localPort}`;
    void vscode.window.showInformationMessage(`Forwarding ${address} to port ${remotePort} inside ${target.name}.`, 'Open in Browser', 'Copy Address').then((a) => {
      if (a === 'Open in Browser') void vscode.env.openExternal(vscode.Uri.parse(`http://${address}/`));
      if (a === 'Copy Address') void vscode.env.clipboard.writeText(address);
    });
    return f;
  }

  async stopForward(id?: unknown): Promise<void> {
    const list = this.activeForwards();
    let ids: string[] = typeof id === 'string' ? [id] : [];
    if (!ids.length) {
      if (!list.length) {
        void vscode.window.showInformationMessage('No ports are forwarded.');
        return;
      }
      const picks = await vscode.window.showQuickPick(list.map((f) => ({ label: `127.0.0.1:${f.localPort} → ${f.target.name}:${f.remotePort}`, description: `${f.connections} open connection${f.connections === 1 ? '' : 's'}`, id: f.id })), { title: 'Stop which port forwards?', canPickMany: true });
      ids = picks?.map((p) => p.id) ?? [];
    }
    for (const x of ids) {
      if (!list.some((f) => f.id === x)) throw new Error(`No active port forward "${x}"; run "List Port Forwards" to see them.`);
      await this.forwards.stop(x);
    }
  }

  /** The status bar's menu: every sidecar and forward of this window. */
  async showList(): Promise<void> {
    type Item = vscode.QuickPickItem & { run?: () => unknown };
    const items: Item[] = [];
    for (const s of this.sessions.values()) {
      items.push({ label: `$(terminal) ${s.session.target.name}`, description: `debugger · ${s.profile}`, detail: 'Show its terminal', run: () => s.terminal.show() });
      items.push({ label: `$(debug-disconnect) Detach from ${s.session.target.name}`, description: s.sidecarId.slice(0, 12), run: () => this.detach(s.sidecarId) });
    }
    for (const f of this.activeForwards()) {
      items.push({ label: `$(plug) 127.0.0.1:${f.localPort} → ${f.target.name}:${f.remotePort}`, description: `${f.connections} open`, detail: 'Stop this forward', run: () => this.forwards.stop(f.id) });
    }
    if (!items.length) items.push({ label: 'No sidecars or port forwards in this window.' });
    const pick = await vscode.window.showQuickPick(items, { title: 'Container Sidecar: sidecars and port forwards' });
    await pick?.run?.();
  }

  /** A container id from the argument, or a quick pick of running containers (not our own sidecars). */
  private async pickTarget(arg: TargetArg, title: string): Promise<string | undefined> {
    if (typeof arg === 'string' && arg) return arg;
    if (arg instanceof vscode.Uri) {
      if (arg.scheme !== 'container' || !arg.authority) throw new Error(`${arg.toString()} is not a container file; open a container: file or pick a container.`);
      return arg.authority;
    }
    if (arg && typeof arg === 'object' && arg.container?.id) {
      if (arg.container.state && arg.container.state !== 'running') throw new Error(`Container ${arg.container.name} is ${arg.container.state}, not running; start it first.`);
      return arg.container.id;
    }
    // Process and Files rows carry only the id of their container.
    if (arg && typeof arg === 'object' && typeof arg.containerId === 'string' && arg.containerId) return arg.containerId;
    const running = (await this.ctx.engine.listContainers()).filter((c) => c.state === 'running' && c.labels[LABELS.managed] !== 'true');
    if (!running.length) throw new Error('No container is running. Start one, then try again.');
    const pick = await vscode.window.showQuickPick(running.map((c) => ({ label: c.name, description: `${c.image} · ${c.shortId}`, detail: c.status, id: c.id })), { title, matchOnDescription: true });
    return pick?.id;
  }

  /** Deactivate: end our sessions and forwards and remove whatever this window still owns. */
  async shutdown(): Promise<void> {
    const engine = this.forwardEngine;
    await Promise.allSettled([...this.sessions.values()].map((s) => s.session.close()));
    await this.forwardService?.dispose();
    await removeOwnedSidecars(engine ?? this.ctx.engine).catch((err: unknown) => this.log.warn(`Removing this window's sidecars failed: ${String(err)}`));
  }

  dispose(): void {
    this.status.dispose();
  }
}

export function registerSidecars(ctx: SidecarContext): SidecarManager {
  const m = new SidecarManager(ctx);
  active = m;
  ctx.extension.subscriptions.push(m);
  ctx.registerCommand('sidecar.debugger.attach', (arg?: TargetArg, profile?: unknown) => m.attach(arg, profile));
  ctx.registerCommand('sidecar.debugger.detach', (arg?: TargetArg) => m.detach(arg));
  ctx.registerCommand('sidecar.debugger.list', () => m.showList());
  ctx.registerCommand('sidecar.ports.forward', (arg?: TargetArg, port?: unknown, localPort?: unknown) => m.forward(arg, port, localPort));
  ctx.registerCommand('sidecar.ports.stop', (id?: unknown) => m.stopForward(id));
  // Sidecars of a crashed window: remove those whose target or owner is gone. Failing here must not block activation.
  void (async () => {
    try {
      const removed = await cleanupOrphans(ctx.engine);
      if (removed.length) ctx.log.info(`Removed ${removed.length} orphaned sidecar(s): ${removed.map((s) => s.name).join(', ')}`);
    } catch (err) {
      ctx.log.warn(`Orphaned sidecar cleanup skipped: ${err instanceof Error ? err.message : String(err)}`);
    }
  })();
  return m;
}

/** Called from deactivate(): VS Code waits for this promise, unlike for disposables. */
export async function deactivateSidecars(): Promise<void> {
  await active?.shutdown();
  active = undefined;
}
