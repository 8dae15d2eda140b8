// Reads the settings that choose what runs with rights (images, capabilities,
// users, engines, the files backend) together with who set them. Every reader
// of such a setting goes through here, so the rule lives in one place:
// a workspace's value counts only in a trusted workspace, and never for
// machine-scoped settings.
import * as vscode from 'vscode';

export type Origin = 'default' | 'user' | 'workspace';

export interface SettingRead<T> {
  key: string;
  /** The value that applies before consent: the workspace's when it may set one. */
  value: T | undefined;
  origin: Origin;
  /** The user's own value, else the default: what applies without the workspace. */
  own: T | undefined;
  ownOrigin: Exclude<Origin, 'workspace'>;
  defaultValue: T | undefined;
}

export function readSetting<T>(key: string, opts: { machine?: boolean } = {}): SettingRead<T> {
  const i = vscode.workspace.getConfiguration().inspect<T>(key);
  const own = i?.globalValue ?? i?.defaultValue;
  const ownOrigin = i?.globalValue !== undefined ? 'user' : 'default';
  const ws = i?.workspaceFolderValue ?? i?.workspaceValue;
  // VS Code already hides restricted workspace values in Restricted Mode; checking
  // again here keeps the rule true even if a setting is missing from that list.
  if (ws !== undefined && vscode.workspace.isTrusted && !opts.machine) {
    return { key, value: ws, origin: 'workspace', own, ownOrigin, defaultValue: i?.defaultValue };
  }
  return { key, value: own, origin: ownOrigin, own, ownOrigin, defaultValue: i?.defaultValue };
}

/** sidecar.engines: machine-scoped, so only the user's settings (and the default) count. */
export function engineSetting(): unknown {
  return readSetting<unknown>('sidecar.engines', { machine: true }).value;
}

/** sidecar.hiddenEngines: machine-scoped like sidecar.engines. */
export function hiddenEnginesSetting(): unknown {
  return readSetting<unknown>('sidecar.hiddenEngines', { machine: true }).value;
}

/** sidecar.files.backend: the workspace's value only in a trusted workspace (it chooses no image or rights). */
export function filesBackend(): 'auto' | 'direct' | 'helper' {
  const v = readSetting<string>('sidecar.files.backend').value;
  return v === 'direct' || v === 'helper' ? v : 'auto';
}
