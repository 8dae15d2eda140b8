// The Namespaces view: like `lsns` across all containers. Type, then each
// namespace, then its member containers with their process counts. Shared
// namespaces (two or more containers, or the host) stand out.
import * as vscode from 'vscode';
import type { SidecarContext } from '../context';
import type { Engine } from '../engine/engine';
import { NS_DESCRIPTIONS, NS_TYPES, type NsType } from '../procfs/namespaces';
import { pidsByContainer } from '../procfs/processes';
import type { ExplorerModel, ModelChange } from './model';

export interface NamespaceGroup {
  type: NsType;
  /** Inode, or undefined when only HostConfig was available. */
  inode?: number;
  host: boolean;
  /** Member container ids. */
  members: string[];
}

/** Groups the snapshot into distinct namespaces per type. */
export function groupNamespaces(model: ExplorerModel): Map<NsType, NamespaceGroup[]> {
  const out = new Map<NsType, NamespaceGroup[]>();
  for (const t of NS_TYPES) {
    const groups = new Map<string, NamespaceGroup>();
    for (const [id, ns] of model.snapshot.containers) {
      const s = ns[t];
      // Without inodes, a namespace is named by its sorted member set.
      const key = s.inode !== undefined ? `i${s.inode}` : s.host ? 'host' : [id, ...s.with].sort().join(',');
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { type: t, inode: s.inode, host: s.host, members: [] }));
      g.members.push(id);
    }
    out.set(t, [...groups.values()].sort((a, b) => Number(b.host) - Number(a.host) || b.members.length - a.members.length || (a.inode ?? 0) - (b.inode ?? 0)));
  }
  return out;
}

type Node = EngineNsItem | TypeItem | NamespaceItem | MemberItem;

/** The engines that the Containers view shows, default first (ContainersProvider.engines). */
export type EngineModels = () => { engine: Engine; model: ExplorerModel }[];

/** With more than one engine: one root per engine, its namespaces below, so each member's engine is plain. */
export class EngineNsItem extends vscode.TreeItem {
  constructor(readonly engine: Engine, readonly model: ExplorerModel) {
    super(engine.name, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `nsengine:${engine.id}`;
    this.iconPath = new vscode.ThemeIcon('server');
    this.contextValue = 'engine';
    this.description = model.status.ok ? `${model.snapshot.containers.size} running container${model.snapshot.containers.size === 1 ? '' : 's'}` : 'down';
    this.tooltip = `${engine.name}: ${engine.endpoint.label}${model.snapshot.source === 'hostconfig' && model.snapshot.reason ? `\nInodes unknown: ${model.snapshot.reason}` : ''}`;
  }
}

export class TypeItem extends vscode.TreeItem {
  constructor(readonly nsType: NsType, groups: NamespaceGroup[], readonly model?: ExplorerModel, readonly parentNode?: EngineNsItem) {
    super(nsType, groups.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    this.id = `${parentNode ? `${parentNode.engine.id}/` : ''}nstype:${nsType}`;
    const shared = groups.filter((g) => g.host || g.members.length > 1).length;
    this.description = `${groups.length} namespace${groups.length === 1 ? '' : 's'}${shared ? `, ${shared} shared` : ''}`;
    this.tooltip = `${nsType}: ${NS_DESCRIPTIONS[nsType]}`;
    this.iconPath = new vscode.ThemeIcon('symbol-namespace');
    this.contextValue = 'namespaceType';
  }
}

export class NamespaceItem extends vscode.TreeItem {
  constructor(readonly group: NamespaceGroup, readonly parentNode: TypeItem, names: string[], unknownReason?: string) {
    super(group.inode !== undefined ? `${group.type}:[${group.inode}]` : `${group.type} (inode unknown)`, vscode.TreeItemCollapsibleState.Collapsed);
    const shared = group.host || group.members.length > 1;
    this.id = `${parentNode.parentNode ? `${parentNode.parentNode.engine.id}/` : ''}nsgroup:${group.type}:${group.inode ?? group.members.join(',')}`;
    const whom = [...(group.host ? ['host'] : []), ...names];
    const list = whom.length > 4 ? `${whom.slice(0, 3).join(', ')} and ${whom.length - 3} more` : whom.join(', ');
    this.description = shared ? `shared by ${list}` : `private to ${names[0]}`;
    this.contextValue = shared ? 'namespace.shared' : 'namespace';
    this.iconPath = new vscode.ThemeIcon(group.host ? 'home' : shared ? 'link' : 'circle-small', shared ? new vscode.ThemeColor('charts.orange') : undefined);
    const md = new vscode.MarkdownString();
    md.appendText(`${group.type} namespace (${NS_DESCRIPTIONS[group.type]})\n`);
    md.appendText(group.inode !== undefined ? `Inode ${group.inode}\n` : `Inode unknown: ${unknownReason ?? ''}\n`);
    md.appendText(`Members: ${whom.join(', ')}`);
    this.tooltip = md;
  }
}

export class MemberItem extends vscode.TreeItem {
  constructor(readonly containerId: string, name: string, processes: number | undefined, readonly parentNode: NamespaceItem, engineId?: string) {
    super(name, vscode.TreeItemCollapsibleState.None);
    this.id = `${parentNode.id}:${containerId}`;
    this.description = processes === undefined ? '' : `${processes} process${processes === 1 ? '' : 'es'}`;
    this.iconPath = new vscode.ThemeIcon('vm-running', new vscode.ThemeColor('testing.iconPassed'));
    this.contextValue = 'namespaceMember';
    this.tooltip = `Show ${name} in the Containers view`;
    this.command = { command: 'sidecar.containers.reveal', title: 'Reveal Container', arguments: [engineId ? { containerId, engineId } : containerId] };
  }
}

export class NamespacesProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly groups = new Map<ExplorerModel, Map<NsType, NamespaceGroup[]>>();
  private readonly watched = new Set<ExplorerModel>();
  private readonly on = (c: ModelChange) => {
    // Only namespace changes matter: a container joins or leaves one only by
    // starting or stopping, which the model reports in `namespaces` (a create
    // or destroy of another container, say another user's, changes nothing here).
    if (c.all || c.namespaces.length) this.changed.fire(undefined);
  };

