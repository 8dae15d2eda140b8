// Python targets, with no change to the image: debugpy is loaded into the
// running interpreter from two sidecars, and its DAP server (inside the target,
// on its loopback) is reached through a port forward and relayed.
// - The holder (default user of the target, no capabilities, pid namespace
//   only, no network) holds debugpy. The target's interpreter imports it
//   through /proc/<holder>/root: the kernel allows that only to a process with
//   at least the holder's capabilities, hence none.
// - The injector (CAP_SYS_PTRACE, pid and network namespaces) runs
//   images/debugpy/inject.py: it checks the target, runs debugpy's own
//   `--pid` injection through gdb, and reaps everything it started.
// A second attach finds debugpy listening and injects nothing. No vscode import.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { ImageBuildSpec } from '../engine/imageBuild';
import { launchSidecar, removeSidecar } from '../engine/sidecars';
import { parsePort } from '../engine/portForward';
import type { DapLaunchDeps, DapLauncher, DapServer, DapTarget } from './dapRelay';
import { shippedImagesDir } from './gdbSidecar';

export const DEBUGPY_IMAGE_SETTING = 'sidecar.debugger.debugpyImage';
export const DEBUGPY_REPOSITORY = 'container-sidecar/debugpy';
export const DEBUGPY_PORT = 5678;
/** The oldest Python the shipped debugpy (Debian trixie's 1.8) supports. */
export const MIN_PYTHON = '3.8';
export const SHIPPED_DEBUGPY = 'debugpy 1.8 (Debian trixie)';

/** A user-facing failure of the Python attach: the message names the problem and the fix. */
export class DebugpyError extends Error {}

export function debugpyImageSpec(imagesDir = shippedImagesDir(), buildArgs?: Record<string, string>): ImageBuildSpec {
  return { repository: DEBUGPY_REPOSITORY, dir: path.join(imagesDir, 'debugpy'), buildArgs, setting: DEBUGPY_IMAGE_SETTING };
}

export const debugpyLauncher: DapLauncher = {
  debugger: 'python',
  label: 'debugpy',
  imageSetting: DEBUGPY_IMAGE_SETTING,
  imageSpec: (dir) => debugpyImageSpec(dir),
  start: (target, deps) => startDebugpy(target, deps),
};

/** One line of inject.py's report. */
interface Report {
  event?: 'target' | 'ready';
  error?: string;
  uid?: number;
  gid?: number;
  python?: string | null;
  reused?: boolean;
  [k: string]: unknown;
}

export interface DebugpyOptions {
  /** Test hook for real ptrace refusals: the injector's capabilities (default: add SYS_PTRACE). */
  capAdd?: string[];
  capDrop?: string[];
  /** Where images/debugpy/inject.py is (tests run from out/). */
  imagesDir?: string;
}

/** What the last attach did, for tests and the log. */
export interface DebugpyStart extends DapServer {
  reused: boolean;
  python?: string;
  holderId?: string;
}

