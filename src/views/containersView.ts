// The Containers view: every container of the engine, running and stopped.
import * as vscode from 'vscode';
import type { ContainerModel, ContainerState } from '../engine/containers';
import type { SidecarContext } from '../context';

const STATE_ICONS: Record<ContainerState, [string, string]> = {
  running: ['vm-running', 'testing.iconPassed'],
  paused: ['debug-pause', 'charts.yellow'],
  restarting: ['sync', 'charts.yellow'],
  created: ['circle-outline', 'disabledForeground'],
  removing: ['trash', 'disabledForeground'],
  exited: ['vm-outline', 'disabledForeground'],
  dead: ['error', 'errorForeground'],
};

export class ContainerItem extends vscode.TreeItem {
  constructor(readonly container: ContainerModel) {
    super(container.name, vscode.TreeItemCollapsibleState.None);
    this.id = `container:${container.id}`;
    this.description = `${container.image} · ${container.shortId}`;
    const [icon, color] = STATE_ICONS[container.state] ?? STATE_ICONS.dead;
    this.iconPath = new vscode.ThemeIcon(icon, new vscode.ThemeColor(color));
    this.contextValue = container.state;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${container.name}** \`${container.shortId}\`\n\n`);
    md.appendText(`Image: ${container.image}\nState: ${container.status}\nCommand: ${container.command}`);
    this.tooltip = md;
  }
}

export type EngineStatus = { ok: true } | { ok: false; endpoint: string; error: string };

export class ContainersProvider implements vscode.TreeDataProvider<ContainerItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ContainerItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private status: EngineStatus = { ok: true };
  private view: vscode.TreeView<ContainerItem> | undefined;

  constructor(private readonly ctx: SidecarContext) {}

  attach(view: vscode.TreeView<ContainerItem>): void {
    this.view = view;
  }

  get engineStatus(): EngineStatus {
    return this.status;
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(item: ContainerItem): vscode.TreeItem {
    return item;
  }

  async getChildren(parent?: ContainerItem): Promise<ContainerItem[]> {
    if (parent) return [];
    try {
      const list = await this.ctx.engine.listContainers();
      this.setStatus({ ok: true });
      // Running first, then by name: what a person debugging looks for first.
      list.sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running') || a.name.localeCompare(b.name));
      return list.map((c) => new ContainerItem(c));
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      // The welcome view shows this; logging once per change avoids pop-up storms.
      if (this.status.ok || this.status.error !== error) this.ctx.log.warn(`Cannot list containers: ${error}`);
      this.setStatus({ ok: false, endpoint: this.ctx.endpointLabel(), error });
      return [];
    }
  }

  private setStatus(s: EngineStatus): void {
    this.status = s;
    void vscode.commands.executeCommand('setContext', 'sidecar:engineState', s.ok ? 'ok' : 'down');
    if (this.view) this.view.message = s.ok ? undefined : s.error;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export function registerContainersView(ctx: SidecarContext): ContainersProvider {
  const provider = new ContainersProvider(ctx);
  const view = vscode.window.createTreeView('sidecar.containers', { treeDataProvider: provider, showCollapseAll: true });
  provider.attach(view);
  ctx.extension.subscriptions.push(provider, view, ctx.onDidChangeEngine(() => provider.refresh()));
  ctx.registerCommand('sidecar.containers.refresh', () => provider.refresh());
  return provider;
}
