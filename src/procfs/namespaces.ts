// Linux namespaces of containers as the kernel sees them, and whom each one is
// shared with. Two sources: the inodes behind /proc/<pid>/ns/<type> (exact,
// needs ptrace-level access to the process, so root on most machines), and the
// containers' HostConfig (works for any user and for remote engines, but
// cannot name inodes). Both give the same sharing picture; tests check that.
import fs from 'node:fs/promises';
import type { ContainerDetail } from '../engine/containers';

export const NS_TYPES = ['mnt', 'pid', 'net', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
export type NsType = (typeof NS_TYPES)[number];

/** Inode per namespace type; undefined where the kernel has no such type. */
export type NsInodes = Partial<Record<NsType, number>>;

export const NS_DESCRIPTIONS: Record<NsType, string> = {
  mnt: 'mount points',
  pid: 'process IDs',
  net: 'network stack',
  ipc: 'System V IPC, POSIX queues',
  uts: 'hostname',
  user: 'user and group IDs',
  cgroup: 'cgroup root',
  time: 'boot and monotonic clocks',
};

/** /proc cannot tell us the inodes; `reason` says why, for tooltips. */
export class ProcUnreadableError extends Error {
  /** `remote`: the engine's processes are not on this kernel (not a question of rights). */
  constructor(readonly reason: string, readonly remote = false) {
    super(reason);
  }
}

/**
 * Reads inodes where the engine runs (src/procfs/nsProbe.ts): the host's
 * namespaces there and those of the given containers (absent: ended).
 */
export type NsProbe = (targets: { id: string; pid: number }[]) => Promise<{ host: NsInodes; inodes: Map<string, NsInodes> }>;

const NS_LINK = /^([a-z_]+):\[(\d+)\]$/;

/** Reads the eight namespace links of one process. Throws ProcUnreadableError on EACCES/EPERM/ENOENT. */
export async function readNamespaces(pid: number, procRoot = '/proc'): Promise<NsInodes> {
  const out: NsInodes = {};
  let denied: NodeJS.ErrnoException | undefined;
  await Promise.all(NS_TYPES.map(async (t) => {
    try {
      const m = NS_LINK.exec(await fs.readlink(`${procRoot}/${pid}/ns/${t}`));
      if (m) out[t] = Number(m[2]);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // An old kernel lacks some types (time before 5.6): leave that one out.
      if (err.code === 'ENOENT' && t === 'time') return;
      denied ??= err;
    }
  }));
  if (denied) throw new ProcUnreadableError(explainProcError(pid, denied));
  return out;
}

export function explainProcError(pid: number, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EACCES':
    case 'EPERM': {
      const uid = process.getuid?.();
      return `Reading /proc/${pid}/ns needs the right to trace that process; the extension host runs as uid ${uid ?? '?'}, not root, so sharing comes from the containers' HostConfig`;
    }
    case 'ENOENT':
    case 'ESRCH':
      return `Process ${pid} is not visible in this machine's /proc (the engine is remote or runs in a VM), so sharing comes from the containers' HostConfig`;
    default:
      return `Reading /proc/${pid}/ns failed (${err.code ?? err.message}), so sharing comes from the containers' HostConfig`;
  }
}

/**
 * The host's namespaces: those of PID 1, or where the init refuses to be
 * inspected (some sandboxes' inits are not dumpable, even for root), those of
 * kthreadd (PID 2), a kernel thread that always lives in the initial namespaces.
 */
export async function hostNamespaces(procRoot = '/proc'): Promise<NsInodes> {
  try {
    return await readNamespaces(1, procRoot);
  } catch (first) {
    try {
      const k = await readNamespaces(2, procRoot);
      if ((await fs.readFile(`${procRoot}/2/status`, 'utf8')).startsWith('Name:\tkthreadd')) return k;
    } catch {
      // fall through to the first error, which names PID 1
    }
    throw first;
  }
}

/**
 * Checks that `pid` in this machine's /proc really is the container's process:
 * an engine in a VM or on another host reports PIDs of its own /proc.
 * The container id appears in the cgroup path with both the cgroupfs
 * (`/docker/<id>`) and the systemd (`docker-<id>.scope`) drivers.
 */
export async function pidBelongsTo(pid: number, containerId: string, procRoot = '/proc'): Promise<boolean> {
  try {
    return (await fs.readFile(`${procRoot}/${pid}/cgroup`, 'utf8')).includes(containerId);
  } catch {
    return false;
  }
}

/** How one namespace of a container is shared. */
export interface NsSharing {
  /** The inode, or undefined when only HostConfig was available. */
  inode?: number;
  host: boolean;
  /** Ids of the other containers in the same namespace. */
  with: string[];
}

export type ContainerNamespaces = Record<NsType, NsSharing>;

