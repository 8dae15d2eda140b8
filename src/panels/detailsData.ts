// The container details panel's data: inspect answers, stats samples and
// process rows turned into the page's messages. No vscode import.
import fs from 'node:fs';
import type Docker from 'dockerode';
import type { NamespaceSnapshot } from '../procfs/namespaces';
import { healthFromInspect } from '../engine/containers';
import { containerProcesses, flattenProcesses, readCgroupSync, type ProcessInfo } from '../procfs/processes';
import { NS_TYPES, type DetailsData, type DetailsEnv, type ProcessRow, type StatsSample } from '../../webviews/protocol';

/** Names people give to secrets: their values stay masked until clicked. */
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Env entries for the page: secrets without their value. */
export function envEntries(env: string[] | undefined): { page: DetailsEnv[]; values: Map<string, string> } {
  const values = new Map<string, string>();
  const page: DetailsEnv[] = [];
  for (const line of env ?? []) {
    const i = line.indexOf('=');
    const name = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1);
    values.set(name, value);
    const secret = isSecretName(name);
    page.push(secret ? { name, secret } : { name, value, secret });
  }
  return { page, values };
}

type Inspect = Docker.ContainerInspectInfo & { State: Docker.ContainerInspectInfo['State'] & { Health?: Parameters<typeof healthFromInspect>[0] } };

const when = (s: string | undefined) => (!s || s.startsWith('0001-') ? '' : new Date(s).toLocaleString());

