// Images the extension runs (sidecar profiles, helpers): use the local copy,
// else pull it, and explain a failed pull in terms the user can act on.
import type { Engine } from './engine';

/** A pull failed; the message names the image, the registry's answer and the setting to change. */
export class ImagePullError extends Error {
  constructor(readonly image: string, readonly registryError: string, readonly setting: string) {
    super(`Image ${image} is not available locally and pulling it failed: ${registryError}. ` +
      `Load or build the image on this engine (docker load, docker build), or change the setting ${setting} to an image the engine has.`);
  }
}

/** The user cancelled a pull. */
export class CancelledError extends Error {
  constructor(what: string) {
    super(`${what} was cancelled.`);
  }
}

export interface EnsureImageOptions {
  onProgress?: (msg: string) => void;
  signal?: AbortSignal;
  /** The setting that chose this image, named in the error message. */
  setting?: string;
}

/** Docker's pull progress events, reduced to what we show. */
interface PullEvent {
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
}

function statusCode(err: unknown): number | undefined {
  return (err as { statusCode?: number } | undefined)?.statusCode;
}

/** The engine's own message, without dockerode's "(HTTP code 500) ..." prefix when it kept the JSON. */
function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  const m = e?.json?.message ?? e?.message ?? String(err);
  return m.replace(/\.$/, '');
}

export async function hasImage(engine: Engine, image: string): Promise<boolean> {
  try {
    await engine.call((d) => d.getImage(image).inspect());
    return true;
  } catch (err) {
    if (statusCode(err) === 404) return false;
    throw err;
  }
}

/** Makes sure `image` exists on the engine, pulling it if needed. */
export async function ensureImage(engine: Engine, image: string, opts: EnsureImageOptions = {}): Promise<void> {
  const setting = opts.setting ?? 'sidecar.debugger.profiles';
  if (await hasImage(engine, image)) return;
  if (opts.signal?.aborted) throw new CancelledError(`Pulling ${image}`);
  opts.onProgress?.(`Pulling ${image}`);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await engine.call((d) => d.pull(image) as Promise<NodeJS.ReadableStream>);
  } catch (err) {
    if (statusCode(err) !== undefined) throw new ImagePullError(image, engineMessage(err), setting);
    throw err;
  }
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      reject(new CancelledError(`Pulling ${image}`));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    engine.docker.modem.followProgress(
      stream,
      (err: Error | null, events: PullEvent[]) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (opts.signal?.aborted) return;
        // The engine reports registry failures inside the stream, not as an HTTP status.
        const failed = events?.find((e) => e.error || e.errorDetail);
        if (err || failed) reject(new ImagePullError(image, err ? engineMessage(err) : (failed!.errorDetail?.message ?? failed!.error ?? 'unknown error'), setting));
        else resolve();
      },
      (e: PullEvent) => {
        if (e.status) opts.onProgress?.(`${image}: ${e.status}${e.id ? ` ${e.id}` : ''}${e.progress ? ` ${e.progress}` : ''}`);
      },
    );
  });
  // A pull that "succeeded" but left no image would fail later with a vaguer error.
  if (!(await hasImage(engine, image))) throw new ImagePullError(image, 'the engine reported success but has no such image', setting);
}
