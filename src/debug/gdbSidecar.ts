// Runs gdb in a sidecar that shares the target's pid namespace, with its
// stdio carried by the Docker API's attach stream: no gdb on the host, no
// ports. No vscode import: the standalone adapter uses this too.
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { Engine } from '../engine/engine';
import { ensureBuiltImage, type ImageBuildOptions, type ImageBuildSpec } from '../engine/imageBuild';
import { launchSidecar, removeSidecar } from '../engine/sidecars';
import type { ContainerDetail } from '../engine/containers';
import { MiClient } from './mi/client';

/** Names a prebuilt gdb image; empty (the default) builds images/gdb/Dockerfile on first use. */
export const GDB_IMAGE_SETTING = 'sidecar.debugger.gdbImage';
export const GDB_REPOSITORY = 'container-sidecar/gdb';

/** The Dockerfiles shipped in the extension: images/ at its root, found from dist/ (bundles) or out/ (tests). */
export function shippedImagesDir(from = __dirname): string {
  for (let d = from; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'images', 'gdb', 'Dockerfile'))) return path.join(d, 'images');
    if (path.dirname(d) === d) return path.join(from, '..', 'images');
  }
}

export function gdbImageSpec(o: { imagesDir?: string; buildArgs?: Record<string, string> } = {}): ImageBuildSpec {
  return { repository: GDB_REPOSITORY, dir: path.join(o.imagesDir ?? shippedImagesDir(), 'gdb'), buildArgs: o.buildArgs, setting: GDB_IMAGE_SETTING };
}

/** The configured image, else the one built from the shipped Dockerfile (built now if missing). */
export async function resolveGdbImage(engine: Engine, configured: string | undefined, o: ImageBuildOptions & { imagesDir?: string; buildArgs?: Record<string, string> } = {}): Promise<string> {
  if (configured) return configured;
  return ensureBuiltImage(engine, gdbImageSpec(o), o);
}

export interface GdbSidecar {
  id: string;
  target: ContainerDetail;
  mi: MiClient;
  /** gdb's stderr (warnings that are not MI). */
  stderr: PassThrough;
  /** Removes the sidecar; safe to call twice. */
  dispose(): Promise<void>;
}

export interface GdbSidecarOptions {
  target: string;
  /** A prebuilt image; empty or missing builds the shipped Dockerfile. */
  image?: string;
  onProgress?: (msg: string) => void;
  signal?: AbortSignal;
  /** Test hook for real ptrace refusals: the capabilities to add (default SYS_PTRACE). */
  capAdd?: string[];
}

export async function startGdbSidecar(engine: Engine, o: GdbSidecarOptions): Promise<GdbSidecar> {
  let stream: NodeJS.ReadWriteStream | undefined;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const image = await resolveGdbImage(engine, o.image, { onProgress: o.onProgress, signal: o.signal });
  const launched = await launchSidecar(engine, {
    target: o.target,
    role: 'gdb',
    image,
    // -nx: a user's ~/.gdbinit in the image must not change what the MI answers look like.
    entrypoint: ['gdb'],
    cmd: ['-q', '-nx', '--interpreter=mi3'],
    capAdd: o.capAdd ?? ['SYS_PTRACE'],
    // gdb needs the pid namespace only; it has no business on the target's network.
    share: { pid: true, net: false, ipc: false },
    openStdin: true,
  }, {
    onProgress: o.onProgress,
    signal: o.signal,
    setting: GDB_IMAGE_SETTING,
    // Attach before start so that nothing gdb writes is lost.
    beforeStart: async (c: Docker.Container) => {
      stream = (await engine.call(() => c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }))) as NodeJS.ReadWriteStream;
      engine.docker.modem.demuxStream(stream, stdout, stderr);
      stream.on('end', () => {
        stdout.end();
        stderr.end();
      });
      stream.on('error', () => stdout.destroy());
    },
  });
  const mi = new MiClient(stdout, stream as unknown as NodeJS.WritableStream as never);
  let disposed = false;
  return {
    id: launched.id,
    target: launched.target,
    mi,
    stderr,
    async dispose() {
      if (disposed) return;
      disposed = true;
      mi.close();
      (stream as unknown as { destroy?: () => void })?.destroy?.();
      await removeSidecar(engine, launched.id);
    },
  };
}
