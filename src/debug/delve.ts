// Go targets: delve's own DAP server (`dlv dap`) in a sidecar that shares the
// target's pid and network namespaces, so it listens on the target's loopback
// and attaches to the process by the PID the container sees. Our adapter only
// relays DAP to it and maps paths; the image is never changed. No vscode
// import: the standalone adapter and the tests use this too.
import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { ContainerDetail } from '../engine/containers';
import type { Engine } from '../engine/engine';
import { ensureBuiltImage, type ImageBuildOptions, type ImageBuildSpec } from '../engine/imageBuild';
import { launchSidecar, removeSidecar } from '../engine/sidecars';
import { containerProcesses, flattenProcesses } from '../procfs/processes';
import type { DapLauncher } from './dapRelay';
import { shippedImagesDir } from './gdbSidecar';
import { bufferReader, type ByteReader, type GoBinaryInfo, readGoBinary, type SubstitutePath, substitutePaths } from './goBinary';

/** Names a prebuilt delve image; empty (the default) builds images/delve/Dockerfile on first use. */
export const DELVE_IMAGE_SETTING = 'sidecar.debugger.delveImage';
export const DELVE_REPOSITORY = 'container-sidecar/delve';
/** Where `dlv dap` listens inside the target's network namespace unless the configuration names a port. */
export const DEFAULT_DELVE_PORT = 4711;

export function delveImageSpec(o: { imagesDir?: string; buildArgs?: Record<string, string> } = {}): ImageBuildSpec {
  return { repository: DELVE_REPOSITORY, dir: path.join(o.imagesDir ?? shippedImagesDir(), 'delve'), buildArgs: o.buildArgs, setting: DELVE_IMAGE_SETTING };
}

/** The configured image, else the one built from the shipped Dockerfile (built now if missing). */
export async function resolveDelveImage(engine: Engine, configured: string | undefined, o: ImageBuildOptions & { imagesDir?: string; buildArgs?: Record<string, string> } = {}): Promise<string> {
  if (configured) return configured;
  return ensureBuiltImage(engine, delveImageSpec(o), o);
}

/** The process is not a Go program; the message names it and what to do. */
export class NotGoError extends Error {}
/** Something already listens on the chosen port in the target's network namespace. */
export class DelvePortInUseError extends Error {}
/** delve did not start or could not attach; the message says why and what to do. */
export class DelveError extends Error {}

/** A reader over /proc/<hostPid>/exe: the executable itself, even when deleted or outside our mount namespace. */
export async function openExe(hostPid: number): Promise<{ read: ByteReader; close(): Promise<void> }> {
  const fh = await fs.open(`/proc/${hostPid}/exe`, 'r');
  return {
    read: async (offset, length) => {
      const b = Buffer.alloc(length);
      const { bytesRead } = await fh.read(b, 0, length, offset);
      return b.subarray(0, bytesRead);
    },
    close: () => fh.close(),
  };
}

/**
 * What the executable of a host PID is (Go or not, version, source files), or
 * undefined when this process may not read it (not root): delve then finds out
 * itself, and its refusal is explained by explainAttachError.
 */
export async function inspectExe(hostPid: number): Promise<GoBinaryInfo | undefined> {
  let exe: Awaited<ReturnType<typeof openExe>> | undefined;
  try {
    exe = await openExe(hostPid);
  } catch {
    return undefined;
  }
  try {
    return await readGoBinary(exe.read);
  } finally {
    await exe.close();
  }
}

/** Executables larger than this are not fetched whole through the engine: the answer is "unknown". */
const MAX_ARCHIVE_EXE = 512 * 1024 * 1024;

/**
 * The executable a command line names (argv[0], when absolute), fetched from
 * the container through the engine's archive API: the engine resolves the
 * path inside the container's root, so this works without root and on a
 * remote engine. Undefined when it cannot be told (relative name, a link, too
 * large, gone).
 */