export async function startDebugpy(target: DapTarget, deps: DapLaunchDeps, o: DebugpyOptions = {}): Promise<DebugpyStart> {
  const port = target.config.port === undefined ? DEBUGPY_PORT : parsePort(target.config.port, '"port"');
  const pid = target.processId;
  if (!Number.isInteger(pid) || pid <= 0) throw new DebugpyError(`"processId" must be a PID inside the container, not ${JSON.stringify(pid)}.`);
  const script = fs.readFileSync(path.join(o.imagesDir ?? shippedImagesDir(), 'debugpy', 'inject.py'), 'utf8');
  const token = `container-sidecar-holder-${crypto.randomBytes(6).toString('hex')}`;
  const sidecars: string[] = [];
  const removeAll = () => Promise.all(sidecars.map((id) => removeSidecar(deps.engine, id).catch((err: unknown) => deps.log?.('warn', `Removing sidecar ${id.slice(0, 12)} failed: ${String(err)}`))));
  const where = `PID ${pid} in ${target.containerName}`;
  let holderId: string | undefined;
  try {
    deps.onProgress?.('checking the process');
    const result = await runInjector(target, deps, { script, pid, port, token, capAdd: o.capAdd ?? ['SYS_PTRACE'], capDrop: o.capDrop }, sidecars, async (r) => {
      deps.onProgress?.(`loading debugpy into Python ${r.python ?? ''} (${where})`);
      const holder = await launchSidecar(deps.engine, {
        target: target.containerId,
        role: 'debugger',
        image: target.image,
        // Signal-free idling that names the token, so the injector can find it in the shared pid namespace.
        entrypoint: ['python3'],
        cmd: ['-c', 'import signal; signal.pause()', token],
        user: `${r.uid}:${r.gid}`,
        capDrop: ['ALL'],
        share: { pid: true, net: false, ipc: false },
      }, { onProgress: deps.onProgress, signal: deps.signal, setting: DEBUGPY_IMAGE_SETTING });
      holderId = holder.id;
      sidecars.push(holder.id);
    });
    deps.log?.('info', result.reused ? `debugpy already listens on 127.0.0.1:${port} in ${where}; reusing it.` : `debugpy loaded into ${where} (Python ${result.python ?? 'unknown'}), listening on 127.0.0.1:${port} in its network namespace.`);
    deps.onProgress?.(`forwarding port ${port}`);
    const fwd = await deps.forwards.forward({ target: target.containerId, remotePort: port, localPort: 0, onProgress: deps.onProgress, signal: deps.signal });
    let disposed = false;
    return {
      port: fwd.localPort,
      reused: !!result.reused,
      python: result.python ?? undefined,
      holderId,
      attachArguments: {
        justMyCode: target.config.justMyCode ?? true,
        // Child processes would be attached by PID on the host's side: never.
        subProcess: false,
        // Output stays where the service writes it (its logs); the Debug Console gets the debugger's words.
        redirectOutput: false,
        showReturnValue: true,
      },
      async dispose() {
        if (disposed) return;
        disposed = true;
        await deps.forwards.stop(fwd.id);
        await removeAll();
      },
    };
  } catch (err) {
    await removeAll();
    throw err;
  }
}

/**
 * Runs inject.py in the injector sidecar and follows its report. `onTarget`
 * starts the holder as the user the target reads files as. Resolves with the
 * `ready` report; rejects with a DebugpyError for an `error` report.
 */
async function runInjector(target: DapTarget, deps: DapLaunchDeps, o: { script: string; pid: number; port: number; token: string; capAdd: string[]; capDrop?: string[] },
  sidecars: string[], onTarget: (r: Report) => Promise<void>): Promise<Report> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let errText = '';
  stderr.on('data', (b: Buffer) => (errText = (errText + b.toString('utf8')).slice(-4000)));
  const reports: Report[] = [];
  let wake: () => void = () => undefined;
  let ended = false;
  let buf = '';
  stdout.on('data', (b: Buffer) => {
    buf += b.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      try {
        reports.push(JSON.parse(line) as Report);
      } catch {
        continue;
      }
      wake();
    }
  });
  stdout.on('end', () => {
    ended = true;
    wake();
  });
  const injector = await launchSidecar(deps.engine, {
    target: target.containerId,
    role: 'gdb',
    image: target.image,
    entrypoint: ['python3'],
    // argv, no shell: the numbers were checked, the token is ours.
    cmd: ['-c', o.script, String(o.pid), String(o.port), o.token, MIN_PYTHON],
    capAdd: o.capAdd,
    capDrop: o.capDrop,
    share: { pid: true, net: true, ipc: false },
  }, {
    onProgress: deps.onProgress,
    signal: deps.signal,
    setting: DEBUGPY_IMAGE_SETTING,
    beforeStart: async (c: Docker.Container) => {
      const stream = (await deps.engine.call(() => c.attach({ stream: true, stdout: true, stderr: true }))) as NodeJS.ReadableStream;
      deps.engine.docker.modem.demuxStream(stream, stdout, stderr);
      stream.on('end', () => stdout.end());
      stream.on('close', () => stdout.end());
      stream.on('error', () => stdout.end());
    },
  });
  sidecars.push(injector.id);
  for (;;) {
    const r = reports.shift();
    if (r?.error) throw explain(r, target, o.port, errText);
    if (r?.event === 'ready') return r;
    if (r?.event === 'target') {
      await onTarget(r);
      continue;
    }
    if (r) continue;
    if (ended) {
      throw new DebugpyError(`The debugpy injector for PID ${o.pid} in ${target.containerName} ended without a result${errText.trim() ? `: ${lastLines(errText)}` : ''}. Is the image's python3 working (setting ${DEBUGPY_IMAGE_SETTING})?`);
    }
    await new Promise<void>((r) => (wake = r));
  }
}

