// Commands and serializers of the two webview panels.
import * as vscode from 'vscode';
import type { SidecarContext } from '../context';
import type { ContainerModel } from '../engine/containers';
import type { Explorer } from '../views/containersView';
import { describeStatus } from '../views/model';
import { DETAILS_VIEW_TYPE, DetailsPanels } from './detailsPanel';
import { MAP_VIEW_TYPE, MapPanel } from './mapPanel';
import { webviewOptions } from './webview';

export interface Panels {
  details: DetailsPanels;
  map(): MapPanel | undefined;
}

type Arg = { container?: ContainerModel; containerId?: string; engineId?: string } | string | undefined;

export function registerPanels(ctx: SidecarContext, explorer: Explorer): Panels {
  const model = explorer.model;
  const details = new DetailsPanels(ctx, (engineId) => explorer.containers.modelFor(engineId));
  let map: MapPanel | undefined;
  const adoptMap = (panel: vscode.WebviewPanel, state: unknown) => {
    map = new MapPanel(panel, ctx, () => explorer.containers.engines(), state, () => (map = undefined));
    return map;
  };
  ctx.extension.subscriptions.push(
    details,
    { dispose: () => map?.dispose() },
    vscode.window.registerWebviewPanelSerializer(MAP_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state: unknown) {
        adoptMap(panel, state);
      },
    }),
    vscode.window.registerWebviewPanelSerializer(DETAILS_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state: unknown) {
        details.restore(panel, state);
      },
    }),
  );

  ctx.registerCommand('sidecar.namespaces.showMap', () => {
    if (map) map.panel.reveal();
    // Created with its final options: setting other ones afterwards would load the page twice.
    else adoptMap(vscode.window.createWebviewPanel(MAP_VIEW_TYPE, 'Namespace Map', vscode.ViewColumn.Active, webviewOptions(ctx.extension.extensionUri)), undefined);
    return map;
  });

  ctx.registerCommand('sidecar.containers.showDetails', async (arg: Arg) => {
    let c: ContainerModel | undefined;
    if (typeof arg === 'string') c = model.find(arg)?.model;
    else c = arg?.container ?? (arg?.containerId ? explorer.containers.modelFor(ctx.engineIdOf(arg)).find(arg.containerId)?.model : undefined);
    if (!c && arg !== undefined) throw new Error('That container no longer exists; it may have been removed.');
    if (!c) {
      if (!model.loaded || !model.status.ok) await model.refresh();
      if (!model.status.ok) throw new Error(model.status.error);
      const all = [...model.containers.values()].map((e) => e.model);
      if (!all.length) return void vscode.window.showInformationMessage('The engine has no containers.');
      const pick = await vscode.window.showQuickPick(all.map((m) => ({ label: m.name, description: `${describeStatus(m)} · ${m.image}`, detail: m.shortId, m })), { placeHolder: 'Container to show details of', matchOnDescription: true });
      c = pick?.m;
    }
    if (!c) return undefined;
    return details.show(c.id, c.name, c.engineId);
  });

  return { details, map: () => map };
}
