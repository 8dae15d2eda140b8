// The Containers view: every container of the engine, grouped by compose
// project, with its namespaces, processes, files and sidecars. Items are kept
// and reused between refreshes, so an event fires a change for the affected
// items only and expanded nodes stay expanded.
import * as vscode from 'vscode';
import type { ContainerHealth, ContainerModel, ContainerState, HealthStatus } from '../engine/containers';
import type { SidecarContext } from '../context';
import type { Engine } from '../engine/engine';
import { NS_DESCRIPTIONS, NS_TYPES, type NsSharing, type NsType } from '../procfs/namespaces';
import { containerProcesses, type ProcessInfo, treeFromNamespace } from '../procfs/processes';
import { listProcessesInTarget } from '../debug/nodeInspector';
import { imageNow, withTrustNote } from '../trust/consent';
import { describeStatus, type ContainerEntry, type EngineStatus, ExplorerModel, type ModelChange } from './model';

export type { EngineStatus } from './model';

const STATE_ICONS: Record<ContainerState, [string, string]> = {
  running: ['vm-running', 'testing.iconPassed'],
  paused: ['debug-pause', 'charts.yellow'],
  restarting: ['sync', 'charts.yellow'],
  created: ['circle-outline', 'disabledForeground'],
  removing: ['trash', 'disabledForeground'],
  exited: ['vm-outline', 'disabledForeground'],
  dead: ['error', 'errorForeground'],
};

/** A running container's colour says what its HEALTHCHECK says; the description says it in words. */
const HEALTH_COLORS: Record<HealthStatus, string> = {
  healthy: 'testing.iconPassed',
  starting: 'charts.yellow',
  unhealthy: 'errorForeground',
};

/** The tooltip's health lines: the verdict, the failing streak and what the last probe printed. */
export function healthRows(h: ContainerHealth): [string, string][] {
  const streak = h.failingStreak ? `, ${h.failingStreak} failed probe${h.failingStreak === 1 ? '' : 's'} in a row` : '';
  const rows: [string, string][] = [['Health', `${h.status}${streak}`]];
  if (h.lastProbe) {
    const out = h.lastProbe.output.replace(/\s+/g, ' ').trim();
    const shown = out.length > 200 ? `${out.slice(0, 199)}…` : out;
    const when = h.lastProbe.end ? ` at ${h.lastProbe.end.toLocaleTimeString()}` : '';
    rows.push(['Last probe', `exit code ${h.lastProbe.exitCode}${when}${shown ? `: ${shown}` : ' (no output)'}`]);
  }
  return rows;
}

const isLive = (s: ContainerState) => s === 'running' || s === 'paused' || s === 'restarting';

type Node = EngineItem | GroupItem | ContainerItem | SectionItem | NamespaceItem | ProcessItem | FilesItem | InfoItem;

