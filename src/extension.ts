// Builds one context object and hands it to each feature. Nothing else.
import * as vscode from 'vscode';
import { SidecarContext } from './context';
import { registerContainersView } from './views/containersView';

export interface SidecarApi {
  containers: ReturnType<typeof registerContainersView>;
  context: SidecarContext;
}

export function activate(extension: vscode.ExtensionContext): SidecarApi {
  const log = vscode.window.createOutputChannel('Container Sidecar', { log: true });
  const ctx = new SidecarContext(extension, log);
  extension.subscriptions.push(log, ctx);
  const containers = registerContainersView(ctx);
  log.info('Container Sidecar activated');
  return { containers, context: ctx };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
