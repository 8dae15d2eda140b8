// Debugger images that need no registry of ours: the extension ships a
// Dockerfile per debugger and builds it on the user's engine the first time it
// is needed. The tag carries a hash of the Dockerfile (and build arguments), so
// a changed Dockerfile builds anew and an unchanged one is reused. Classic
// builder on purpose: its JSON stream needs no BuildKit session or protobuf.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from './engine';
import { CancelledError, hasImage } from './images';

export interface ImageBuildSpec {
  /** Repository part of the tag, e.g. `container-sidecar/gdb`. */
  repository: string;
  /** Folder that holds the Dockerfile. Only the Dockerfile is sent as the build context. */
  dir: string;
  /** Build arguments, e.g. `{ BASE: 'debian:bookworm-slim' }`. Part of the hash. */
  buildArgs?: Record<string, string>;
  /** The setting that names a prebuilt image instead; named in every failure. */
  setting: string;
}

export interface ImageBuildOptions {
  /** Each line of the build's output. */
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

/** A build failed; the message names the step, the engine's error and the setting for a prebuilt image. */
export class ImageBuildError extends Error {
  constructor(readonly image: string, readonly step: string | undefined, readonly engineError: string, readonly setting: string) {
    super(`Building the image ${image} failed${step ? ` at step "${step}"` : ''}: ${engineError}. ` +
      `To use a prebuilt image instead, set ${setting} to an image on this engine that has the tools.`);
  }
}

/** `repository:<12 hex>`, from the Dockerfile's bytes and the build arguments. */
export function builtImageTag(spec: ImageBuildSpec): string {
  const h = createHash('sha256');
  h.update(fs.readFileSync(path.join(spec.dir, 'Dockerfile')));
  const args = Object.entries(spec.buildArgs ?? {}).sort(([a], [b]) => a.localeCompare(b));
  h.update(`\0${JSON.stringify(args)}`);
  return `${spec.repository}:${h.digest('hex').slice(0, 12)}`;
}

/** One event of the classic builder's JSON stream. */
interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/** The engine's own words, without dockerode's "(HTTP code 500) ..." wrapper. */
function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return String(e?.json?.message ?? e?.message ?? err).trim().replace(/\.$/, '');
}

/** The image for `spec`: the existing tag, else a fresh build. Returns the tag. */
export async function ensureBuiltImage(engine: Engine, spec: ImageBuildSpec, opts: ImageBuildOptions = {}): Promise<string> {
  let tag: string;
  try {
    tag = builtImageTag(spec);
  } catch (err) {
    throw new ImageBuildError(spec.repository, undefined, `its Dockerfile cannot be read (${engineMessage(err)}); reinstall the extension`, spec.setting);
  }
  if (await hasImage(engine, tag)) return tag;
  await buildImage(engine, spec, tag, opts);
  if (!(await hasImage(engine, tag))) throw new ImageBuildError(tag, undefined, 'the engine reported success but has no such image', spec.setting);
  return tag;
}

async function buildImage(engine: Engine, spec: ImageBuildSpec, tag: string, opts: ImageBuildOptions): Promise<void> {
  const what = `Building ${tag}`;
  if (opts.signal?.aborted) throw new CancelledError(what);
  opts.onProgress?.(`${what} from ${path.join(spec.dir, 'Dockerfile')}`);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await engine.call((d) => d.buildImage({ context: spec.dir, src: ['Dockerfile'] }, {
      t: tag,
      buildargs: spec.buildArgs ?? {},
      // Remove intermediate containers also when a step fails or the build is cancelled.
      rm: true,
      forcerm: true,
      abortSignal: opts.signal,
    }) as Promise<NodeJS.ReadableStream>);
  } catch (err) {
    if (opts.signal?.aborted) throw new CancelledError(what);
    if ((err as { statusCode?: number }).statusCode !== undefined) throw new ImageBuildError(tag, undefined, engineMessage(err), spec.setting);
    throw err;
  }
  let step: string | undefined;
  // Build arguments, then the ARG defaults the build shows, to name steps as they ran.
  const args: Record<string, string> = { ...spec.buildArgs };
  let failure: string | undefined;
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      // Closing the connection makes the engine cancel the build and, with forcerm, remove its container.
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      reject(new CancelledError(what));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    engine.docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (opts.signal?.aborted) return;
        // The engine reports a failed step inside the stream, not as an HTTP status.
        if (err || failure) reject(new ImageBuildError(tag, step, failure ?? engineMessage(err), spec.setting));
        else resolve();
      },
      (e: BuildEvent) => {
        if (e.error || e.errorDetail) failure ??= (e.errorDetail?.message ?? e.error ?? 'unknown error').trim().replace(/\.$/, '');
        for (const line of (e.stream ?? e.status ?? '').split('\n')) {
          const text = line.trimEnd();
          if (!text) continue;
          const m = /^Step \d+\/\d+ : (.*)$/.exec(text);
          if (m) {
            const arg = /^ARG (\w+)=(\S*)$/.exec(m[1]!);
            if (arg) args[arg[1]!] ??= arg[2]!;
            // Name the step as it ran: "FROM debian:bookworm-slim", not "FROM ${BASE}".
            step = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (all, a?: string, b?: string) => args[(a ?? b)!] ?? all);
          }
          opts.onProgress?.(text);
        }
      },
    );
  });
}
