// A container's processes for the debugger's pickers: from /proc when this
// window sees the engine's processes there, else from `ps` in a sidecar in the
// target's pid namespace (a remote engine, a non-root user, a window in a pid
// namespace of its own).
import type { SidecarContext } from '../context';
import type { Engine } from '../engine/engine';
import { containerProcesses, flattenProcesses, type ProcessInfo } from '../procfs/processes';
import { imageForStart } from '../trust/consent';
import { listProcessesInTarget } from './nodeInspector';

/** The image of the short-lived sidecars that list and signal a target's processes: the tunnel's busybox has `ps` and `kill`. */
export const SIGNAL_IMAGE_SETTING = 'sidecar.ports.tunnelImage';

/** Processes found only inside have hostPid 0 (unknown): a PID from inside never passes for a host PID. */
export async function listProcesses(ctx: SidecarContext, id: string, pid: number, engine: Engine = ctx.engine): Promise<(Pick<ProcessInfo, 'nsPid' | 'command'> & Partial<ProcessInfo>)[]> {
  const fromProc = flattenProcesses(await containerProcesses({ id, pid }).catch(() => []));
  if (fromProc.length) return fromProc;
  const image = await imageForStart(ctx, SIGNAL_IMAGE_SETTING, 'busybox:latest');
  return (await listProcessesInTarget(engine, { target: id, image, setting: SIGNAL_IMAGE_SETTING })).map((p) => ({ ...p, hostPid: 0 }));
}
