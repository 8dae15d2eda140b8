// The sidecar-launch service: a container that joins a target's namespaces
// (the `docker run --pid=container:X --network=container:X` trick) without
// touching the target. The debugger terminal, the file helper, port-forward
// tunnels and the gdb debugger all start their containers here.
import fs from 'node:fs';
import os from 'node:os';
import crypto from 'node:crypto';
import type Docker from 'dockerode';
import type { ContainerDetail } from './containers';
import { type Engine, NoSuchContainerError } from './engine';
import { ensureImage } from './images';

export type SidecarRole = 'debugger' | 'files' | 'tunnel' | 'gdb' | 'delve';
export const SIDECAR_ROLES: readonly SidecarRole[] = ['debugger', 'files', 'tunnel', 'gdb', 'delve'];

export interface SidecarSpec {
  /** Target container id or name. */
  target: string;
  role: SidecarRole;
  image: string;
  cmd?: string[];
  entrypoint?: string[];
  user?: string;
  env?: Record<string, string>;
  capAdd?: string[];
  /** Capabilities to drop, e.g. ["ALL"] for a sidecar that others must be allowed to read through /proc. */
  capDrop?: string[];
  /** Namespaces to join; pid and net default to true, ipc to true when the target allows it. */
  share?: { pid?: boolean; net?: boolean; ipc?: boolean };
  tty?: boolean;
  openStdin?: boolean;
  name?: string;
  extraLabels?: Record<string, string>;
}

export const LABELS = {
  managed: 'io.container-sidecar.managed',
  target: 'io.container-sidecar.target',
  role: 'io.container-sidecar.role',
  /** Which extension host started it, so a crashed window's sidecars can be told apart from live ones. */
  owner: 'io.container-sidecar.owner',
  /** The engine id of the target (engines from discovery): two engines may hold the same container name. */
  engine: 'io.container-sidecar.engine',
} as const;

/** Inside a sidecar that shares the pid namespace, the target's PID 1 sees its own root here. */
export const TARGET_ROOT = '/proc/1/root';

/** The target cannot take a sidecar (stopped, paused, missing); the message says what to do. */
export class TargetNotRunningError extends Error {}

/** The spec (usually from a user's profile setting) is unusable; the message names the field. */
export class SidecarSpecError extends Error {}

/**
 * Where this process's PID means something: the host name and, on Linux, the
 * PID namespace. A window in a PID namespace of its own (a container, or
 * `unshare --pid`) shares the host name with windows outside it, but its PIDs
 * are not theirs, so neither may judge the other's owner dead by its PID.
 */
function pidScope(): string {
  try {
    return `${os.hostname()}~${fs.readlinkSync('/proc/self/ns/pid').replace(/[^0-9]/g, '')}`;
  } catch {
    return os.hostname();
  }
}
const scope = pidScope();

