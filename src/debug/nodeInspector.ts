// Node.js targets, with no change to the image: SIGUSR1 makes a running node
// process open its inspector on 127.0.0.1:9229 inside its own network
// namespace. The signal comes from a short-lived sidecar in the target's pid
// namespace (so any PID works, not only PID 1). No vscode import.
import http from 'node:http';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { Engine } from '../engine/engine';
import { launchSidecar } from '../engine/sidecars';

export const INSPECTOR_PORT = 9229;

/** Whether a process's command line runs node (the executable, not an argument). */
export function isNodeCommand(command: string): boolean {
  const exe = command.trim().split(/\s+/)[0] ?? '';
  return /(^|\/)(node|nodejs)(\d+)?$/.test(exe);
}

/** The absolute script path a `node [flags] <script>` command runs, if it names one. */
export function scriptPath(command: string): string | undefined {
  const script = command.trim().split(/\s+/).slice(1).find((a) => !a.startsWith('-'));
  return script?.startsWith('/') ? script : undefined;
}

/** The folder of the script a `node [flags] <script>` command runs, for remoteRoot. */
export function scriptFolder(command: string): string | undefined {
  const script = scriptPath(command);
  return script && (script.replace(/\/[^/]*$/, '') || '/');
}

/**
 * localRoot/remoteRoot for a node script (an absolute path in the container):
 * the workspace folder that holds the same relative script. For
 * `/app/src/main.js` it tries `app/src/main.js`, then `src/main.js`, then
 * `main.js` under each folder (the longest match wins), so remoteRoot is the
 * part of the container path that the folder stands for.
 */
export function inferRoots(script: string | undefined, folders: string[], exists: (path: string) => boolean): { localRoot: string; remoteRoot: string } | undefined {
  if (!script?.startsWith('/')) return undefined;
  const parts = script.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const rel = parts.slice(i).join('/');
    for (const folder of folders) {
      if (exists(`${folder.replace(/\/+$/, '')}/${rel}`)) return { localRoot: folder, remoteRoot: `/${parts.slice(0, i).join('/')}` };
    }
  }
  return undefined;
}

/**
 * The main script of the process behind an inspector, from its /json/list
 * answer (`"url": "file:///app/app.js"`): Node resolves it to an absolute path,
 * so no process listing is needed to know it.
 */
export function inspectorScript(list: unknown): string | undefined {
  const url = Array.isArray(list) ? (list as { url?: unknown }[]).map((t) => t?.url).find((u) => typeof u === 'string' && u.startsWith('file:///')) : undefined;
  if (typeof url !== 'string') return undefined;
  try {
    return decodeURIComponent(new URL(url).pathname);
  } catch {
    return undefined;
  }
}

export class ProcessNameError extends Error {}

/**
 * The one process whose command line matches `processName` (a regular
 * expression), as the gdb path resolves it; otherwise an error that lists the
 * candidates, so nothing is signalled on a guess.
 */
export function pickByName<P extends { nsPid: number; command: string }>(procs: P[], processName: string, container: string): P {
  let re: RegExp;
  try {
    re = new RegExp(processName);
  } catch {
    throw new ProcessNameError(`"processName" is not a valid regular expression: ${processName}`);
  }
  const list = (ps: P[]) => ps.map((p) => `${p.nsPid} ${p.command}`).join('; ');
  const matches = procs.filter((p) => re.test(p.command));
  if (matches.length === 1) return matches[0];
  if (!matches.length) throw new ProcessNameError(`No process in ${container} matches "${processName}"; nothing was attached. Its processes: ${list(procs)}.`);
  throw new ProcessNameError(`Several processes in ${container} match "${processName}": ${list(matches)}. Set "processId" or a narrower "processName"; nothing was attached.`);
}

export class SignalError extends Error {}

