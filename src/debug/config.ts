// The attach arguments of debug type `sidecar`. Keep this interface and
// package.json's contributes.debuggers[0].configurationAttributes.attach in
// sync: a unit test compares the two.
import type { DebugProtocol } from '@vscode/debugprotocol';

export const DEBUG_TYPE = 'sidecar';

export interface SidecarAttachArguments extends DebugProtocol.AttachRequestArguments {
  /** Name or id of the container that runs the process ("<name>@<engine id>" names its engine too). */
  container: string;
  /** The engine's id or name (the Containers view's root); without it, the default engine. */
  engine?: string;
  /** The process's PID as seen inside the container. */
  processId?: number | string;
  /** A regular expression matched against the command lines of the container's processes. */
  processName?: string;
  /**
   * gdb (in a sidecar, over GDB/MI); node: SIGUSR1 opens the inspector of a
   * running node process, the port is forwarded, and VS Code's built-in node
   * debugger attaches; python: debugpy is loaded into the process from
   * sidecars and its DAP server relayed; go: delve's DAP server (`dlv dap`)
   * in a sidecar, relayed. Without it, chosen by the process.
   */
  debugger?: 'gdb' | 'node' | 'python' | 'go';
  /** The image that holds gdb; defaults to the setting sidecar.debugger.gdbImage. */
  image?: string;
  /** Build paths (prefixes) to workspace paths, e.g. {"/src": "${workspaceFolder}"}. */
  sourceFileMap?: Record<string, string>;
  /** Stop the process right after attaching. */
  stopOnAttach?: boolean;
  /** Log every MI command and answer to the debug console. */
  trace?: boolean;
  /** node: the workspace folder that holds the scripts. */
  localRoot?: string;
  /** node: the folder inside the container that localRoot stands for. */
  remoteRoot?: string;
  /** python: step into and stop in the user's code only, not the standard library or packages. */
  justMyCode?: boolean;
  /** python (and other DAP servers): the loopback port inside the container where the debugger's server listens. */
  port?: number;
  /** python (and other DAP servers): Stop also ends the process; by default Stop detaches and the process runs on. */
  terminateOnStop?: boolean;
}

/** The attributes, in the order package.json lists them. */
export const ATTACH_ATTRIBUTES: (keyof SidecarAttachArguments)[] = ['container', 'engine', 'processId', 'processName', 'debugger', 'image', 'sourceFileMap', 'stopOnAttach', 'trace', 'localRoot', 'remoteRoot', 'justMyCode', 'port', 'terminateOnStop'];
