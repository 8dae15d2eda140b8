// The one context object handed to every feature's register function.
import * as vscode from 'vscode';
import type { Engine } from './engine/engine';
import { SettingsError } from './engine/connection';
import { discoverEngines } from './engine/discovery';
import { EngineSet } from './engine/engines';
import { engineSetting, hiddenEnginesSetting } from './trust/settings';

export class SidecarContext implements vscode.Disposable {
  private enginesValue: EngineSet | undefined;
  private previous: EngineSet | undefined;
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
        if (e.affectsConfiguration('sidecar.engines') || e.affectsConfiguration('sidecar.hiddenEngines')) {
          this.previous = this.enginesValue ?? this.previous;
          this.enginesValue = undefined;
          this.onDidChangeEngineEmitter.fire();
        }
      }),
    );
  }

  /** Every engine of the current settings and this machine (src/engine/discovery.ts). */
  get engines(): EngineSet {
    if (!this.enginesValue) {
      const set = new EngineSet(discoverEngines({ engines: engineSetting(), hidden: hiddenEnginesSetting() }), this.previous);
      this.enginesValue = set;
      this.log.info(`Engines: ${set.all.map((e) => `${e.name} (${e.id}) at ${e.endpoint.label}`).join('; ') || 'none'}`);
      for (const p of set.problems) this.log.warn(p);
    }
    return this.enginesValue;
  }

  /** The default engine (the first). Throws SettingsError when a malformed setting left none. */
  get engine(): Engine {
    return this.engines.default;
  }

  /**
   * The engine id an argument names: a container's `engineId`, an `engineId`
   * field, or that of an ancestor tree item (Files, Processes and Sidecars
   * rows carry only their container's id). Undefined means the default engine.
   */
  engineIdOf(arg: unknown): string | undefined {
    for (let a = arg as { container?: { engineId?: string }; engineId?: string; parentNode?: unknown } | undefined, depth = 0; a && typeof a === 'object' && depth < 8; a = a.parentNode as typeof a, depth++) {
      const id = a.container?.engineId ?? a.engineId;
      if (id) return id;
    }
    return undefined;
  }

  /** The engine a tree item, URI or configuration names (`engineId`); none means the default one. */
  engineFor(id: string | undefined): Engine {
    return this.engines.get(id);
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