/** Sends SIGUSR1 to `pid` (PID inside the target) from a sidecar that shares the target's pid namespace. */
export async function sendInspectSignal(engine: Engine, o: { target: string; pid: number; image: string; setting?: string; onProgress?: (m: string) => void }): Promise<void> {
  if (!Number.isInteger(o.pid) || o.pid <= 0) throw new SignalError(`"${o.pid}" is not a PID.`);
  // argv, no shell: the PID is a number we checked.
  const r = await runInPidNamespace(engine, { ...o, argv: ['kill', '-USR1', String(o.pid)] });
  if (r.code !== 0) throw new SignalError(`Sending SIGUSR1 to PID ${o.pid} failed${r.output.trim() ? `: ${r.output.trim()}` : ''}. Is the process still running?`);
}

/**
 * The target's processes as its own pid namespace lists them (`ps` in a
 * sidecar): for when this window cannot read the engine's /proc (a remote
 * engine, a non-root user, or a window in a pid namespace of its own).
 */
export async function listProcessesInTarget(engine: Engine, o: { target: string; image: string; setting?: string }): Promise<{ nsPid: number; ppid: number; command: string }[]> {
  const argv = ['ps', '-o', 'pid,ppid,args'];
  // A pid namespace always holds a process, so an empty answer means the output was lost: ask again.
  for (let attempt = 1; ; attempt++) {
    const r = await runInPidNamespace(engine, { ...o, argv });
    if (r.code !== 0) throw new SignalError(`Listing the processes of the container failed: ${r.output.trim()}`);
    const procs = r.output.split('\n').slice(1).map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)).filter((m): m is RegExpExecArray => !!m)
      .map((m) => ({ nsPid: Number(m[1]), ppid: Number(m[2]), command: m[3].trim() })).filter((p) => p.command !== argv.join(' '));
    if (procs.length || attempt === 3) return procs;
  }
}

/** Runs argv in a short-lived sidecar in the target's pid namespace; its exit code and output. */
async function runInPidNamespace(engine: Engine, o: { target: string; image: string; argv: string[]; setting?: string; onProgress?: (m: string) => void }): Promise<{ code: number; output: string }> {
  let exited: Promise<{ StatusCode?: number }> | undefined;
  let logs: Promise<string> | undefined;
  await launchSidecar(engine, {
    target: o.target,
    role: 'debugger',
    image: o.image,
    entrypoint: o.argv.slice(0, 1),
    cmd: o.argv.slice(1),
    share: { pid: true, net: false, ipc: false },
  }, {
    setting: o.setting,
    onProgress: o.onProgress,
    beforeStart: async (c: Docker.Container) => {
      // Wait on the container before it starts: with AutoRemove it is gone soon after it exits.
      exited = c.wait({ condition: 'removed' }) as Promise<{ StatusCode?: number }>;
      logs = c.attach({ stream: true, stdout: true, stderr: true }).then((s) => collect(engine, s as NodeJS.ReadableStream));
    },
  });
  const r = await exited!;
  return { code: r.StatusCode ?? -1, output: await logs!.catch(() => '') };
}

/** kill's output (stdout and stderr, demultiplexed) for the error message. */
function collect(engine: Engine, s: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (b: Buffer) => parts.push(b));
    engine.docker.modem.demuxStream(s, sink, sink);
    const done = () => resolve(Buffer.concat(parts).toString('utf8'));
    s.on('end', done);
    s.on('error', done);
  });
}

/** The inspector's discovery documents, as read through the forward. */
export interface InspectorDiscovery {
  '/json/list': unknown;
  '/json/version': unknown;
}

/**
 * Polls the inspector through the forwarded port until it answers; both of
 * its discovery documents, read at once (each read is an exec in the tunnel).
 */
export async function waitForInspector(port: number, timeoutMs = 15_000): Promise<InspectorDiscovery> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    try {
      const [list, version] = await Promise.all([getJson(port, '/json/list'), getJson(port, '/json/version')]);
      return { '/json/list': list, '/json/version': version };
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    // Each try through the forward is an exec in the tunnel: a short pause, not a busy loop.
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new SignalError(`Node's inspector did not answer on port ${INSPECTOR_PORT} within ${timeoutMs / 1000} s (${last}). The process may not be node, may run with --disable-sigusr1, or its inspector may listen on another port.`);
}

function getJson(port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(parts).toString('utf8')));
        } catch {
          reject(new Error('not an inspector answer'));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}