/** "<hostname>~<pid namespace>:<pid>:<random>" for this process: the owner label of the sidecars it starts. */
export const processOwner = `${scope}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;

/**
 * Whether the process that owns a sidecar may still be running. Owners on
 * another host (a remote engine shared by several machines) or in another PID
 * namespace are assumed alive: we cannot see their processes, and removing a
 * colleague's sidecar is worse than leaving an orphan.
 */
export function isOwnerAlive(owner: string | undefined): boolean {
  const m = /^(.*):(\d+):[0-9a-f]+$/.exec(owner ?? '');
  if (!m) return true;
  if (m[1] !== scope) return true;
  try {
    process.kill(Number(m[2]), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Checks a spec's shape; the messages name the field so a profile author can fix it. */
export function validateSpec(spec: SidecarSpec): void {
  const bad = (m: string) => { throw new SidecarSpecError(m); };
  if (!spec || typeof spec !== 'object') bad('A sidecar needs a spec object.');
  if (typeof spec.target !== 'string' || !spec.target.trim()) bad('A sidecar needs a target container.');
  if (!SIDECAR_ROLES.includes(spec.role)) bad(`Sidecar role "${String(spec.role)}" is unknown; use one of ${SIDECAR_ROLES.join(', ')}.`);
  if (typeof spec.image !== 'string' || !spec.image.trim() || /\s/.test(spec.image)) bad(`"image" must be an image reference such as busybox:latest, not ${JSON.stringify(spec.image)}.`);
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  for (const k of ['cmd', 'entrypoint', 'capAdd', 'capDrop'] as const) {
    if (spec[k] !== undefined && !strings(spec[k])) bad(`"${k}" must be a list of strings, like ["sh", "-c", "ps"].`);
  }
  if (spec.user !== undefined && typeof spec.user !== 'string') bad('"user" must be a string such as "0" or "1000:1000".');
  if (spec.env !== undefined && (typeof spec.env !== 'object' || Array.isArray(spec.env) || Object.values(spec.env).some((v) => typeof v !== 'string'))) {
    bad('"env" must be an object of string values, like {"TERM": "xterm"}.');
  }
  if (spec.env && Object.keys(spec.env).some((k) => !k || k.includes('='))) bad('"env" names must be non-empty and must not contain "=".');
}

/** The create options for a sidecar: pure, so tests can check the exact HostConfig and labels. */
export function sidecarCreateOptions(spec: SidecarSpec, target: ContainerDetail, owner: string): Docker.ContainerCreateOptions {
  const share = { pid: spec.share?.pid ?? true, net: spec.share?.net ?? true, ipc: spec.share?.ipc ?? true };
  // Joining a target's IPC namespace only works when it was started shareable (or uses the host's).
  const ipcShareable = target.hostConfig.ipcMode === 'shareable';
  const env: Record<string, string> = { ...spec.env };
  if (share.pid) env.TARGET_ROOT ??= TARGET_ROOT;
  env.TARGET_CONTAINER ??= target.name;
  const hostConfig: Docker.HostConfig = {
    PidMode: share.pid ? `container:${target.id}` : undefined,
    // Never a network of its own: either the target's namespace or none at all.
    NetworkMode: share.net ? `container:${target.id}` : 'none',
    IpcMode: share.ipc && ipcShareable ? `container:${target.id}` : undefined,
    CapAdd: spec.capAdd?.length ? [...spec.capAdd] : undefined,
    CapDrop: spec.capDrop?.length ? [...spec.capDrop] : undefined,
    // A sidecar that ends for any reason (detach, target stopped, window gone) leaves nothing behind.
    AutoRemove: true,
    // An init that reaps what the sidecar's tools leave behind, only for a sidecar with its own pid
    // namespace (a tunnel). In a shared one Docker silently runs no init (checked: no docker-init in
    // ps; orphans go to the target's PID 1), and Podman refuses to create the container.
    Init: share.pid ? undefined : true,
  };
  for (const k of Object.keys(hostConfig) as (keyof Docker.HostConfig)[]) if (hostConfig[k] === undefined) delete hostConfig[k];
  const opts: Docker.ContainerCreateOptions = {
    name: spec.name,
    Image: spec.image,
    Cmd: spec.cmd,
    Entrypoint: spec.entrypoint,
    User: spec.user,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Tty: spec.tty ?? false,
    OpenStdin: spec.openStdin ?? false,
    // Stdin closes when our one attach ends, so a shell exits with its terminal even if we crash.
    StdinOnce: spec.openStdin ?? false,
    AttachStdin: spec.openStdin ?? false,
    AttachStdout: true,
    AttachStderr: true,
    Labels: { ...spec.extraLabels, [LABELS.managed]: 'true', [LABELS.target]: target.id, [LABELS.role]: spec.role, [LABELS.owner]: owner, ...(target.engineId ? { [LABELS.engine]: target.engineId } : {}) },
    HostConfig: hostConfig,
  };
  for (const k of Object.keys(opts) as (keyof Docker.ContainerCreateOptions)[]) if (opts[k] === undefined) delete opts[k];
  return opts;
}

/** Warnings the user should see before a sidecar joins this target. */
export function sidecarWarnings(target: ContainerDetail): string[] {
  const w: string[] = [];
  if (target.hostConfig.pidMode === 'host') w.push(`Container ${target.name} uses the host's PID namespace (--pid=host): the sidecar will see every process of the host, and /proc/1/root is the host's root.`);
  if (target.hostConfig.networkMode === 'host') w.push(`Container ${target.name} uses the host's network (--network=host): the sidecar shares the host's network.`);
  return w;
}

/** Inspects the target and says clearly why it cannot take a sidecar. */
export async function runningTarget(engine: Engine, ref: string): Promise<ContainerDetail> {
  let target: ContainerDetail;
  try {
    target = await engine.inspect(ref);
  } catch (err) {
    if (err instanceof NoSuchContainerError) throw new TargetNotRunningError(`Container ${ref} does not exist (it may have been removed); pick a running container.`);
    throw err;
  }
  if (target.state === 'paused') throw new TargetNotRunningError(`Container ${target.name} is paused; unpause it to attach a sidecar.`);
  if (target.state !== 'running' || !target.pid) {
    throw new TargetNotRunningError(`Container ${target.name} is ${target.state}, not running; start it to attach a sidecar.`);
  }
  return target;
}

export interface LaunchOptions {
  owner?: string;
  onProgress?: (msg: string) => void;
  signal?: AbortSignal;
  /** The setting that chose the image, named if the pull fails. */
  setting?: string;
  /** Runs after create and before start, e.g. to attach so no early output is lost. */
  beforeStart?: (container: Docker.Container) => Promise<void>;
}

export async function launchSidecar(engine: Engine, spec: SidecarSpec, opts: LaunchOptions = {}): Promise<{ id: string; container: Docker.Container; target: ContainerDetail }> {
  validateSpec(spec);
  const target = await runningTarget(engine, spec.target);
  await ensureImage(engine, spec.image, { onProgress: opts.onProgress, signal: opts.signal, setting: opts.setting });
  const name = spec.name ?? `${target.name}-${spec.role}-${crypto.randomBytes(3).toString('hex')}`;
  const create = sidecarCreateOptions({ ...spec, name }, target, opts.owner ?? processOwner);
  opts.onProgress?.(`Starting ${spec.role} sidecar for ${target.name}`);
  const container = await engine.call((d) => d.createContainer(create));
  try {
    if (opts.signal?.aborted) throw new Error(`Starting the sidecar for ${target.name} was cancelled.`);
    await opts.beforeStart?.(container);
    await engine.call(() => container.start());
  } catch (err) {
    await removeSidecar(engine, container.id).catch(() => undefined);
    throw explainStartError(err, target);
  }
  return { id: container.id, container, target };
}

function explainStartError(err: unknown, target: ContainerDetail): Error {
  const e = err as { statusCode?: number; json?: { message?: string }; message?: string };
  const msg = e?.json?.message ?? e?.message ?? String(err);
  // The target may stop between our inspect and the start.
  if (e?.statusCode !== undefined && /is not running|cannot join|no such container/i.test(msg)) {
    return new TargetNotRunningError(`Container ${target.name} stopped before the sidecar could join it (${msg}).`);
  }
  if (e?.statusCode !== undefined) return new Error(`The sidecar for ${target.name} did not start: ${msg}`);
  return err instanceof Error ? err : new Error(msg);
}

/** Stops and removes a sidecar; already gone counts as done. */
export async function removeSidecar(engine: Engine, id: string): Promise<void> {
  try {
    await engine.call((d) => d.getContainer(id).remove({ force: true, v: true }));
    return;
  } catch (err) {
    const code = (err as { statusCode?: number }).statusCode;
    if (code === 404) return;
    if (code !== 409) throw err;
  }
  // 409: the engine is already removing it (AutoRemove after the process ended); wait for that to finish.
  const until = Date.now() + 15_000;
  while (Date.now() < until) {
    try {
      await engine.call((d) => d.getContainer(id).inspect());
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Sidecar ${id.slice(0, 12)} is still being removed by the engine after 15 s.`);
}