  constructor(private readonly model: ExplorerModel, private readonly engines?: EngineModels) {
    this.watch(model);
  }

  private watch(model: ExplorerModel): void {
    if (this.watched.has(model)) return;
    this.watched.add(model);
    model.on('change', this.on);
  }

  private off(): void {
    for (const m of this.watched) m.off('change', this.on);
    this.watched.clear();
  }

  getTreeItem(item: Node): vscode.TreeItem {
    return item;
  }

  getParent(item: Node): Node | undefined {
    return 'parentNode' in item ? item.parentNode : undefined;
  }

  private name(model: ExplorerModel, id: string): string {
    return model.containers.get(id)?.model.name ?? id.slice(0, 12);
  }

  /** The namespace types of one engine's containers, as `lsns` would list them. */
  private async types(model: ExplorerModel, parent?: EngineNsItem): Promise<Node[]> {
    if (!model.loaded) await model.refresh();
    if (!model.status.ok || model.snapshot.containers.size === 0) return [];
    const groups = groupNamespaces(model);
    this.groups.set(model, groups);
    return NS_TYPES.map((t) => new TypeItem(t, groups.get(t) ?? [], model, parent));
  }

  /**
   * Process counts of one namespace's members, read when it is expanded: a
   * /proc scan per reload of the whole view cost the extension host CPU on
   * every start or stop of any container, though members are mostly collapsed.
   */
  private async processCounts(model: ExplorerModel, members: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    try {
      const pids = await pidsByContainer(members.map((id) => ({ id, pid: model.containers.get(id)?.detail?.pid })));
      for (const [id, p] of pids) if (p.length > 0) out.set(id, p.length);
    } catch {
      // counts stay unknown
    }
    return out;
  }

  async getChildren(parent?: Node): Promise<Node[]> {
    if (!parent) {
      const engines = this.engines?.() ?? [];
      for (const e of engines) this.watch(e.model);
      if (engines.length <= 1) return this.types(this.model);
      await Promise.all(engines.map((e) => (e.model.loaded ? undefined : e.model.refresh())));
      return engines.map((e) => new EngineNsItem(e.engine, e.model));
    }
    if (parent instanceof EngineNsItem) return this.types(parent.model, parent);
    if (parent instanceof TypeItem) {
      const model = parent.model ?? this.model;
      return (this.groups.get(model)?.get(parent.nsType) ?? []).map((g) => new NamespaceItem(g, parent, g.members.map((m) => this.name(model, m)), model.snapshot.reason));
    }
    if (parent instanceof NamespaceItem) {
      const model = parent.parentNode.model ?? this.model;
      const engineId = parent.parentNode.parentNode?.engine.id;
      const counts = await this.processCounts(model, parent.group.members);
      return parent.group.members.map((m) => new MemberItem(m, this.name(model, m), counts.get(m), parent, engineId));
    }
    return [];
  }

  dispose(): void {
    this.off();
    this.changed.dispose();
  }
}

export function registerNamespacesView(ctx: SidecarContext, model: ExplorerModel, engines?: EngineModels): NamespacesProvider {
  const provider = new NamespacesProvider(model, engines);
  const view = vscode.window.createTreeView('sidecar.namespaces', { treeDataProvider: provider, showCollapseAll: true });
  ctx.extension.subscriptions.push(provider, view);
  const describe = () => {
    view.message = model.snapshot.source === 'hostconfig' ? `Inodes unknown: ${model.snapshot.reason}.` : undefined;
  };
  model.on('change', describe);
  ctx.extension.subscriptions.push({ dispose: () => model.off('change', describe) });
  return provider;
}
