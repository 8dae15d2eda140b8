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
import { splitContainerRef } from '../engine/engines';
import { SidecarPty } from './terminal';
import { imageForStart, imageNow, profilesForStart } from '../trust/consent';

export const TUNNEL_IMAGE_SETTING = 'sidecar.ports.tunnelImage';

/** What the attach command returns: enough for tests and for other features to follow the session. */
export interface AttachedSidecar {
  sidecarId: string;
  targetId: string;
  /** The engine of the target and the sidecar. */
  engine: Engine;
  profile: string;
  terminal: vscode.Terminal;
  pty: SidecarPty;
  session: SidecarTerminalSession;
}

/** Arguments the commands accept: a tree item with `container`, a `container:` Uri, an id or name, or nothing. */
type TargetArg = { container?: Pick<ContainerModel, 'id' | 'name' | 'state' | 'engineId'>; containerId?: string; engineId?: string } | vscode.Uri | string | undefined;

/** A picked target: the container reference and the engine that holds it. */
interface Picked {
  ref: string;
  engine: Engine;
}

let active: SidecarManager | undefined;

export class SidecarManager implements vscode.Disposable {
  readonly sessions = new Map<string, AttachedSidecar>();
  /** Port forwards run on their target's engine: one service per engine. */
  private readonly forwardServices = new Map<Engine, PortForwardService>();
  /** Every engine this window started sidecars on, for the cleanup on deactivate. */
  private readonly usedEngines = new Set<Engine>();
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

  /** The default engine's forwards. */
  get forwards(): PortForwardService {
    return this.forwardsOn(this.ctx.engine);
  }

  /** Forwards belong to one engine; a changed sidecar.engines setting ends them. */
  forwardsOn(engine: Engine): PortForwardService {
    let service = this.forwardServices.get(engine);
    if (!service) {
      this.usedEngines.add(engine);
      service = new PortForwardService(engine, {
        image: this.tunnelImage(),
        setting: TUNNEL_IMAGE_SETTING,
        log: (level, msg) => this.ctx.log[level](msg),
      });
      this.forwardServices.set(engine, service);
      service.onDidChange(() => this.changed());
    }
    return service;
  }

  /** The forward service that holds a forward id. */
  private serviceOf(forwardId: string): PortForwardService | undefined {
    return [...this.forwardServices.values()].find((s) => s.list().some((f) => f.id === forwardId));
  }

  /** " on <engine>" when there is more than one engine, so the status bar says where a sidecar runs. */
  private onEngine(engine: Engine): string {
    try {
      return this.ctx.engines.multiple ? ` on ${engine.name}` : '';
    } catch {
      return '';
    }
  }

  private tunnelImage(): string {
    return imageNow(this.ctx, TUNNEL_IMAGE_SETTING, 'busybox:latest');
  }

  private async resetForwards(): Promise<void> {
    // Engines that are still configured keep their forwards.
    let keep: Engine[] = [];
    try {
      keep = this.ctx.engines.all;
    } catch {
      // none configured: end them all
    }
    const gone = [...this.forwardServices].filter(([e]) => !keep.includes(e));
    for (const [e] of gone) this.forwardServices.delete(e);
    await Promise.all(gone.map(([, s]) => s.dispose()));
    this.changed();
  }

  activeForwards(): ActiveForward[] {
    return [...this.forwardServices.values()].flatMap((s) => s.list());
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
    const lines = [...this.sessions.values()].map((s) => `Debugger sidecar on ${s.session.target.name}${this.onEngine(s.engine)} (${s.profile})`)
      .concat([...this.forwardServices].flatMap(([e, svc]) => svc.list().map((x) => `127.0.0.1:${x.localPort} → ${x.target.name}:${x.remotePort}${this.onEngine(e)}`)));
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
    const picked = await this.pickTarget(arg, 'Attach a debugger container to which container?');
    if (!picked) return undefined;
    const { ref, engine } = picked;
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
    const terminal = vscode.window.createTerminal({ name: `Sidecar: ${target.name}${this.onEngine(engine)}`, pty, iconPath: new vscode.ThemeIcon('debug-alt') });
    this.usedEngines.add(engine);
    const attached: AttachedSidecar = { sidecarId: session.id, targetId: target.id, engine, profile: profile.name, terminal, pty, session };
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
    let engine = this.ctx.engineFor(this.ctx.engineIdOf(arg));
    if (!id) {
      const engines = this.ctx.engines.all;
      const all = (await Promise.all(engines.map(async (e) => (await listSidecars(e).catch(() => [])).map((s) => ({ s, e }))))).flat();
      if (!all.length) {
        void vscode.window.showInformationMessage('No sidecars are running.');
        return;
      }
      const pick = await vscode.window.showQuickPick(all.map(({ s, e }) => ({ label: s.name, description: `${s.role} · ${s.state}${this.onEngine(e)}`, detail: s.owner === processOwner ? 'started by this window' : 'started by another window', id: s.id, e })), { title: 'Detach which sidecar?' });
      id = pick?.id;
      if (pick) engine = pick.e;
    }
    if (!id) return;
    const mine = [...this.sessions.values()].find((s) => s.sidecarId === id || s.sidecarId.startsWith(id));
    if (mine) {
      await mine.session.close();
      mine.terminal.dispose();
      return;
    }
    const forward = this.activeForwards().find((f) => f.tunnelId === id);
    if (forward) return this.serviceOf(forward.id)?.stop(forward.id);
    await removeSidecar(engine, id);
    this.log.info(`Removed sidecar ${id.slice(0, 12)}`);
  }

