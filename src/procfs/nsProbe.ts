// Namespace inodes of containers whose processes are not on this kernel (a
// remote engine, a VM): a short-lived probe container on that engine, in the
// engine host's pid namespace, reads /proc/<pid>/ns/* there and prints the
// inodes. It is the files helper's image (the resolver binary, imported
// through the Engine API, no registry), run as `/resolver ns <id>:<pid>...`.
import crypto from 'node:crypto';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { Engine } from '../engine/engine';
import { LABELS, processOwner } from '../engine/sidecars';
import { ensureHelperImage } from './helperfs';
import { NS_TYPES, type NsInodes, type NsType } from './namespaces';

export interface ProbeTarget {
  id: string;
  /** The PID the engine reports (in its host's pid namespace). */
  pid: number;
}

export interface ProbeResult {
  host: NsInodes;
  /** Inodes per container id; containers that ended meanwhile are absent. */
  inodes: Map<string, NsInodes>;
}

/** The probe could not run or could not read; the message says why, for the tooltip. */
export class ProbeError extends Error {}

/** The probe's create options: pure, so tests check the exact rights it gets. */
export function probeCreateOptions(image: string, targets: ProbeTarget[], owner = processOwner): Docker.ContainerCreateOptions {
  return {
    name: `container-sidecar-probe-${crypto.randomBytes(4).toString('hex')}`,
    Image: image,
    Entrypoint: ['/resolver'],
    Cmd: ['ns', ...targets.map((t) => `${t.id}:${t.pid}`)],
    Env: [],
    AttachStdout: true,
    AttachStderr: true,
    Labels: { [LABELS.managed]: 'true', [LABELS.role]: 'probe', [LABELS.owner]: owner },
    HostConfig: {
      // The engine host's processes, where the container PIDs the engine reports are valid.
      PidMode: 'host',
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      // SYS_PTRACE: reading /proc/<pid>/ns/* of another user's process is a ptrace-read check.
      CapDrop: ['ALL'],
      CapAdd: ['SYS_PTRACE'],
      SecurityOpt: ['no-new-privileges'],
    },
  };
}

/** Parses the probe's output (see native/resolver.c, ns_probe). */
export function parseProbeOutput(text: string): ProbeResult & { errors: Map<string, string> } {
  const host: NsInodes = {};
  const inodes = new Map<string, NsInodes>();
  const errors = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [who, what, value] = line.trim().split(' ');
    if (!who || !what) continue;
    if (what === 'gone') continue;
    if (what === 'error') {
      errors.set(who, value ?? 'EIO');
      continue;
    }
    if (!(NS_TYPES as readonly string[]).includes(what) || !/^\d+$/.test(value ?? '')) continue;
    const target = who === 'host' ? host : (inodes.get(who) ?? inodes.set(who, {}).get(who)!);
    target[what as NsType] = Number(value);
  }
  return { host, inodes, errors };
}

/**
 * Runs the probe once for all `targets` and returns their inodes. Throws
 * ProbeError with a reason when the probe cannot run (no rights to start a
 * --pid=host container, the image cannot be imported) or reads nothing.
 */
export async function probeNamespaces(engine: Engine, targets: ProbeTarget[], timeoutMs = 30_000): Promise<ProbeResult> {
  let image: string;
  try {
    image = await ensureHelperImage(engine);
  } catch (e) {
    throw new ProbeError(`the namespace probe's image could not be imported on ${engine.endpoint.label} (${(e as Error).message})`);
  }
  const docker = engine.docker;
  let container: Docker.Container;
  try {
    container = await engine.call((d) => d.createContainer(probeCreateOptions(image, targets)));
  } catch (e) {
    throw new ProbeError(`the namespace probe could not be created on ${engine.endpoint.label} (${messageOf(e)})`);
  }
  try {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    // Attached before start, so no output is lost; the engine's log driver does not matter.
    const stream = await engine.call(() => container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
    const o = new PassThrough();
    const e = new PassThrough();
    o.on('data', (b: Buffer) => out.push(b));
    e.on('data', (b: Buffer) => err.push(b));
    docker.modem.demuxStream(stream, o, e);
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    try {
      await engine.call(() => container.start());
    } catch (x) {
      throw new ProbeError(`the namespace probe did not start on ${engine.endpoint.label} (${messageOf(x)})`);
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProbeError(`the namespace probe on ${engine.endpoint.label} gave no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all([engine.call(() => container.wait()), ended]), deadline]);
    } finally {
      clearTimeout(timer);
    }
    const r = parseProbeOutput(Buffer.concat(out).toString());
    if (Object.keys(r.host).length === 0 && r.inodes.size === 0) {
      const why = Buffer.concat(err).toString().trim() || [...r.errors.values()][0] || 'no output';
      throw new ProbeError(`the namespace probe on ${engine.endpoint.label} could read no /proc/<pid>/ns (${why})`);
    }
    // Every PID "gone" while the engine says they run: their cgroups do not name them (rootless
    // Podman on cgroup v1 creates none), so no inode can be attributed; HostConfig is the honest answer.
    if (targets.length > 0 && r.inodes.size === 0 && r.errors.size === 0) {
      throw new ProbeError(`the namespace probe on ${engine.endpoint.label} found no process whose cgroup names its container (an engine that creates no cgroups per container, such as rootless Podman on cgroup v1)`);
    }
    if (r.errors.size > 0 && r.inodes.size === 0) {
      throw new ProbeError(`the namespace probe on ${engine.endpoint.label} was refused reading /proc/<pid>/ns (${[...r.errors.values()][0]}; a security module such as AppArmor may deny it)`);
    }
    return { host: r.host, inodes: r.inodes };
  } finally {
    await engine.call(() => container.remove({ force: true })).catch(() => undefined);
  }
}

function messageOf(e: unknown): string {
  const x = e as { json?: { message?: string }; message?: string };
  return (x?.json?.message ?? x?.message ?? String(e)).trim();
}