/** With more than one engine, each is a root: its name, its state, and its containers below. */
export class EngineItem extends vscode.TreeItem {
  constructor(readonly engineId: string) {
    super(engineId, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `engine:${engineId}`;
  }

  /** Updates in place from the engine and its model's status. */
  describe(engine: Engine, model: ExplorerModel, isDefault: boolean): void {
    const e = engine.endpoint;
    this.label = engine.name;
    const up = model.loaded && model.status.ok;
    const state = !model.loaded ? 'connecting…' : up ? 'connected' : 'down';
    const reason = !model.status.ok ? model.status.error : undefined;
    this.description = reason ? `down · ${shortReason(reason)}` : `${state}${up ? ` · ${model.containers.size} container${model.containers.size === 1 ? '' : 's'}` : ''}`;
    this.contextValue = `engine.${up ? 'connected' : model.loaded ? 'down' : 'connecting'}`;
    this.iconPath = new vscode.ThemeIcon(e.source === 'podman' ? 'package' : e.options.socketPath ? 'server' : 'remote', new vscode.ThemeColor(up ? 'testing.iconPassed' : model.loaded ? 'errorForeground' : 'disabledForeground'));
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${escape(engine.name)}**${isDefault ? ' (default engine)' : ''}\n\n`);
    const rows: [string, string][] = [
      ['Endpoint', e.label],
      ['Found in', SOURCES[e.source ?? 'setting']],
      ['Id', `${engine.id} (container://<container>@${engine.id}/… names it)`],
      ['State', reason ? `down: ${reason}` : state],
    ];
    // The transport's own warning, e.g. for plain tcp (src/engine/transport.ts).
    if (e.warning) rows.push(['Warning', e.warning]);
    md.appendMarkdown(rows.map(([k, v]) => `${k}: ${escape(v)}`).join('  \n'));
    this.tooltip = md;
  }
}

const SOURCES: Record<string, string> = {
  setting: 'the setting sidecar.engines',
  environment: 'DOCKER_HOST',
  context: 'the Docker CLI\'s contexts',
  default: 'the default socket',
  podman: 'Podman\'s socket',
};

/** "No Docker Engine answers at X: the socket does not exist. Start…" -> "the socket does not exist". */
function shortReason(error: string): string {
  const m = /answers at \S+: ([^.]*)/.exec(error);
  return m ? m[1] : error.length > 60 ? `${error.slice(0, 59)}…` : error;
}

export class GroupItem extends vscode.TreeItem {
  constructor(readonly project: string) {
    super(project, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `group:${project}`;
    this.iconPath = new vscode.ThemeIcon('layers');
    this.contextValue = 'composeProject';
  }
}

export class ContainerItem extends vscode.TreeItem {
  container!: ContainerModel;
  /** Under a target's "Sidecars": contextValue starts with "sidecar". */
  constructor(container: ContainerModel, readonly parentNode: GroupItem | SectionItem | undefined, readonly asSidecar = false) {
    super(container.name, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = asSidecar ? `sidecar:${parentNode && 'containerId' in parentNode ? parentNode.containerId : ''}:${container.id}` : `container:${container.id}`;
    if (asSidecar) this.collapsibleState = vscode.TreeItemCollapsibleState.None;
    this.update(container);
  }

  /** Updates in place; returns true when something visible changed. */
  update(c: ContainerModel & { pid?: number; exitCode?: number; finishedAt?: Date; startedAt?: Date; error?: string }, now = Date.now()): boolean {
    const before = `${this.description}|${this.contextValue}|${this.label}`;
    this.container = c;
    this.label = c.name;
    const role = c.labels['io.container-sidecar.role'];
    const status = describeStatus(c, now);
    this.description = this.asSidecar && role ? `${role} · ${status}` : `${status} · ${c.image} · ${c.shortId}`;
    const [icon, color] = STATE_ICONS[c.state] ?? STATE_ICONS.dead;
    const health = c.state === 'running' ? c.health : undefined;
    this.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(health ? HEALTH_COLORS[health.status] : color));
    const flags = c.labels['io.container-sidecar.managed'] === 'true' ? '.managed' : '';
    this.contextValue = this.asSidecar ? `sidecar.${c.state}${flags}` : `${c.state}${flags}`;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${escape(c.name)}** \`${c.shortId}\`\n\n`);
    const rows: [string, string][] = [
      ['Image', c.image],
      ['State', c.status],
      ['Host PID', c.pid ? String(c.pid) : 'none (not running)'],
      ['Ports', c.ports.length ? c.ports.join(', ') : 'none'],
      ['Created', c.created.toLocaleString()],
      ['Command', c.command],
    ];
    if (health) rows.push(...healthRows(health));
    if (c.exitCode !== undefined) rows.push(['Exit code', String(c.exitCode)]);
    if (c.finishedAt && !isLive(c.state)) rows.push(['Stopped at', c.finishedAt.toLocaleString()]);
    if (c.error) rows.push(['Error', c.error]);
    if (c.composeProject) rows.push(['Compose project', c.composeProject]);
    md.appendMarkdown(rows.map(([k, v]) => `${k}: ${escape(v)}`).join('  \n'));
    this.tooltip = md;
    return before !== `${this.description}|${this.contextValue}|${this.label}`;
  }
}

function escape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (m) => `\\${m}`);
}

type SectionKind = 'namespaces' | 'processes' | 'sidecars';

export class SectionItem extends vscode.TreeItem {
  constructor(readonly kind: SectionKind, readonly containerId: string, readonly parentNode: ContainerItem) {
    super({ namespaces: 'Namespaces', processes: 'Processes', sidecars: 'Sidecars' }[kind], vscode.TreeItemCollapsibleState.Collapsed);
    this.id = `${kind}:${containerId}`;
    this.contextValue = kind;
    this.iconPath = new vscode.ThemeIcon({ namespaces: 'symbol-namespace', processes: 'pulse', sidecars: 'debug-alt' }[kind]);
  }
}

