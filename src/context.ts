// The one context object handed to every feature's register function.
import * as vscode from 'vscode';
import { Engine } from './engine/engine';
import { resolveEndpoint, SettingsError } from './engine/connection';
import { engineSetting } from './trust/settings';

export class SidecarContext implements vscode.Disposable {
  private engineValue: Engine | undefined;
  private readonly onDidChangeEngineEmitter = new vscode.EventEmitter<void>();
  /** Fires when the engine endpoint changes (settings). */
  readonly onDidChangeEngine = this.onDidChangeEngineEmitter.event;

  constructor(
    readonly extension: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
  ) {
    extension.subscriptions.push(
      this.onDidChangeEngineEmitter,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('sidecar.engines')) {
          this.engineValue = undefined;
          this.onDidChangeEngineEmitter.fire();
        }
      }),
    );
  }

  /** The engine for the current settings. Throws SettingsError for a malformed setting. */
  get engine(): Engine {
    if (!this.engineValue) {
      const endpoint = resolveEndpoint(engineSetting());
      this.log.info(`Docker Engine endpoint: ${endpoint.label}`);
      this.engineValue = new Engine(endpoint);
    }
    return this.engineValue;
  }

  /** The endpoint label for messages, even when the setting is malformed. */
  endpointLabel(): string {
    try {
      return this.engine.endpoint.label;
    } catch (e) {
      return e instanceof SettingsError ? 'the setting sidecar.engines' : 'the Docker Engine';
    }
  }

  /** Registers a command whose failures become one clear message, never a stack trace. */
  registerCommand(id: string, fn: (...args: never[]) => unknown): void {
    this.extension.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: never[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          this.log.error(`${id} failed: ${err instanceof Error && err.stack ? err.stack : msg}`);
          void vscode.window.showErrorMessage(msg);
          return undefined;
        }
      }),
    );
  }

  dispose(): void {
    this.onDidChangeEngineEmitter.dispose();
  }
}