export async function inspectExeInContainer(engine: Engine, containerId: string, command: string): Promise<GoBinaryInfo | undefined> {
  const exe = command.trim().split(/\s+/)[0] ?? '';
  if (!exe.startsWith('/')) return undefined;
  try {
    const stream = (await engine.call((d) => d.getContainer(containerId).getArchive({ path: exe }))) as NodeJS.ReadableStream;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of stream as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_ARCHIVE_EXE + 1024) {
        (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        return undefined;
      }
      chunks.push(c);
    }
    const tar = Buffer.concat(chunks);
    // One tar entry: a regular file ('0' or NUL) with its size in octal; a link says nothing about the program.
    if (tar.length < 512 || (tar[156] !== 0x30 && tar[156] !== 0)) return undefined;
    const len = parseInt(tar.toString('latin1', 124, 136).replace(/\0.*$/, '').trim(), 8);
    if (!Number.isFinite(len) || tar.length < 512 + len) return undefined;
    return await readGoBinary(bufferReader(tar.subarray(512, 512 + len)));
  } catch {
    return undefined;
  }
}

/** What a process's executable is: through /proc when this window may read it, else fetched from the container. */
export async function processExe(o: { engine: Engine; containerId: string; hostPid?: number; command: string }): Promise<GoBinaryInfo | undefined> {
  return (o.hostPid ? await inspectExe(o.hostPid) : undefined) ?? inspectExeInContainer(o.engine, o.containerId, o.command);
}

/** Refuses a process that is not Go before any sidecar starts. */
export function requireGo(info: GoBinaryInfo | undefined, o: { pid: number; command: string; container: string }): void {
  if (!info || info.go) return;
  const what = info.elf ? 'a program built by another compiler' : 'not an ELF executable (a script or an interpreter?)';
  throw new NotGoError(`PID ${o.pid} (${o.command || '?'}) in container ${o.container} is not a Go program: its executable is ${what}. ` +
    'Pick the Go process, or use the debugger for its language ("debugger": "gdb" for native code).');
}

/** delve's attach arguments: the PID as the container sees it (delve runs in that pid namespace). */
export function delveAttachArguments(o: { pid: number; substitutePath: SubstitutePath[]; stopOnAttach?: boolean }): DebugProtocol.AttachRequestArguments & Record<string, unknown> {
  return {
    mode: 'local',
    processId: o.pid,
    substitutePath: o.substitutePath,
    stopOnEntry: !!o.stopOnAttach,
  };
}

/** A sentence for delve's attach refusals, or undefined to pass its own words on. */
export function explainAttachError(message: string, o: { pid: number; container: string }): string | undefined {
  if (/operation not permitted|permission denied|EPERM/i.test(message)) {
    return `delve may not trace PID ${o.pid} in container ${o.container}: ptrace was refused (${message.trim()}). ` +
      'The delve sidecar needs CAP_SYS_PTRACE and an engine whose seccomp or AppArmor profile allows ptrace; ' +
      'a target that already has a debugger attached refuses a second one.';
  }
  if (/no such process/i.test(message)) return `PID ${o.pid} does not run in container ${o.container} (it may have ended); pick a running process.`;
  if (/could not open debug info|not an executable|decoding dwarf|no debug info|unrecognized binary/i.test(message)) {
    return `PID ${o.pid} in container ${o.container} cannot be debugged by delve: ${message.trim()}. ` +
      'delve needs a Go program that keeps its debug information (not stripped, not built with -ldflags=-w); ' +
      'for a program that is not Go, use "debugger": "gdb".';
  }
  return undefined;
}

export interface DelveSidecar {
  id: string;
  target: ContainerDetail;
  /** The port `dlv dap` listens on, on 127.0.0.1 of the target's network namespace. */
  port: number;
  /** What dlv printed, for messages. */
  output(): string;
  /** Settles when dlv ends (after a disconnect it exits by itself). */
  ended: Promise<void>;
  /** Removes the sidecar; safe to call twice. */
  dispose(): Promise<void>;
}

