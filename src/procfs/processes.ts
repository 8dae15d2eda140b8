// The processes of a container, read from /proc: host PID, PID inside the
// container (NSpid), user and command line, as a tree.
//
// How we find them: by cgroup. Every process the runtime starts for a
// container (its init, children, `docker exec` sessions) is placed in the
// container's cgroup, and the path names the container id. Walking the pid
// namespace instead would be wrong in two common cases: a `--pid=host`
// container (its pid namespace is the host's: every host process would
// match) and a sidecar sharing a target's pid namespace (both containers'
// processes would show under both). `docker top` gets the same cgroup answer
// but runs ps on the engine side and has no NSpid.
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import { RootFs } from './rootfs';

export interface ProcessInfo {
  hostPid: number;
  /** PID as the container sees it: the last NSpid entry. */
  nsPid: number;
  ppid: number;
  uid: number;
  /** User name from the container's /etc/passwd when readable, else undefined. */
  user?: string;
  /** The command line, or `[name]` for kernel-style processes without one. */
  command: string;
  children: ProcessInfo[];
}

export interface ProcStatus {
  name: string;
  ppid: number;
  uid: number;
  nspid: number[];
}

/** Parses the fields we use from /proc/<pid>/status. */
export function parseStatus(text: string): ProcStatus {
  const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  const nspid = field('NSpid').split(/\s+/).filter(Boolean).map(Number);
  return { name: field('Name'), ppid: Number(field('PPid')), uid: Number(field('Uid').split(/\s+/)[0]), nspid };
}

/** Parses /proc/<pid>/cgroup into hierarchy id -> path. */
export function parseCgroup(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    const j = line.indexOf(':', i + 1);
    if (i < 0 || j < 0) continue;
    m.set(line.slice(0, j), line.slice(j + 1));
  }
  return m;
}

/**
 * The hierarchy and path that identify a container's cgroup, taken from its
 * init process: prefer the unified (v2) line, else any v1 line whose path names
 * the container id.
 */
export function containerCgroupKey(initCgroup: Map<string, string>, containerId: string): { hierarchy: string; path: string } | undefined {
  const entries = [...initCgroup.entries()].filter(([, p]) => p.includes(containerId));
  const pick = entries.find(([h]) => h === '0:') ?? entries.find(([h]) => h.includes(':pids')) ?? entries[0];
  return pick && { hierarchy: pick[0], path: pick[1] };
}

