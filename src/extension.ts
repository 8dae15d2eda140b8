// Builds one context object and hands it to each feature. Nothing else.
import * as vscode from 'vscode';
import { SidecarContext } from './context';
import { registerContainersView } from './views/containersView';
import { registerNamespacesView } from './views/namespacesView';
import { registerContainerCommands } from './commands/containers';
import { deactivateSidecars, registerSidecars } from './sidecars';
import { registerDebugger } from './debug/register';
import { registerFiles } from './files/register';
import { registerPanels, type Panels } from './panels/register';
import { registerTrustNote } from './trust/consent';

export interface SidecarApi {
  containers: ReturnType<typeof registerContainersView>;
  namespaces: ReturnType<typeof registerNamespacesView>;
  context: SidecarContext;
  files: ReturnType<typeof registerFiles>;
  panels: Panels;
}

export function activate(extension: vscode.ExtensionContext): SidecarApi {
  const log = vscode.window.createOutputChannel('Container Sidecar', { log: true });
  const ctx = new SidecarContext(extension, log);
  extension.subscriptions.push(log, ctx);
  const containers = registerContainersView(ctx);
  const namespaces = registerNamespacesView(ctx, containers.explorer!.model, () => containers.engines());
  registerContainerCommands(ctx, containers.explorer!);
  const sidecarManager = registerSidecars(ctx);
  registerDebugger(ctx, sidecarManager);
  const files = registerFiles(ctx);
  const panels = registerPanels(ctx, containers.explorer!);
  registerTrustNote(ctx, containers.explorer!.containersView);
  log.info('Container Sidecar activated');
  return { containers, namespaces, context: ctx, files, panels };
}

export async function deactivate(): Promise<void> {
  // Everything is disposed through context.subscriptions; work that must finish (removing containers) is awaited here.
  await deactivateSidecars();
}
