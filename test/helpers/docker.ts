// Helpers for tests against the real engine: start labelled containers and
// always remove them afterwards.
import Docker from 'dockerode';
import { resolveEndpoint } from '../../src/engine/connection';

export const IMAGES = {
  busybox: process.env.SIDECAR_IMAGE_BUSYBOX ?? 'container-sidecar-test/busybox:1',
  target: process.env.SIDECAR_IMAGE_TARGET ?? 'container-sidecar-test/target:1',
  gdb: process.env.SIDECAR_IMAGE_GDB ?? 'container-sidecar-test/gdb:1',
  node: process.env.SIDECAR_IMAGE_NODE ?? 'container-sidecar-test/node:1',
  go: process.env.SIDECAR_IMAGE_GO ?? 'container-sidecar-test/go:1',
  delve: process.env.SIDECAR_IMAGE_DELVE ?? 'container-sidecar-test/delve:1',
  python: process.env.SIDECAR_IMAGE_PYTHON ?? 'container-sidecar-test/python:1',
  debugpy: process.env.SIDECAR_IMAGE_DEBUGPY ?? 'container-sidecar-test/debugpy:1',
};

export const TEST_LABEL = 'io.container-sidecar.test';

export function testDocker(): Docker {
  return new Docker(resolveEndpoint(undefined).options);
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface RunOptions {
  name?: string;
  image?: string;
  cmd?: string[];
  start?: boolean;
  hostConfig?: Docker.HostConfig;
  labels?: Record<string, string>;
  tty?: boolean;
}

/** Creates (and by default starts) a container labelled for cleanup. */
export async function runContainer(docker: Docker, o: RunOptions = {}): Promise<Docker.Container> {
  const c = await docker.createContainer({
    name: o.name ?? uniqueName('cs-test'),
    Image: o.image ?? IMAGES.busybox,
    Cmd: o.cmd ?? ['sleep', '3600'],
    Tty: o.tty ?? false,
    Labels: { [TEST_LABEL]: 'true', ...o.labels },
    // No network of its own unless a test asks: the workplace allows loopback only.
    HostConfig: { NetworkMode: 'none', ...o.hostConfig },
  });
  if (o.start !== false) await c.start();
  return c;
}

export async function removeQuietly(docker: Docker, ids: (string | Docker.Container)[]): Promise<void> {
  await Promise.all(ids.map(async (x) => {
    const c = typeof x === 'string' ? docker.getContainer(x) : x;
    try {
      await c.remove({ force: true, v: true });
    } catch {
      // already gone
    }
  }));
}

/** Runs a command in a container through the Engine API and returns its output. */
export async function execIn(docker: Docker, id: string, cmd: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const exec = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const { PassThrough } = await import('node:stream');
  const o = new PassThrough();
  const e = new PassThrough();
  o.on('data', (b: Buffer) => out.push(b));
  e.on('data', (b: Buffer) => err.push(b));
  docker.modem.demuxStream(stream, o, e);
  await new Promise<void>((resolve) => stream.on('end', () => resolve()));
  const info = await exec.inspect();
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), exitCode: info.ExitCode ?? -1 };
}

/** One file of a container (even a shell-less one), read through the Engine's archive API. */
export async function readFileFromArchive(docker: Docker, id: string, file: string): Promise<string> {
  const stream = await docker.getContainer(id).getArchive({ path: file });
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  const tar = Buffer.concat(chunks);
  // A single-entry tar: the size is octal in the header, the data follows at 512.
  const size = parseInt(tar.subarray(124, 136).toString().replace(/\0.*$/, '').trim(), 8);
  return tar.subarray(512, 512 + size).toString();
}
