// Builds one context object and hands it to each feature. Nothing else.
import * as vscode from 'vscode';
import { SidecarContext } from './context';
import { registerContainersView } from './views/containersView';
import { registerNamespacesView } from './views/namespacesView';
import { registerContainerCommands } from './commands/containers';

export interface SidecarApi {
  containers: ReturnType<typeof registerContainersView>;
  namespaces: ReturnType<typeof registerNamespacesView>;
  context: SidecarContext;
}

export function activate(extension: vscode.ExtensionContext): SidecarApi {
  const log = vscode.window.createOutputChannel('Container Sidecar', { log: true });
  const ctx = new SidecarContext(extension, log);
  extension.subscriptions.push(log, ctx);
  const containers = registerContainersView(ctx);
  const namespaces = registerNamespacesView(ctx, containers.explorer!.model);
  registerContainerCommands(ctx, containers.explorer!);
  log.info('Container Sidecar activated');
  return { containers, namespaces, context: ctx };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