  async forward(arg: TargetArg, port?: unknown, localPort?: unknown): Promise<ActiveForward | undefined> {
    const picked = await this.pickTarget(arg, 'Forward a port of which container?');
    if (!picked) return undefined;
    const { ref, engine } = picked;
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
    const target = await runningTarget(engine, ref);
    const f = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Forwarding port ${remotePort} of ${target.name}`, cancellable: true }, async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        return await this.forwardsOn(engine).forward({
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
      await this.serviceOf(x)?.stop(x);
    }
  }

  /** The status bar's menu: every sidecar and forward of this window. */
  async showList(): Promise<void> {
    type Item = vscode.QuickPickItem & { run?: () => unknown };
    const items: Item[] = [];
    for (const s of this.sessions.values()) {
      items.push({ label: `$(terminal) ${s.session.target.name}`, description: `debugger · ${s.profile}${this.onEngine(s.engine)}`, detail: 'Show its terminal', run: () => s.terminal.show() });
      items.push({ label: `$(debug-disconnect) Detach from ${s.session.target.name}`, description: s.sidecarId.slice(0, 12), run: () => this.detach(s.sidecarId) });
    }
    for (const f of this.activeForwards()) {
      items.push({ label: `$(plug) 127.0.0.1:${f.localPort} → ${f.target.name}:${f.remotePort}`, description: `${f.connections} open`, detail: 'Stop this forward', run: () => this.serviceOf(f.id)?.stop(f.id) });
    }
    if (!items.length) items.push({ label: 'No sidecars or port forwards in this window.' });
    const pick = await vscode.window.showQuickPick(items, { title: 'Container Sidecar: sidecars and port forwards' });
    await pick?.run?.();
  }

  /** A container and its engine from the argument, or a quick pick of running containers on every engine (not our own sidecars). */
  private async pickTarget(arg: TargetArg, title: string): Promise<Picked | undefined> {
    if (typeof arg === 'string' && arg) {
      const { container, engineId } = splitContainerRef(arg);
      return { ref: container, engine: this.ctx.engineFor(engineId) };
    }
    if (arg instanceof vscode.Uri) {
      if (arg.scheme !== 'container' || !arg.authority) throw new Error(`${arg.toString()} is not a container file; open a container: file or pick a container.`);
      const { container, engineId } = splitContainerRef(arg.authority);
      return { ref: container, engine: this.ctx.engineFor(engineId) };
    }
    if (arg && typeof arg === 'object' && arg.container?.id) {
      if (arg.container.state && arg.container.state !== 'running') throw new Error(`Container ${arg.container.name} is ${arg.container.state}, not running; start it first.`);
      return { ref: arg.container.id, engine: this.ctx.engineFor(arg.container.engineId) };
    }
    // Process and Files rows carry only the id of their container (and their parents its engine).
    if (arg && typeof arg === 'object' && typeof arg.containerId === 'string' && arg.containerId) return { ref: arg.containerId, engine: this.ctx.engineFor(this.ctx.engineIdOf(arg)) };
    const engines = this.ctx.engines.all;
    const lists = await Promise.all(engines.map(async (engine) => (await engine.listContainers().catch(() => [])).map((c) => ({ c, engine }))));
    const running = lists.flat().filter(({ c }) => c.state === 'running' && c.labels[LABELS.managed] !== 'true');
    if (!running.length) throw new Error('No container is running. Start one, then try again.');
    const pick = await vscode.window.showQuickPick(running.map(({ c, engine }) => ({ label: c.name, description: `${c.image} · ${c.shortId}${this.onEngine(engine)}`, detail: c.status, id: c.id, engine })), { title, matchOnDescription: true });
    return pick && { ref: pick.id, engine: pick.engine };
  }

  /** Deactivate: end our sessions and forwards and remove whatever this window still owns. */
  async shutdown(): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((s) => s.session.close()));
    await Promise.allSettled([...this.forwardServices.values()].map((s) => s.dispose()));
    let engines = [...this.usedEngines];
    if (!engines.length) {
      try {
        engines = [this.ctx.engine];
      } catch {
        engines = [];
      }
    }
    await Promise.all(engines.map((e) => removeOwnedSidecars(e).catch((err: unknown) => this.log.warn(`Removing this window's sidecars on ${e.name} failed: ${String(err)}`))));
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
    let engines: Engine[];
    try {
      engines = ctx.engines.all;
    } catch {
      engines = [];
    }
    await Promise.all(engines.map(async (engine) => {
      try {
        const removed = await cleanupOrphans(engine);
        if (removed.length) ctx.log.info(`Removed ${removed.length} orphaned sidecar(s) on ${engine.name}: ${removed.map((s) => s.name).join(', ')}`);
      } catch (err) {
        ctx.log.warn(`Orphaned sidecar cleanup on ${engine.name} skipped: ${err instanceof Error ? err.message : String(err)}`);
      }
    }));
  })();
  return m;
}

/** Called from deactivate(): VS Code waits for this promise, unlike for disposables. */
export async function deactivateSidecars(): Promise<void> {
  await active?.shutdown();
  active = undefined;
}