async function readText(p: string): Promise<string | undefined> {
  try {
    return await fs.readFile(p, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * A /proc/<pid>/cgroup read, synchronous on purpose: the kernel writes it from
 * memory without taking the process's memory lock, so it never blocks, and a
 * scan of every process costs a tenth of the CPU that four thread-pool round
 * trips per file (open, fstat, read, close) cost. Files that can block on a
 * busy process (cmdline, status) stay asynchronous.
 */
export function readCgroupSync(pid: number, procRoot = '/proc'): string | undefined {
  try {
    return fsSync.readFileSync(`${procRoot}/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Every numeric entry of /proc. */
export async function listPids(procRoot = '/proc'): Promise<number[]> {
  return (await fs.readdir(procRoot)).filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Host PIDs in each container's cgroup, for many containers in one walk of /proc. */
export async function pidsByContainer(containers: { id: string; pid?: number }[], procRoot = '/proc'): Promise<Map<string, number[]>> {
  const keys: { id: string; hierarchy: string; path: string }[] = [];
  for (const c of containers) {
    if (!c.pid) continue;
    const text = readCgroupSync(c.pid, procRoot);
    const key = text && containerCgroupKey(parseCgroup(text), c.id);
    if (key) keys.push({ id: c.id, ...key });
  }
  const out = new Map<string, number[]>(containers.map((c) => [c.id, []]));
  if (keys.length === 0) return out;
  for (const pid of await listPids(procRoot)) {
    const text = readCgroupSync(pid, procRoot);
    if (!text || !keys.some((k) => text.includes(k.path))) continue;
    const cg = parseCgroup(text);
    for (const k of keys) {
      const p = cg.get(k.hierarchy);
      if (p !== undefined && (p === k.path || p.startsWith(k.path + '/'))) out.get(k.id)!.push(pid);
    }
  }
  for (const pids of out.values()) pids.sort((a, b) => a - b);
  return out;
}

/** Reads uid -> name from the container's /etc/passwd (through its root; root only). */
async function containerUsers(rootPid: number, containerId: string, procRoot: string): Promise<Map<number, string>> {
  // A plain read of /proc/<pid>/root/etc/passwd would follow an absolute
  // symlink (say to /etc/shadow) against the HOST's root; the confined walk
  // resolves every link inside the container's root instead.
  let text: string | undefined;
  try {
    const rootfs = new RootFs(() => `${procRoot}/${rootPid}/root`, () => {
      // The PID must still be this container's, or a reused PID's root would be read.
      if (!fsSync.readFileSync(`${procRoot}/${rootPid}/cgroup`, 'utf8').includes(containerId)) throw new Error('the container stopped');
    });
    text = Buffer.from(await rootfs.readFile('/etc/passwd')).toString('utf8');
  } catch {
    text = undefined; // not readable (non-root, no passwd file): numeric uids then
  }
  const m = new Map<number, string>();
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2])) m.set(Number(f[2]), f[0]);
  }
  return m;
}

/** Reads one process; undefined if it has gone. */
export async function readProcess(pid: number, procRoot = '/proc'): Promise<Omit<ProcessInfo, 'children' | 'user'> | undefined> {
  const status = await readText(`${procRoot}/${pid}/status`);
  if (!status) return undefined;
  const s = parseStatus(status);
  const cmdline = (await readText(`${procRoot}/${pid}/cmdline`)) ?? '';
  const args = cmdline.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  return {
    hostPid: pid,
    nsPid: s.nspid.length ? s.nspid[s.nspid.length - 1] : pid,
    ppid: s.ppid,
    uid: s.uid,
    command: args.length ? args.join(' ') : `[${s.name}]`,
  };
}

/** Builds the parent/child tree; roots are processes whose parent is outside the set. */
export function buildTree(list: ProcessInfo[]): ProcessInfo[] {
  const byPid = new Map(list.map((p) => [p.hostPid, p]));
  const roots: ProcessInfo[] = [];
  for (const p of list) {
    const parent = byPid.get(p.ppid);
    if (parent && parent !== p) parent.children.push(p);
    else roots.push(p);
  }
  return roots;
}

/** The process tree of one running container. */
export async function containerProcesses(container: { id: string; pid?: number }, procRoot = '/proc'): Promise<ProcessInfo[]> {
  if (!container.pid) return [];
  const pids = (await pidsByContainer([container], procRoot)).get(container.id) ?? [];
  const users = await containerUsers(container.pid, container.id, procRoot);
  const list = (await Promise.all(pids.map((p) => readProcess(p, procRoot))))
    .filter((p): p is NonNullable<typeof p> => !!p)
    .map((p) => ({ ...p, user: users.get(p.uid), children: [] as ProcessInfo[] }));
  return buildTree(list);
}

/**
 * A tree of processes known only inside their pid namespace (listed there by
 * `ps`, because this machine's /proc does not show them): hostPid 0 and uid -1
 * mean unknown. A PID from inside must never pass for a host PID.
 */
export function treeFromNamespace(list: { nsPid: number; ppid: number; command: string }[]): ProcessInfo[] {
  const byPid = new Map(list.map((p) => [p.nsPid, { hostPid: 0, nsPid: p.nsPid, ppid: p.ppid, uid: -1, command: p.command, children: [] as ProcessInfo[] }]));
  const roots: ProcessInfo[] = [];
  for (const p of byPid.values()) {
    const parent = byPid.get(p.ppid);
    if (parent && parent !== p) parent.children.push(p);
    else roots.push(p);
  }
  return roots;
}

/** A process tree as a list, parents before their children. */
export function flattenProcesses(list: ProcessInfo[]): ProcessInfo[] {
  return list.flatMap((p) => [p, ...flattenProcesses(p.children)]);
}