export interface NamespaceSnapshot {
  /** proc: this machine's /proc; probe: a probe container on the engine's host; hostconfig: no inodes. */
  source: 'proc' | 'probe' | 'hostconfig';
  /** Why the inodes are unknown (source hostconfig). */
  reason?: string;
  /** The engine's processes are not on this kernel (source probe, or hostconfig after a probe could not run). */
  remote?: boolean;
  host: NsInodes;
  /** Per running container id. */
  containers: Map<string, ContainerNamespaces>;
}

/**
 * Sets `with` to the group's members other than `id`, built on first read:
 * with a hundred containers in the host's user namespace, building every
 * list up front cost O(n²) per snapshot, on every start or stop, though most
 * lists are never read.
 */
function lazyWith(s: NsSharing, id: string, group: string[]): void {
  Object.defineProperty(s, 'with', {
    enumerable: true,
    configurable: true,
    get() {
      const list = group.filter((x) => x !== id);
      Object.defineProperty(s, 'with', { value: list, enumerable: true, configurable: true, writable: true });
      return list;
    },
  });
}

/** Sharing from inodes: containers with equal inodes share; equal to PID 1's means the host's. */
export function sharingFromInodes(inodes: Map<string, NsInodes>, host: NsInodes): Map<string, ContainerNamespaces> {
  const members = new Map<string, string[]>();
  for (const [id, ns] of inodes) {
    for (const t of NS_TYPES) {
      const key = `${t}:${ns[t]}`;
      if (ns[t] === undefined) continue;
      const list = members.get(key);
      if (list) list.push(id);
      else members.set(key, [id]);
    }
  }
  const out = new Map<string, ContainerNamespaces>();
  for (const [id, ns] of inodes) {
    const r = {} as ContainerNamespaces;
    for (const t of NS_TYPES) {
      const inode = ns[t];
      r[t] = {
        inode,
        host: inode !== undefined && inode === host[t],
        with: [],
      };
      if (inode !== undefined) lazyWith(r[t], id, members.get(`${t}:${inode}`) ?? []);
    }
    out.set(id, r);
  }
  return out;
}

/** What the daemon does by default, which HostConfig alone does not say. */
export interface DaemonFacts {
  /** "1" or "2": with cgroup v1 the engine leaves containers in the host's cgroup namespace by default. */
  cgroupVersion: string;
  /** The daemon remaps users (userns-remap): containers get a user namespace of their own. */
  usernsRemap: boolean;
}

/**
 * Sharing from HostConfig alone. `container:<id>` modes join another
 * container's namespace (and whatever that one joined), `host` joins the
 * host's. Docker never creates time namespaces, and without userns-remap it
 * never creates user namespaces, so those are the host's.
 */
export function sharingFromHostConfig(details: ContainerDetail[], daemon: DaemonFacts): Map<string, ContainerNamespaces> {
  const byRef = new Map<string, ContainerDetail>();
  for (const d of details) {
    byRef.set(d.id, d);
    byRef.set(d.name, d);
  }
  const resolve = (ref: string) => byRef.get(ref) ?? details.find((d) => d.id.startsWith(ref));
  const HOST = '#host';
  const mode = (d: ContainerDetail, t: NsType): string => {
    const hc = d.hostConfig;
    switch (t) {
      case 'pid': return hc.pidMode;
      case 'net': return hc.networkMode;
      case 'ipc': return hc.ipcMode;
      case 'uts': return hc.utsMode;
      case 'cgroup': return hc.cgroupnsMode || (daemon.cgroupVersion === '1' ? 'host' : 'private');
      case 'user': return hc.userNsMode === 'host' || !daemon.usernsRemap ? 'host' : 'private';
      case 'time': return 'host';
      case 'mnt': return 'private';
    }
  };
  // Follows container:<ref> links to the container that owns the namespace (or the host).
  const owner = (d: ContainerDetail, t: NsType, seen = new Set<string>()): string => {
    const m = mode(d, t);
    if (m === 'host') return HOST;
    if (m.startsWith('container:') && !seen.has(d.id)) {
      seen.add(d.id);
      const target = resolve(m.slice('container:'.length));
      if (target) return owner(target, t, seen);
    }
    return d.id;
  };
  const out = new Map<string, ContainerNamespaces>();
  const owners = new Map<string, Record<NsType, string>>();
  for (const d of details) {
    const o = {} as Record<NsType, string>;
    for (const t of NS_TYPES) o[t] = owner(d, t);
    owners.set(d.id, o);
  }
  // Members per namespace (type and owner), in the order of `details`.
  const groups = new Map<string, string[]>();
  for (const d of details) {
    for (const t of NS_TYPES) {
      const key = `${t}:${owners.get(d.id)![t]}`;
      const g = groups.get(key);
      if (g) g.push(d.id);
      else groups.set(key, [d.id]);
    }
  }
  for (const d of details) {
    const o = owners.get(d.id)!;
    const r = {} as ContainerNamespaces;
    for (const t of NS_TYPES) {
      r[t] = { host: o[t] === HOST, with: [] };
      lazyWith(r[t], d.id, groups.get(`${t}:${o[t]}`)!);
    }
    out.set(d.id, r);
  }
  return out;
}

