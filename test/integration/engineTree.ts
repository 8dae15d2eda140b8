// Walking the Containers view's engine roots, as the multi-engine host tests do.
import * as vscode from 'vscode';
import type { SidecarApi } from '../../src/extension';

export type Item = vscode.TreeItem & { container?: { id: string; name: string; state: string; engineId?: string }; engineId?: string };

export const label = (i: vscode.TreeItem) => (typeof i.label === 'string' ? i.label : i.label?.label ?? '');

export async function children(a: SidecarApi, parent?: Item): Promise<Item[]> {
  return (await a.containers.getChildren(parent as never)) as Item[];
}

/** The root of the engine named `name`. */
export async function engineRoot(a: SidecarApi, name: string): Promise<Item | undefined> {
  return (await children(a)).find((r) => r.contextValue?.startsWith('engine.') && label(r) === name);
}

/** A container's item under an engine root, wherever grouping put it. */
export async function containerUnder(a: SidecarApi, root: Item, id: string): Promise<Item | undefined> {
  for (const r of await children(a, root)) {
    if (r.container?.id === id) return r;
    if (!r.container && r.collapsibleState !== vscode.TreeItemCollapsibleState.None) {
      const inGroup = (await children(a, r)).find((i) => i.container?.id === id);
      if (inGroup) return inGroup;
    }
  }
  return undefined;
}