export interface SidecarInfo {
  id: string;
  name: string;
  state: string;
  target: string;
  role: string;
  owner?: string;
}

/** The sidecars on this engine, optionally only those of one owner, target or role. */
export async function listSidecars(engine: Engine, filter: { owner?: string; target?: string; role?: SidecarRole } = {}): Promise<SidecarInfo[]> {
  const label = [`${LABELS.managed}=true`];
  if (filter.owner) label.push(`${LABELS.owner}=${filter.owner}`);
  if (filter.target) label.push(`${LABELS.target}=${filter.target}`);
  if (filter.role) label.push(`${LABELS.role}=${filter.role}`);
  const list = await engine.call((d) => d.listContainers({ all: true, filters: { label } }));
  return list.map((c) => ({
    id: c.Id,
    name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
    state: c.State,
    target: c.Labels[LABELS.target],
    role: c.Labels[LABELS.role],
    owner: c.Labels[LABELS.owner],
  }));
}

/**
 * Removes sidecars left behind by a crashed window: those whose target is gone
 * (missing or not running) or whose owner process no longer runs. Sidecars of
 * live windows on running targets are left alone. Returns the removed ones.
 */
export async function cleanupOrphans(engine: Engine, opts: { ownerAlive?: (owner: string | undefined) => boolean } = {}): Promise<SidecarInfo[]> {
  const ownerAlive = opts.ownerAlive ?? isOwnerAlive;
  const sidecars = await listSidecars(engine);
  if (!sidecars.length) return [];
  const running = new Set((await engine.call((d) => d.listContainers({ all: false }))).map((c) => c.Id));
  const orphans = sidecars.filter((s) => !running.has(s.target) || !ownerAlive(s.owner));
  await Promise.all(orphans.map((s) => removeSidecar(engine, s.id)));
  return orphans;
}

/** Removes every sidecar this owner started (deactivate). */
export async function removeOwnedSidecars(engine: Engine, owner: string = processOwner): Promise<string[]> {
  const mine = await listSidecars(engine, { owner });
  await Promise.all(mine.map((s) => removeSidecar(engine, s.id)));
  return mine.map((s) => s.id);
}