/**
 * The namespaces of all running containers: from /proc when every container's
 * PID can be read here; for an engine whose processes are not on this kernel,
 * from `probe` (a container on that engine) when given; else from HostConfig
 * with the reason.
 */
export async function namespaceSnapshot(
  running: ContainerDetail[],
  daemon: DaemonFacts | (() => Promise<DaemonFacts>),
  procRoot = '/proc',
  /** Inodes by `<id>:<pid>` (and `host`), reused across snapshots: a process never changes namespaces under the same PID for our purposes. */
  cache?: Map<string, NsInodes>,
  probe?: NsProbe,
): Promise<NamespaceSnapshot> {
  const withPid = running.filter((d) => d.pid);
  let reason: string | undefined;
  let remote = false;
  let host: NsInodes = {};
  const inodes = new Map<string, NsInodes>();
  try {
    host = cache?.get('host') ?? (await hostNamespaces(procRoot));
    cache?.set('host', host);
    // Probe one container first, so an unreadable /proc costs one failure, not hundreds.
    if (withPid.length > 0 && !(await pidBelongsTo(withPid[0].pid!, withPid[0].id, procRoot))) {
      throw new ProcUnreadableError(`Process ${withPid[0].pid} in this machine's /proc is not container ${withPid[0].name} (the engine is remote or runs in a VM), so sharing comes from the containers' HostConfig`, true);
    }
    const live = new Set<string>();
    await Promise.all(withPid.map(async (d) => {
      const key = `${d.id}:${d.pid}`;
      live.add(key);
      const known = cache?.get(key);
      if (known) return void inodes.set(d.id, known);
      try {
        const ns = await readNamespaces(d.pid!, procRoot);
        inodes.set(d.id, ns);
        cache?.set(key, ns);
      } catch (e) {
        // The container stopped between inspect and readlink: it is simply not running any more.
        if (!(e instanceof ProcUnreadableError) || !/not visible/.test(e.reason)) throw e;
      }
    }));
    // Forget containers that stopped, so the cache stays as small as the running set.
    for (const k of cache?.keys() ?? []) if (k !== 'host' && !live.has(k)) cache!.delete(k);
  } catch (e) {
    if (!(e instanceof ProcUnreadableError)) throw e;
    reason = e.reason;
    remote = e.remote;
  }
  if (reason === undefined) return { source: 'proc', host, containers: sharingFromInodes(inodes, host) };
  if (remote && probe) {
    try {
      return await probeSnapshot(withPid, probe, cache);
    } catch (e) {
      reason = `${reason.replace(/, so sharing comes from.*$/, '')}, and ${(e as Error).message}, so sharing comes from the containers' HostConfig`;
    }
  }
  // Only this path needs the daemon's defaults, so only this path asks for them.
  const facts = typeof daemon === 'function' ? await daemon() : daemon;
  return { source: 'hostconfig', reason, ...(remote ? { remote } : {}), host: {}, containers: sharingFromHostConfig(withPid, facts) };
}

/** Inodes through the engine's probe, asked only for containers the cache does not know. */
async function probeSnapshot(withPid: ContainerDetail[], probe: NsProbe, cache?: Map<string, NsInodes>): Promise<NamespaceSnapshot> {
  const key = (d: ContainerDetail) => `${d.id}:${d.pid}`;
  // The engine host's namespaces, kept apart from this machine's ('host').
  let host = cache?.get('probe-host');
  const need = withPid.filter((d) => !cache?.has(key(d)));
  const found = new Map<string, NsInodes>();
  if (need.length > 0 || !host) {
    const r = await probe(need.map((d) => ({ id: d.id, pid: d.pid! })));
    host = r.host;
    cache?.set('probe-host', host);
    for (const d of need) {
      const ns = r.inodes.get(d.id);
      if (!ns) continue; // ended between inspect and the probe
      found.set(d.id, ns);
      cache?.set(key(d), ns);
    }
  }
  const inodes = new Map<string, NsInodes>();
  const live = new Set(['host', 'probe-host']);
  for (const d of withPid) {
    const ns = found.get(d.id) ?? cache?.get(key(d));
    if (ns) inodes.set(d.id, ns);
    live.add(key(d));
  }
  for (const k of cache?.keys() ?? []) if (!live.has(k)) cache!.delete(k);
  return { source: 'probe', host, containers: sharingFromInodes(inodes, host) };
}

/** Daemon defaults from the Engine's /info answer. */
export function daemonFactsFromInfo(info: { CgroupVersion?: string; SecurityOptions?: string[] }): DaemonFacts {
  return {
    cgroupVersion: info.CgroupVersion ?? '1',
    usernsRemap: (info.SecurityOptions ?? []).some((o) => o.includes('name=userns')),
  };
}