export interface DelveSidecarOptions {
  target: string;
  /** A prebuilt image; empty or missing builds the shipped Dockerfile. */
  image?: string;
  port?: number;
  onProgress?: (msg: string) => void;
  signal?: AbortSignal;
  /** Test hook for real ptrace refusals: the capabilities to add (default SYS_PTRACE). */
  capAdd?: string[];
  /** Where the shipped Dockerfiles are (the extension's images/). */
  imagesDir?: string;
  /** Build arguments for the shipped Dockerfile (tests build from a local base). */
  buildArgs?: Record<string, string>;
}

/** delve said this once it listens. */
const LISTENING = /DAP server listening at/;

/**
 * Starts `dlv dap` in a sidecar (role `delve`, pid and network namespaces of
 * the target, SYS_PTRACE) and waits until it listens. A port taken in the
 * target's namespace, or a dlv that ends early, is reported with dlv's words.
 */
export async function startDelveSidecar(engine: Engine, o: DelveSidecarOptions): Promise<DelveSidecar> {
  const port = o.port ?? DEFAULT_DELVE_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DelveError(`"port" must be a whole number from 1 to 65535, not ${JSON.stringify(o.port)}.`);
  const image = await resolveDelveImage(engine, o.image, { onProgress: o.onProgress, signal: o.signal, imagesDir: o.imagesDir, buildArgs: o.buildArgs });
  let text = '';
  let onText: (() => void) | undefined;
  let ended!: () => void;
  const endedP = new Promise<void>((r) => (ended = r));
  const launched = await launchSidecar(engine, {
    target: o.target,
    role: 'delve',
    image,
    entrypoint: ['dlv'],
    // --check-go-version=false: delve 1.20 would refuse targets built by a newer Go than it knows, though it reads them.
    cmd: ['dap', '--listen', `127.0.0.1:${port}`, '--check-go-version=false'],
    capAdd: o.capAdd ?? ['SYS_PTRACE'],
    share: { pid: true, net: true, ipc: false },
  }, {
    onProgress: o.onProgress,
    signal: o.signal,
    setting: DELVE_IMAGE_SETTING,
    // Attach before start so that nothing dlv prints is lost, not even an immediate bind failure.
    beforeStart: async (c: Docker.Container) => {
      const stream = (await engine.call(() => c.attach({ stream: true, stdout: true, stderr: true }))) as NodeJS.ReadableStream;
      const sink = new PassThrough();
      sink.on('data', (b: Buffer) => {
        text += b.toString();
        onText?.();
      });
      engine.docker.modem.demuxStream(stream, sink, sink);
      stream.on('end', () => ended());
      stream.on('close', () => ended());
      stream.on('error', () => ended());
    },
  });
  const sidecar: DelveSidecar = {
    id: launched.id,
    target: launched.target,
    port,
    output: () => text,
    ended: endedP,
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await removeSidecar(engine, launched.id);
    },
  };
  let disposed = false;
  const name = launched.target.name;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DelveError(`delve did not start listening in container ${name} within 30 s. It said: ${text.trim() || 'nothing'}`)), 30_000);
      const check = () => {
        if (LISTENING.test(text)) {
          clearTimeout(timer);
          resolve();
        }
      };
      onText = check;
      check();
      void endedP.then(() => {
        clearTimeout(timer);
        if (LISTENING.test(text)) return resolve();
        if (/address already in use/i.test(text)) {
          reject(new DelvePortInUseError(`Port ${port} is already in use in the network namespace of container ${name}, so delve cannot listen there. ` +
            'Set "port" in the launch configuration to a free port, or end what listens on it.'));
        } else {
          reject(new DelveError(`delve ended before it listened in container ${name}: ${text.trim() || 'no output'}`));
        }
      });
    });
  } catch (err) {
    await sidecar.dispose().catch(() => undefined);
    throw err;
  }
  onText = undefined;
  return sidecar;
}

/**
 * sourceFileMap (build prefix -> workspace prefix) for a Go process, from the
 * build paths its executable records: see substitutePaths. The relay maps
 * paths with it, so delve itself gets no substitutePath.
 */