export class NamespaceItem extends vscode.TreeItem {
  constructor(readonly nsType: NsType, readonly sharing: NsSharing, readonly containerId: string, readonly parentNode: SectionItem, names: (id: string) => string, unknownReason?: string) {
    super(nsType, vscode.TreeItemCollapsibleState.None);
    this.id = `ns:${containerId}:${nsType}`;
    const shared = sharing.host || sharing.with.length > 0;
    const whom = [...(sharing.host ? ['host'] : []), ...sharing.with.map(names)];
    const inode = sharing.inode !== undefined ? `inode ${sharing.inode}` : 'inode unknown';
    // Docker leaves most containers in the host's user, time (and on cgroup v1, cgroup) namespaces:
    // naming them all would bury the sharing that matters, so the host's count only.
    const text = sharing.host
      ? `shared with host${sharing.with.length ? ` and ${sharing.with.length} container${sharing.with.length === 1 ? '' : 's'}` : ''}`
      : shared ? `shared with ${whom.join(', ')}` : 'private';
    // What a person came for leads; a narrow side bar cuts the tail, where the inode is.
    this.description = `${text} · ${inode}`;
    this.contextValue = shared ? 'namespace.shared' : 'namespace';
    // Shared with other containers is what a person debugging looks for; the host's namespaces get their own icon.
    this.iconPath = new vscode.ThemeIcon(sharing.host ? 'home' : sharing.with.length ? 'link' : 'symbol-namespace', shared ? new vscode.ThemeColor('charts.orange') : undefined);
    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${nsType}** namespace (${NS_DESCRIPTIONS[nsType]})  \n`);
    md.appendMarkdown(sharing.inode !== undefined ? `Inode: ${sharing.inode}  \n` : `Inode unknown: ${escape(unknownReason ?? '')}  \n`);
    md.appendMarkdown(shared ? `Shared with: ${escape(whom.join(', '))}` : 'Private to this container');
    this.tooltip = md;
  }
}

export class ProcessItem extends vscode.TreeItem {
  readonly process: { hostPid: number; nsPid: number; command: string; user?: string; uid: number };
  constructor(p: ProcessInfo, readonly containerId: string, readonly parentNode: SectionItem | ProcessItem) {
    super(p.command.length > 80 ? `${p.command.slice(0, 79)}…` : p.command, p.children.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    this.process = { hostPid: p.hostPid, nsPid: p.nsPid, command: p.command, user: p.user, uid: p.uid };
    this.children = p.children;
    this.contextValue = 'process';
    this.iconPath = new vscode.ThemeIcon('terminal');
    if (p.hostPid) {
      this.id = `proc:${containerId}:${p.hostPid}`;
      this.description = `PID ${p.nsPid} · host ${p.hostPid} · ${p.user ?? `uid ${p.uid}`}`;
      this.tooltip = `${p.command}\nPID in container: ${p.nsPid}\nHost PID: ${p.hostPid}\nUser: ${p.user ? `${p.user} (${p.uid})` : p.uid}`;
    } else {
      // Listed inside the container (see EngineTree.processesInside): no host PID is known.
      this.id = `proc:${containerId}:ns${p.nsPid}`;
      this.description = `PID ${p.nsPid}`;
      this.tooltip = `${p.command}\nPID in container: ${p.nsPid}\nHost PID: unknown (the engine's processes are not in this window's /proc; listed by ps in a helper container)`;
    }
  }
  readonly children: ProcessInfo[];
}

export class FilesItem extends vscode.TreeItem {
  constructor(readonly containerId: string, readonly parentNode: ContainerItem) {
    super('Files', vscode.TreeItemCollapsibleState.None);
    this.id = `files:${containerId}`;
    this.contextValue = 'files';
    this.iconPath = new vscode.ThemeIcon('files');
    this.tooltip = 'Browse this container\'s files in the Explorer';
    this.command = { command: 'sidecar.files.open', title: 'Open Container Files', arguments: [this] };
  }
}

export class InfoItem extends vscode.TreeItem {
  constructor(label: string, description: string, readonly parentNode: Node, id: string, icon = 'info') {
    super(label, vscode.TreeItemCollapsibleState.None);
    this.id = id;
    this.description = description;
    this.contextValue = 'info';
    this.iconPath = new vscode.ThemeIcon(icon);
    this.tooltip = `${label}${description ? `: ${description}` : ''}`;
  }
}

interface Children {
  namespaces: SectionItem;
  processes: SectionItem;
  files: FilesItem;
  sidecars: SectionItem;
}

/** A node as the provider hands it out: which engine's tree it belongs to. */
type Tagged = Node & { tree?: EngineTree; prefixed?: boolean };

/**
 * One engine's part of the Containers view: its containers, grouped by
 * compose project, and their children. Items are kept and reused between
 * refreshes. `fire(undefined)` means "this engine's whole subtree".
 */
export class EngineTree implements vscode.Disposable {
  private readonly items = new Map<string, ContainerItem>();
  private readonly groups = new Map<string, GroupItem>();
  private readonly children = new Map<string, Children>();
  private readonly sidecarItems = new Map<string, ContainerItem>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: SidecarContext, readonly model: ExplorerModel, private readonly fireNode: (n: Node | undefined) => void) {
    const onChange = (c: ModelChange) => this.apply(c);
    const onError = (e: unknown) => ctx.log.warn(`Explorer update: ${e instanceof Error ? e.message : String(e)}`);
    model.on('change', onChange);
    model.on('error', onError);
    this.disposables.push({ dispose: () => { model.off('change', onChange); model.off('error', onError); } });
  }

  private readonly changed = { fire: (n: Node | undefined) => this.fireNode(n) };

  /** Forgets every item (the engines changed: ids and parents may differ now). */
  reset(): void {
    for (const m of [this.items, this.groups, this.children, this.sidecarItems]) m.clear();
  }

  /** Reloads everything from the engine. */
  async refresh(): Promise<void> {
    this.model.retryNow();
    await this.model.refresh();
  }

  private grouping(): boolean {
    return vscode.workspace.getConfiguration('sidecar').get<boolean>('containers.groupByComposeProject', true);
  }

  /**
   * Turns a model change into tree changes for the affected items only. The
   * whole tree (undefined) fires only when the root's own rows change: a
   * container or group appears at or leaves the top level. Every fire re-renders
   * that node's subtree in the workbench, which closes an open context menu and
   * can swallow a click, so other containers' events must not reach it.
   */
  private apply(c: ModelChange): void {
    if (c.all) {
      this.changed.fire(undefined);
      return;
    }
    const fire = new Set<Node | undefined>();
    const grouping = this.grouping();
    for (const id of c.removed) {
      const item = this.items.get(id);
      this.items.delete(id);
      this.children.delete(id);
      // No item: it never was a row (a member of a group not yet expanded); only its group's count changes, below.
      if (item) fire.add(item.parentNode);
    }
    for (const id of c.added) {
      const e = this.model.containers.get(id);
      if (!e) continue;
      const project = grouping ? e.model.composeProject : undefined;
      // A member of a known group is a row of that group; anything else is a new row at the top.
      fire.add(project ? this.groups.get(project) : undefined);
    }
    for (const id of c.updated) {
      const item = this.items.get(id);
      const e = this.model.containers.get(id);
      if (!item || !e) continue;
      const wasLive = isLive(item.container.state);
      item.update({ ...e.model, ...e.detail, status: e.model.status });
      fire.add(item);
      if (wasLive !== isLive(e.model.state)) {
        // A container that started or stopped gets other children: reload it.
        this.children.delete(id);
        // Running ones sort first: its group's order changes.
        if (item.parentNode) fire.add(item.parentNode);
      }
    }
    for (const id of c.namespaces) {
      const ch = this.children.get(id);
      if (ch && !fire.has(this.items.get(id))) fire.add(ch.namespaces);
    }
    for (const target of c.sidecarsOf) {
      const ch = this.children.get(target);
      if (ch) fire.add(ch.sidecars);
    }
    if (grouping && (c.added.length || c.removed.length || c.updated.length)) {
      // A group's "1/2 running" follows its members, even while it was never expanded; an emptied group leaves the top.
      const counts = this.groupCounts();
      for (const g of this.groups.values()) {
        const before = g.description;
        if (!counts.has(g.project)) fire.add(undefined);
        else if (this.describeGroup(g, counts) !== before) fire.add(g);
      }
    }
    if (fire.has(undefined)) {
      this.changed.fire(undefined);
      return;
    }
    for (const n of fire) this.changed.fire(n);
  }

  /** Per compose project: [running, all]. */
  private groupCounts(): Map<string, [number, number]> {
    const counts = new Map<string, [number, number]>();
    for (const e of this.model.containers.values()) {
      const p = e.model.composeProject;
      if (!p) continue;
      const n = counts.get(p) ?? [0, 0];
      if (e.model.state === 'running') n[0]++;
      n[1]++;
      counts.set(p, n);
    }
    return counts;
  }

  private describeGroup(g: GroupItem, counts = this.groupCounts()): string {
    const [running, all] = counts.get(g.project) ?? [0, 0];
    g.description = `${running}/${all} running`;
    return g.description;
  }

  /**
   * Recomputes status descriptions ("Up 3 minutes") and fires only for items
   * whose text changed. `now` is the clock the texts are computed against.
   */
  tick(now = Date.now()): number {
    let n = 0;
    for (const [id, item] of this.items) {
      const e = this.model.containers.get(id);
      if (e && item.update({ ...e.model, ...e.detail, status: e.model.status }, now)) {
        this.changed.fire(item);
        n++;
      }
    }
    return n;
  }

  /** The tree item of a container, for reveal. */
  async itemFor(id: string): Promise<ContainerItem | undefined> {
    if (!this.items.has(id)) await this.roots();
    const item = this.items.get(id);
    if (item?.parentNode) await this.getChildren(item.parentNode);
    return this.items.get(id);
  }

  async getChildren(parent?: Node): Promise<Node[]> {
    if (!parent) return this.roots();
    if (parent instanceof GroupItem) return this.containersOf(parent);
    if (parent instanceof ContainerItem) return this.containerChildren(parent);
    if (parent instanceof SectionItem) return this.sectionChildren(parent);
    if (parent instanceof ProcessItem) return parent.children.map((p) => new ProcessItem(p, parent.containerId, parent));
    return [];
  }

  async roots(): Promise<Node[]> {
    if (!this.model.loaded) await this.model.refresh();
    if (!this.model.status.ok) return [];
    const entries = this.sorted([...this.model.containers.values()]);
    // Forget items of containers that are gone (engine switch, missed destroy events).
    for (const m of [this.items, this.children]) for (const id of m.keys()) if (!this.model.containers.has(id)) m.delete(id);
    for (const key of this.sidecarItems.keys()) if (!key.split(':').every((id) => this.model.containers.has(id))) this.sidecarItems.delete(key);
    if (!this.grouping()) {
      this.groups.clear();
      return entries.map((e) => this.itemOf(e, undefined));
    }
    const counts = this.groupCounts();
    const projects = [...new Set(entries.map((e) => e.model.composeProject).filter((p): p is string => !!p))].sort();
    for (const p of [...this.groups.keys()]) if (!projects.includes(p)) this.groups.delete(p);
    const groups = projects.map((p) => {
      let g = this.groups.get(p);
      if (!g) this.groups.set(p, (g = new GroupItem(p)));
      this.describeGroup(g, counts);
      return g;
    });
    return [...groups, ...entries.filter((e) => !e.model.composeProject).map((e) => this.itemOf(e, undefined))];
  }

  private containersOf(g: GroupItem): Node[] {
    return this.sorted([...this.model.containers.values()].filter((e) => e.model.composeProject === g.project)).map((e) => this.itemOf(e, g));
  }

  private sorted(list: ContainerEntry[]): ContainerEntry[] {
    // Running first, then by name: what a person debugging looks for first.
    return list.sort((a, b) => Number(isLive(b.model.state)) - Number(isLive(a.model.state)) || a.model.name.localeCompare(b.model.name));
  }

  private itemOf(e: ContainerEntry, parent: GroupItem | undefined): ContainerItem {
    let item = this.items.get(e.model.id);
    if (!item || item.parentNode !== parent) {
      item = new ContainerItem({ ...e.model, ...e.detail, status: e.model.status }, parent);
      this.items.set(e.model.id, item);
    } else {
      item.update({ ...e.model, ...e.detail, status: e.model.status });
    }
    return item;
  }

  private async containerChildren(item: ContainerItem): Promise<Node[]> {
    const id = item.container.id;
    let ch = this.children.get(id);
    if (!ch) {
      ch = {
        namespaces: new SectionItem('namespaces', id, item),
        processes: new SectionItem('processes', id, item),
        files: new FilesItem(id, item),
        sidecars: new SectionItem('sidecars', id, item),
      };
      this.children.set(id, ch);
    }
    const n = this.model.sidecarsOf(id).length;
    ch.sidecars.description = n ? String(n) : 'none';
    if (item.asSidecar) return [];
    if (isLive(item.container.state)) return [ch.namespaces, ch.processes, ch.files, ch.sidecars];
    // Stopped: why and when, then what still makes sense without processes.
    let entry = this.model.containers.get(id);
    if (entry && !entry.detail) {
      try {
        entry.detail = await this.model.engine.inspect(id);
      } catch {
        entry = undefined; // gone while expanding: the destroy event removes the node
      }
    }
    const d = entry?.detail;
    const info: Node[] = [];
    if (d && (d.state === 'exited' || d.state === 'dead')) {
      info.push(new InfoItem(`Exited with code ${d.exitCode ?? '?'}`, d.finishedAt ? d.finishedAt.toLocaleString() : '', item, `exit:${id}`, d.exitCode ? 'error' : 'pass'));
    } else if (d?.state === 'created') {
      info.push(new InfoItem('Never started', `created ${d.created.toLocaleString()}`, item, `exit:${id}`));
    }
    if (d?.error) info.push(new InfoItem('Error', d.error, item, `error:${id}`, 'warning'));
    return [...info, ch.files, ch.sidecars];
  }

  private async sectionChildren(s: SectionItem): Promise<Node[]> {
    const entry = this.model.containers.get(s.containerId);
    if (!entry) return [];
    if (s.kind === 'sidecars') {
      return this.model.sidecarsOf(s.containerId).map((e) => {
        const key = `${s.containerId}:${e.model.id}`;
        let item = this.sidecarItems.get(key);
        if (!item) this.sidecarItems.set(key, (item = new ContainerItem({ ...e.model, ...e.detail, status: e.model.status }, s, true)));
        else item.update({ ...e.model, ...e.detail, status: e.model.status });
        return item;
      });
    }
    if (s.kind === 'namespaces') {
      const snap = this.model.snapshot;
      const sharing = snap.containers.get(s.containerId);
      if (!sharing) return [new InfoItem('No namespaces', 'the container is not running', s, `nsnone:${s.containerId}`)];
      const names = (id: string) => this.model.containers.get(id)?.model.name ?? id.slice(0, 12);
      return NS_TYPES.map((t) => new NamespaceItem(t, sharing[t], s.containerId, s, names, snap.reason));
    }
    try {
      let procs = await containerProcesses({ id: entry.model.id, pid: entry.detail?.pid });
      if (procs.length === 0 && entry.detail?.pid) procs = await this.processesInside(entry.model.id);
      if (procs.length === 0) return [new InfoItem('No processes visible', 'neither this machine\'s /proc nor ps in a helper container shows any', s, `procnone:${s.containerId}`)];
      return procs.map((p) => new ProcessItem(p, s.containerId, s));
    } catch (err) {
      return [new InfoItem('Cannot read processes', err instanceof Error ? err.message : String(err), s, `procerr:${s.containerId}`, 'warning')];
    }
  }

  private readonly inside = new Map<string, { at: number; list: Promise<ProcessInfo[]> }>();

  /**
   * The processes as `ps` in a helper container lists them, for a window that
   * does not see the engine's /proc (a remote engine, a window in a pid
   * namespace of its own). Kept for a few seconds: the helper's own create and
   * destroy events refresh the tree, which must not start another helper.
   */
  private processesInside(id: string): Promise<ProcessInfo[]> {
    const hit = this.inside.get(id);
    if (hit && Date.now() - hit.at < 10_000) return hit.list;
    const image = imageNow(this.ctx, 'sidecar.ports.tunnelImage', 'busybox:latest');
    const list = listProcessesInTarget(this.model.engine, { target: id, image, setting: 'sidecar.ports.tunnelImage' }).then(treeFromNamespace);
    const entry = { at: Date.now(), list };
    this.inside.set(id, entry);
    // Its age counts from the answer, so the helper's late events still find it fresh; a failure is not kept.
    void list.then(() => { entry.at = Date.now(); }, () => this.inside.delete(id));
    return list;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/**
 * The Containers view. With one engine it shows that engine's tree as it
 * always did; with more, one EngineItem root per engine, each with its own
 * model (own event stream, reconnect and deadline), so a hung or lost engine
 * holds up only its own root.
 */
export class ContainersProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private view: vscode.TreeView<Node> | undefined;
  /** The default engine's tree; its model follows ctx.engine, as the single engine always did. */
  private readonly defaultTree: EngineTree;
  private readonly trees = new Map<Engine, EngineTree>();
  private readonly engineItems = new Map<string, EngineItem>();
  private multi = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: SidecarContext, readonly model: ExplorerModel) {
    this.defaultTree = this.track(new EngineTree(ctx, model, (n) => this.fireFrom(this.defaultTree, n)));
  }

  attach(view: vscode.TreeView<Node>): void {
    this.view = view;
  }

  /** The default engine's status (the only engine's, with one). */
  get engineStatus(): EngineStatus {
    return this.model.status;
  }

  /** Every engine with its model; the default first. */
  engines(): { engine: Engine; model: ExplorerModel }[] {
    const all = this.sync();
    return all.map((engine) => ({ engine, model: this.treeOf(engine).model }));
  }

  /** The model of the engine a container or URI names; none means the default. */
  modelFor(engineId: string | undefined): ExplorerModel {
    if (!engineId) return this.model;
    const e = this.engines().find((x) => x.engine.id === engineId);
    return e?.model ?? this.model;
  }

  private track(tree: EngineTree): EngineTree {
    const onStatus = (s: EngineStatus) => {
      if (this.multi) this.fireFrom(tree, undefined);
      else if (tree === this.defaultTree) this.showStatus(s);
    };
    tree.model.on('status', onStatus);
    this.disposables.push({ dispose: () => tree.model.off('status', onStatus) });
    return tree;
  }

  /** Matches trees to the engines of the current settings; returns the engines, default first. */
  private sync(): Engine[] {
    let all: Engine[];
    try {
      all = this.ctx.engines.all;
    } catch {
      all = [];
    }
    const others = all.slice(1);
    for (const [engine, tree] of this.trees) {
      if (others.includes(engine)) continue;
      tree.dispose();
      tree.model.dispose();
      this.trees.delete(engine);
    }
    for (const engine of others) {
      if (this.trees.has(engine)) continue;
      const model = new ExplorerModel(() => engine, () => engine.endpoint.label);
      const tree: EngineTree = this.track(new EngineTree(this.ctx, model, (n) => this.fireFrom(tree, n)));
      this.trees.set(engine, tree);
    }
    const multi = all.length > 1;
    if (multi !== this.multi) {
      // Item ids change between the two shapes: start the items afresh.
      this.defaultTree.reset();
      for (const t of this.trees.values()) t.reset();
      this.multi = multi;
    }
    return all;
  }

  private treeOf(engine: Engine): EngineTree {
    return this.trees.get(engine) ?? this.defaultTree;
  }

  /** A tree's change: with several engines, "everything" means that engine's root. */
  private fireFrom(tree: EngineTree, n: Node | undefined): void {
    if (n || !this.multi) {
      this.changed.fire(n);
      return;
    }
    const item = [...this.engineItems.values()].find((i) => this.treeForItem(i) === tree);
    if (item) this.describeEngine(item);
    this.changed.fire(item);
  }

  private treeForItem(item: EngineItem): EngineTree | undefined {
    const all = this.sync();
    const engine = all.find((e) => e.id === item.engineId);
    return engine ? this.treeOf(engine) : undefined;
  }

  private describeEngine(item: EngineItem): void {
    const all = this.sync();
    const engine = all.find((e) => e.id === item.engineId);
    if (engine) item.describe(engine, this.treeOf(engine).model, engine === all[0]);
  }

  /** Marks nodes with their engine's tree; with several engines their ids get the engine's id, so they stay unique. */
  private tag(nodes: Node[], tree: EngineTree): Node[] {
    for (const n of nodes as Tagged[]) {
      n.tree = tree;
      if (this.multi && !n.prefixed && n.id) {
        n.id = `${tree.model.engine.id}/${n.id}`;
        n.prefixed = true;
      }
    }
    return nodes;
  }

  /** Reloads every engine. */
  async refresh(): Promise<void> {
    const all = this.sync();
    await Promise.all(all.map((e) => this.treeOf(e).refresh()));
  }

  /** The settings changed which engines there are. */
  enginesChanged(): void {
    this.sync();
    this.changed.fire(undefined);
  }

  /** Recomputes status texts on every engine; returns how many items changed. */
  tick(now = Date.now()): number {
    return [this.defaultTree, ...this.trees.values()].reduce((n, t) => n + t.tick(now), 0);
  }

  /** The safety poll on every engine. */
  async poll(): Promise<void> {
    await Promise.all([this.defaultTree, ...this.trees.values()].map((t) => t.model.poll()));
  }

  getTreeItem(item: Node): vscode.TreeItem {
    return item;
  }

  getParent(item: Node): Node | undefined {
    if (item instanceof EngineItem) return undefined;
    const p = 'parentNode' in item ? (item.parentNode as Node | undefined) : undefined;
    if (p || !this.multi) return p;
    const tree = (item as Tagged).tree;
    return [...this.engineItems.values()].find((i) => this.treeForItem(i) === tree);
  }

  /** The tree item of a container, for reveal; `engineId` names its engine (none: the default, then any). */
  async itemFor(id: string, engineId?: string): Promise<ContainerItem | undefined> {
    await this.getChildren();
    const entries = this.engines();
    const order = engineId ? entries.filter((e) => e.engine.id === engineId) : entries;
    for (const { engine } of order) {
      const tree = this.treeOf(engine);
      const item = await tree.itemFor(id);
      if (!item) continue;
      const chain: Node[] = [];
      for (let n: Node | undefined = item; n && !(n instanceof EngineItem); n = 'parentNode' in n ? (n.parentNode as Node | undefined) : undefined) chain.push(n);
      this.tag(chain, tree);
      return item;
    }
    return undefined;
  }

  async getChildren(parent?: Node): Promise<Node[]> {
    if (!parent) return this.roots();
    if (parent instanceof EngineItem) {
      const tree = this.treeForItem(parent);
      if (!tree) return [];
      const nodes = this.tag(await tree.roots(), tree);
      this.describeEngine(parent);
      if (!tree.model.status.ok) return [new InfoItem('Not connected', tree.model.status.error, parent, `enginedown:${parent.engineId}`, 'warning')];
      return nodes;
    }
    const tree = (parent as Tagged).tree ?? this.defaultTree;
    return this.tag(await tree.getChildren(parent), tree);
  }

  private async roots(): Promise<Node[]> {
    const all = this.sync();
    if (!this.multi) {
      const nodes = this.tag(await this.defaultTree.roots(), this.defaultTree);
      // The welcome views depend on this key, so set it on every load, not only on changes.
      this.showStatus(this.model.status, false);
      return nodes;
    }
    this.showStatus({ ok: true }, false);
    for (const id of this.engineItems.keys()) if (!all.some((e) => e.id === id)) this.engineItems.delete(id);
    return all.map((engine) => {
      let item = this.engineItems.get(engine.id);
      if (!item) this.engineItems.set(engine.id, (item = new EngineItem(engine.id)));
      const tree = this.treeOf(engine);
      item.describe(engine, tree.model, engine === all[0]);
      // Each engine loads on its own: the roots show at once, a slow engine's containers follow.
      if (!tree.model.loaded) void tree.model.refresh();
      return item;
    });
  }

  private showStatus(s: EngineStatus, changed = true): void {
    void vscode.commands.executeCommand('setContext', 'sidecar:engineState', s.ok ? 'ok' : 'down');
    // Logged once per change of status, not on every load: no log storms while the engine is down.
    if (!s.ok && changed) this.ctx.log.warn(`Cannot list containers: ${s.error}`);
    let problems: string[] = [];
    try {
      problems = this.ctx.engines.problems;
    } catch {
      // reported through the status
    }
    // Bad entries of the engine settings are named even while the good ones work.
    const text = s.ok ? (problems.length ? problems.join(' ') : undefined) : `${s.error} Retrying automatically.`;
    if (this.view) this.view.message = withTrustNote(text);
  }

  dispose(): void {
    this.changed.dispose();
    for (const d of this.disposables) d.dispose();
    this.defaultTree.dispose();
    for (const t of this.trees.values()) {
      t.dispose();
      t.model.dispose();
    }
  }
}
export interface Explorer {
  model: ExplorerModel;
  containers: ContainersProvider;
  containersView: vscode.TreeView<Node>;
  /** Shows a container in the Containers view; `engineId` names its engine (none: the default). */
  reveal(containerId: string, engineId?: string): Promise<void>;
}

/** Timers: description ticks and the safety poll, only while the view is visible. */
const TICK_MS = 10_000;
const POLL_MS = 60_000;

export function registerContainersView(ctx: SidecarContext): ContainersProvider & { explorer?: Explorer } {
  const model = new ExplorerModel(() => ctx.engine, () => ctx.endpointLabel());
  const provider = new ContainersProvider(ctx, model) as ContainersProvider & { explorer?: Explorer };
  const view = vscode.window.createTreeView<Node>('sidecar.containers', { treeDataProvider: provider, showCollapseAll: true });
  provider.attach(view);
  let tick: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  const timers = (on: boolean) => {
    clearInterval(tick);
    clearInterval(poll);
    tick = poll = undefined;
    if (!on) return;
    tick = setInterval(() => provider.tick(), TICK_MS);
    poll = setInterval(() => void provider.poll(), POLL_MS);
  };
  timers(view.visible);
  ctx.extension.subscriptions.push(
    provider,
    view,
    { dispose: () => { timers(false); model.dispose(); } },
    view.onDidChangeVisibility((e) => {
      timers(e.visible);
      // Catch up on what the description timer skipped while hidden.
      if (e.visible) provider.tick();
    }),
    ctx.onDidChangeEngine(() => {
      model.restart();
      provider.enginesChanged();
      void model.refresh();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('sidecar.containers.groupByComposeProject')) void provider.refresh();
    }),
  );
  ctx.registerCommand('sidecar.containers.refresh', () => provider.refresh());
  provider.explorer = {
    model,
    containers: provider,
    containersView: view,
    async reveal(id: string, engineId?: string) {
      const item = await provider.itemFor(id, engineId);
      if (!item) throw new Error(`Container ${id.slice(0, 12)} is not in the Containers view any more; it may have been removed.`);
      await view.reveal(item, { select: true, focus: true, expand: true });
    },
  };
  return provider;
}