export function toDetailsData(i: Inspect, snapshot: NamespaceSnapshot, nameOf: (id: string) => string): DetailsData {
  const st = i.State;
  const cfg = i.Config ?? ({} as Docker.ContainerInspectInfo['Config']);
  const overview: [string, string][] = [
    ['State', st.Status + (st.Paused ? ' (paused)' : '')],
    ['Image', `${cfg.Image ?? ''}${i.Image ? ` (${i.Image.replace(/^sha256:/, '').slice(0, 12)})` : ''}`],
    ['Entrypoint', ([] as string[]).concat(cfg.Entrypoint ?? []).join(' ') || '(none)'],
    ['Command', (cfg.Cmd ?? []).join(' ') || '(none)'],
    ['Created', when(i.Created)],
    ['Started', when(st.StartedAt)],
    ['Host PID', st.Pid > 0 ? String(st.Pid) : 'none (not running)'],
    ['Restart count', String(i.RestartCount ?? 0)],
  ];
  if (!st.Running) {
    overview.push(['Finished', when(st.FinishedAt)], ['Exit code', String(st.ExitCode)]);
    if (st.Error) overview.push(['Error', st.Error]);
  }
  const h = healthFromInspect(st.Health);
  const ports = Object.entries(i.NetworkSettings?.Ports ?? {}).map(([p, b]) => (b?.length ? `${b.map((x) => `${x.HostIp}:${x.HostPort}`).join(', ')} -> ${p}` : p));
  const ns = snapshot.containers.get(i.Id);
  return {
    id: i.Id,
    name: i.Name.replace(/^\//, ''),
    state: st.Status,
    running: st.Running,
    overview,
    ...(h ? { health: { status: h.status, failingStreak: h.failingStreak ?? 0, lastOutput: h.lastProbe?.output.trim() } } : {}),
    ports,
    mounts: (i.Mounts ?? []).map((m) => ({ source: m.Name ?? m.Source, destination: m.Destination, type: m.Type ?? '', readOnly: !m.RW })),
    networks: Object.entries(i.NetworkSettings?.Networks ?? {}).map(([name, n]) => ({ name, ...(n.IPAddress ? { ip: n.IPAddress } : {}) })),
    labels: Object.entries(cfg.Labels ?? {}).sort(([a], [b]) => a.localeCompare(b)),
    env: envEntries(cfg.Env).page,
    namespaces: ns
      ? NS_TYPES.map((t) => {
        const s = ns[t];
        const whom = [...(s.host ? ['host'] : []), ...s.with.map(nameOf)];
        return { type: t, inode: s.inode, shared: whom.length ? `shared with ${whom.join(', ')}` : 'private' };
      })
      : [],
  };
}

/** The fields of one Engine API stats answer that we read. */
export interface RawStats {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
}

/**
 * One chart sample, computed the way `docker stats` does: the container's
 * CPU time delta over the whole machine's delta, times the CPUs online
 * (so 100 % is one full core). Page cache is not counted as used memory.
 */
export function statsSample(s: RawStats, now = Date.now()): StatsSample {
  const cpu = s.cpu_stats ?? {};
  const pre = s.precpu_stats ?? {};
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
  const sysDelta = (cpu.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  const cpus = cpu.online_cpus || cpu.cpu_usage?.percpu_usage?.length || 1;
  const cpuPercent = cpuDelta > 0 && sysDelta > 0 && pre.system_cpu_usage ? (cpuDelta / sysDelta) * cpus * 100 : 0;
  const m = s.memory_stats ?? {};
  const cache = m.stats?.inactive_file ?? m.stats?.total_inactive_file ?? m.stats?.cache ?? 0;
  let netRx = 0;
  let netTx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    netRx += n.rx_bytes ?? 0;
    netTx += n.tx_bytes ?? 0;
  }
  let blkRead = 0;
  let blkWrite = 0;
  for (const b of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (/^read$/i.test(b.op)) blkRead += b.value;
    if (/^write$/i.test(b.op)) blkWrite += b.value;
  }
  return { t: now, cpuPercent, memBytes: Math.max(0, (m.usage ?? 0) - cache), memLimit: m.limit ?? 0, netRx, netTx, blkRead, blkWrite };
}

const TICKS = 100; // USER_HZ on Linux

/**
 * utime+stime (ticks) and RSS (kB) of a host PID, from /proc/<pid>/stat and
 * statm. Read synchronously: both come from memory without the process's
 * memory lock, and a sync read costs far less CPU than fs.promises' four
 * thread-pool round trips, every tick, for every process.
 */
function cpuAndRss(pid: number, procRoot: string): { ticks: number; rssKb: number } | undefined {
  try {
    const stat = fs.readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const statm = fs.readFileSync(`${procRoot}/${pid}/statm`, 'utf8').split(' ');
    return { ticks: Number(f[11]) + Number(f[12]), rssKb: Number(statm[1]) * 4 };
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * A `top`-like sampler: each call lists the container's processes and gives
 * CPU % since the previous call (100 % = one core).
 */
export class ProcessSampler {
  private last = new Map<number, number>();
  private lastAt = 0;
  private known: ProcessInfo[] = [];
  private ticks = 0;

  /** `rescanEvery`: finding a container's processes reads every host process's cgroup, so do it every few ticks only. */
  constructor(private readonly container: { id: string; pid?: number }, private readonly procRoot = '/proc', private readonly rescanEvery = 4) {}

  async sample(): Promise<ProcessRow[]> {
    if (this.ticks++ % this.rescanEvery === 0 || this.known.length === 0) {
      this.known = flattenProcesses(await containerProcesses(this.container, this.procRoot));
    }
    const now = Date.now();
    const secs = this.lastAt ? (now - this.lastAt) / 1000 : 0;
    const next = new Map<number, number>();
    const rows: ProcessRow[] = [];
    for (const p of this.known) {
      // Between rescans a PID may have ended and been reused outside the container: check it still belongs.
      if (!readCgroupSync(p.hostPid, this.procRoot)?.includes(this.container.id)) continue;
      const u = cpuAndRss(p.hostPid, this.procRoot);
      if (!u) continue;
      next.set(p.hostPid, u.ticks);
      const before = this.last.get(p.hostPid);
      const cpu = secs > 0 && before !== undefined ? ((u.ticks - before) / TICKS / secs) * 100 : 0;
      rows.push({ nsPid: p.nsPid, hostPid: p.hostPid, user: p.user ?? String(p.uid), cpu: Math.max(0, cpu), memKb: u.rssKb, command: p.command });
    }
    // A PID that ended is dropped now; one reused by a new process is caught at the next rescan.
    this.known = this.known.filter((p) => next.has(p.hostPid));
    this.last = next;
    this.lastAt = now;
    return rows;
  }
}

/** Splits the engine's multiplexed log stream (non-TTY containers) into text. */
export function demuxLogs(buf: Buffer): string {
  let out = '';
  let off = 0;
  // Frames: 1 byte stream, 3 zero bytes, 4 bytes big-endian length.
  while (off + 8 <= buf.length && buf[off] <= 2 && buf[off + 1] === 0 && buf[off + 2] === 0 && buf[off + 3] === 0) {
    const n = buf.readUInt32BE(off + 4);
    out += buf.toString('utf8', off + 8, off + 8 + n);
    off += 8 + n;
  }
  return off === 0 ? buf.toString('utf8') : out + buf.toString('utf8', off);
}