export async function inferGoSourceFileMap(o: { engine: Engine; containerId: string; hostPid?: number; command: string; folders: string[]; editorFiles: string[]; exists: (p: string) => boolean }): Promise<Record<string, string> | undefined> {
  const info = await processExe(o);
  if (!info?.go) return undefined;
  const rules = substitutePaths({ binaryFiles: info.files, editorFiles: o.editorFiles, folders: o.folders, exists: o.exists });
  return rules.length ? Object.fromEntries(rules.map((r) => [r.to, r.from])) : undefined;
}

/**
 * A port the user named is used or refused with a sentence; the default moves
 * on to the next ports when taken (the target's own service, or a delve of an
 * earlier session that is still exiting).
 */
async function startOnFreePort(engine: Engine, o: DelveSidecarOptions): Promise<DelveSidecar> {
  if (o.port !== undefined) return startDelveSidecar(engine, o);
  for (let port = DEFAULT_DELVE_PORT; ; port++) {
    try {
      return await startDelveSidecar(engine, { ...o, port });
    } catch (err) {
      if (!(err instanceof DelvePortInUseError) || port >= DEFAULT_DELVE_PORT + 9) throw err;
      o.onProgress?.(`port ${port} is taken in the container; trying ${port + 1}`);
    }
  }
}

/**
 * debugger "go": `dlv dap` in a sidecar next to the process, its port
 * forwarded to the host's loopback for the relay. A process this window can
 * read through /proc is checked to be Go first; otherwise delve's own refusal
 * is explained.
 */
export const goLauncher: DapLauncher = {
  debugger: 'go',
  label: 'delve',
  imageSetting: DELVE_IMAGE_SETTING,
  imageSpec: (imagesDir) => delveImageSpec({ imagesDir }),
  inferSourceFileMap: (o) => inferGoSourceFileMap(o),
  async start(target, deps) {
    const pid = target.processId;
    const where = { pid, container: target.containerName };
    const detail = await deps.engine.inspect(target.containerId);
    if (detail.state !== 'running' || !detail.pid) throw new DelveError(`Container ${detail.name} is ${detail.state}, not running; start it to debug its processes.`);
    const procs = flattenProcesses(await containerProcesses({ id: detail.id, pid: detail.pid }).catch(() => []));
    const proc = procs.find((p) => p.nsPid === pid);
    if (procs.length && !proc) throw new DelveError(`There is no process with PID ${pid} in container ${detail.name}. Pick a process from the container's process list, or use "processName".`);
    if (proc) requireGo(await processExe({ engine: deps.engine, containerId: detail.id, hostPid: proc.hostPid, command: proc.command }), { ...where, command: proc.command });
    const sidecar = await startOnFreePort(deps.engine, { target: detail.id, image: target.image, port: target.config.port, onProgress: deps.onProgress, signal: deps.signal });
    try {
      deps.onProgress?.(`forwarding delve's port ${sidecar.port}`);
      const fwd = await deps.forwards.forward({ target: detail.id, remotePort: sidecar.port, localPort: 0, onProgress: deps.onProgress, signal: deps.signal });
      deps.log?.('info', `delve listens on 127.0.0.1:${sidecar.port} in ${detail.name} (sidecar ${sidecar.id.slice(0, 12)}), forwarded to 127.0.0.1:${fwd.localPort}`);
      return {
        port: fwd.localPort,
        attachArguments: delveAttachArguments({ pid, substitutePath: [], stopOnAttach: target.config.stopOnAttach }),
        explainFailure: (command, message) => (command === 'attach' ? explainAttachError(message, where) : undefined),
        dispose: async () => {
          await deps.forwards.stop(fwd.id);
          // After a disconnect dlv ends by itself and the engine removes the sidecar; otherwise remove it now.
          await sidecar.dispose();
        },
      };
    } catch (err) {
      await sidecar.dispose().catch(() => undefined);
      throw err;
    }
  },
};
