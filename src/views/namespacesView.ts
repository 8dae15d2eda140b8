// The Namespaces view: like `lsns` across all containers. Type, then each
// namespace, then its member containers with their process counts. Shared
// namespaces (two or more containers, or the host) stand out.
import * as vscode from 'vscode';
import type { SidecarContext } from '../context';
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

type Node = TypeItem | NamespaceItem | MemberItem;

export class TypeItem extends vscode.TreeItem {
  constructor(readonly nsType: NsType, groups: NamespaceGroup[]) {
    super(nsType, groups.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    this.id = `nstype:${nsType}`;
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
    this.id = `nsgroup:${group.type}:${group.inode ?? group.members.join(',')}`;
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
  constructor(readonly containerId: string, name: string, processes: number | undefined, readonly parentNode: NamespaceItem) {
    super(name, vscode.TreeItemCollapsibleState.None);
    this.id = `${parentNode.id}:${containerId}`;
    this.description = processes === undefined ? '' : `${processes} process${processes === 1 ? '' : 'es'}`;
    this.iconPath = new vscode.ThemeIcon('vm-running', new vscode.ThemeColor('testing.iconPassed'));
    this.contextValue = 'namespaceMember';
    this.tooltip = `Show ${name} in the Containers view`;
    this.command = { command: 'sidecar.containers.reveal', title: 'Reveal Container', arguments: [containerId] };
  }
}

export class NamespacesProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private groups = new Map<NsType, NamespaceGroup[]>();
  private counts = new Map<string, number>();
  private readonly off: () => void;

  constructor(private readonly model: ExplorerModel) {
    const on = (c: ModelChange) => {
      // The view is small; reload it whenever membership may have changed.
      if (c.all || c.namespaces.length || c.added.length || c.removed.length) this.changed.fire(undefined);
    };
    model.on('change', on);
    this.off = () => model.off('change', on);
  }

  getTreeItem(item: Node): vscode.TreeItem {
    return item;
  }

  getParent(item: Node): Node | undefined {
    return 'parentNode' in item ? item.parentNode : undefined;
  }

  private name(id: string): string {
    return this.model.containers.get(id)?.model.name ?? id.slice(0, 12);
  }

  async getChildren(parent?: Node): Promise<Node[]> {
    if (!parent) {
      if (!this.model.loaded) await this.model.refresh();
      if (!this.model.status.ok || this.model.snapshot.containers.size === 0) return [];
      this.groups = groupNamespaces(this.model);
      try {
        const running = this.model.runningDetails();
        const pids = await pidsByContainer(running.map((d) => ({ id: d.id, pid: d.pid })));
        this.counts = new Map([...pids].filter(([, p]) => p.length > 0).map(([id, p]) => [id, p.length]));
      } catch {
        this.counts = new Map();
      }
      return NS_TYPES.map((t) => new TypeItem(t, this.groups.get(t) ?? []));
    }
    if (parent instanceof TypeItem) {
      return (this.groups.get(parent.nsType) ?? []).map((g) => new NamespaceItem(g, parent, g.members.map((m) => this.name(m)), this.model.snapshot.reason));
    }
    if (parent instanceof NamespaceItem) {
      return parent.group.members.map((m) => new MemberItem(m, this.name(m), this.counts.get(m), parent));
    }
    return [];
  }

  dispose(): void {
    this.off();
    this.changed.dispose();
  }
}

export function registerNamespacesView(ctx: SidecarContext, model: ExplorerModel): NamespacesProvider {
  const provider = new NamespacesProvider(model);
  const view = vscode.window.createTreeView('sidecar.namespaces', { treeDataProvider: provider, showCollapseAll: true });
  ctx.extension.subscriptions.push(provider, view);
  const describe = () => {
    view.message = model.snapshot.source === 'hostconfig' ? `Inodes unknown: ${model.snapshot.reason}.` : undefined;
  };
  model.on('change', describe);
  ctx.extension.subscriptions.push({ dispose: () => model.off('change', describe) });
  return provider;
}