function lastLines(text: string, n = 6): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}

/** inject.py's error codes as sentences naming the problem and the fix. */
function explain(r: Report, target: DapTarget, port: number, stderr: string): DebugpyError {
  const where = `PID ${target.processId} in ${target.containerName}`;
  const detail = typeof r.detail === 'string' && r.detail.trim() ? ` (${lastLines(r.detail, 4)})` : '';
  switch (r.error) {
    case 'nopid':
      return new DebugpyError(`There is no process with PID ${target.processId} in ${target.containerName}; pick a running process.`);
    case 'traced':
      return new DebugpyError(`ptrace was refused: ${where} is already traced by process ${String(r.tracer)} (another debugger). Detach that debugger, then attach again.`);
    case 'ptrace':
      return new DebugpyError(`Attaching to ${where} was refused by ptrace${detail}. The debugger sidecar needs CAP_SYS_PTRACE; an engine that forbids it (a seccomp or AppArmor profile, a rootless engine, a hardened host) must allow ptrace for the Python debugger to load.`);
    case 'notpython':
      return new DebugpyError(`${where} is not a Python interpreter (it runs ${String(r.exe)}: ${String(r.command ?? '')}); pick the python process, or use "debugger": "gdb" for a native program.`);
    case 'tooold':
      return new DebugpyError(`${where} runs Python ${String(r.python)}, older than ${String(r.minimum)}, the oldest that the shipped ${SHIPPED_DEBUGPY} supports. Debug it with "debugger": "gdb", or set ${DEBUGPY_IMAGE_SETTING} to an image whose debugpy supports Python ${String(r.python)}.`);
    case 'portinuse':
      return new DebugpyError(`Port ${port} on the loopback of ${target.containerName} is already in use${r.command ? ` by ${String(r.command)}` : ''}, and not by a debugpy of PID ${target.processId}. Set "port" in the launch configuration to a free port.`);
    case 'nodebugpy':
    case 'nogdb':
      return new DebugpyError(`The debugger image ${target.image} has no ${r.error === 'nogdb' ? 'gdb' : 'debugpy'}. Clear the setting ${DEBUGPY_IMAGE_SETTING} to use the built image, or name one with python3, debugpy and gdb.`);
    case 'noholder':
      return new DebugpyError(`The debugpy holder sidecar for ${where} did not start in time; try again.`);
    case 'inject':
      return new DebugpyError(`Loading debugpy into ${where} failed${detail}. The process may be busy in native code or built without the symbols gdb needs.`);
    case 'nolisten':
      return new DebugpyError(`debugpy was loaded into ${where} but did not start listening on port ${port}${detail}. If the process runs as another user or with dropped capabilities than the sidecars, it cannot import debugpy.`);
    default:
      return new DebugpyError(`The Python debugger could not attach to ${where}: ${String(r.error)}${stderr.trim() ? ` (${lastLines(stderr, 3)})` : ''}.`);
  }
}
