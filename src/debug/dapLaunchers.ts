// Which debugger serves a process, and the runtimes whose debuggers speak DAP
// themselves (their servers are relayed by dapRelay.ts). No vscode import.
import type { DapLauncher } from './dapRelay';
import { debugpyLauncher } from './debugpy';
import { goLauncher } from './delve';
import { isNodeCommand } from './nodeInspector';

/** The DAP runtimes, by the attach attribute `debugger`. A new runtime adds its launcher here. */
export const DAP_LAUNCHERS: readonly DapLauncher[] = [debugpyLauncher, goLauncher];

export function dapLauncher(debuggerName: unknown): DapLauncher | undefined {
  return DAP_LAUNCHERS.find((l) => l.debugger === debuggerName);
}

/** Whether a command line runs a Python interpreter (the executable, not an argument). */
export function isPythonCommand(command: string): boolean {
  const exe = command.trim().split(/\s+/)[0] ?? '';
  return /(^|\/)python(\d+(\.\d+)?)?$/.test(exe);
}

/**
 * The debugger for a process, from what is known of it: `node` (VS Code's
 * JavaScript debugger), a DAP runtime's name, or `gdb` for anything else.
 * `go` says whether its executable is a Go program (read from /proc; unknown
 * when this window may not read it), as a Go command line looks like any other.
 */
export function debuggerForProcess(p: { command: string; go?: boolean }): string {
  if (isNodeCommand(p.command)) return 'node';
  if (isPythonCommand(p.command) && dapLauncher('python')) return 'python';
  if (p.go && dapLauncher('go')) return 'go';
  return 'gdb';
}
