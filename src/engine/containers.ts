// Containers as the rest of the extension sees them: plain data built from
// the Engine API's list and inspect answers.
import type Docker from 'dockerode';

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** The engine's HEALTHCHECK verdict; absent when the container has no health check. */
export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface ContainerHealth {
  status: HealthStatus;
  /** Failed probes in a row (inspect only; the list's text does not carry it). */
  failingStreak?: number;
  /** The most recent probe (inspect only). */
  lastProbe?: { exitCode: number; output: string; end?: Date };
}

export interface ContainerModel {
  id: string;
  shortId: string;
  name: string;
  image: string;
  state: ContainerState;
  /** The engine's own status text, e.g. "Up 3 minutes" or "Exited (0) 2 hours ago". */
  status: string;
  created: Date;
  labels: Record<string, string>;
  composeProject?: string;
  ports: string[];
  command: string;
  health?: ContainerHealth;
  /** The engine that holds it (Engine.id), so every command acts on the right engine; absent for the default engine. */
  engineId?: string;
}

export interface ContainerDetail extends ContainerModel {
  /** Host PID of the container's first process, or undefined when not running. */
  pid?: number;
  exitCode?: number;
  startedAt?: Date;
  finishedAt?: Date;
  error?: string;
  hostConfig: {
    pidMode: string;
    networkMode: string;
    ipcMode: string;
    utsMode: string;
    cgroupnsMode: string;
    userNsMode: string;
  };
}

export const shortId = (id: string) => id.slice(0, 12);

function formatPort(p: Docker.Port): string {
  return p.PublicPort ? `${p.IP ?? ''}:${p.PublicPort}->${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`;
}

/** The list API has health only in its status text: "Up 5 minutes (healthy)", "(health: starting)". */
export function healthFromStatusText(status: string | undefined): ContainerHealth | undefined {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status ?? '');
  if (!m) return undefined;
  return { status: m[1] === 'health: starting' ? 'starting' : (m[1] as HealthStatus) };
}

interface RawHealth {
  Status?: string;
  FailingStreak?: number;
  Log?: { Start?: string; End?: string; ExitCode?: number; Output?: string }[];
}

/** State.Health of inspect; "none" (a check disabled in the image) counts as no check. */
export function healthFromInspect(h: RawHealth | undefined): ContainerHealth | undefined {
  if (!h || !['starting', 'healthy', 'unhealthy'].includes(h.Status ?? '')) return undefined;
  const last = h.Log?.[h.Log.length - 1];
  return {
    status: h.Status as HealthStatus,
    failingStreak: h.FailingStreak ?? 0,
    lastProbe: last && { exitCode: last.ExitCode ?? -1, output: last.Output ?? '', end: engineDate(last.End) },
  };
}

/** Docker Compose's project label; podman-compose before 1.0 wrote only its own (1.0 writes both). */
export function composeProject(labels: Record<string, string>): string | undefined {
  return labels['com.docker.compose.project'] ?? labels['io.podman.compose.project'];
}

export function toContainerModel(c: Docker.ContainerInfo): ContainerModel {
  const labels = c.Labels ?? {};
  return {
    id: c.Id,
    shortId: shortId(c.Id),
    name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
    image: c.Image,
    state: c.State as ContainerState,
    status: c.Status,
    created: new Date(c.Created * 1000),
    labels,
    composeProject: composeProject(labels),
    ports: (c.Ports ?? []).map(formatPort),
    command: c.Command,
    health: healthFromStatusText(c.Status),
  };
}

/** The engine writes "0001-01-01T00:00:00Z" for times that never happened. */
function engineDate(s: string | undefined): Date | undefined {
  if (!s || s.startsWith('0001-')) return undefined;
  const d = new Date(s);
  return isNaN(d.getTime()) ? undefined : d;
}

export function toContainerDetail(i: Docker.ContainerInspectInfo): ContainerDetail {
  const labels = i.Config?.Labels ?? {};
  const st = i.State;
  const hc = (i.HostConfig ?? {}) as Docker.HostConfig & { CgroupnsMode?: string; UTSMode?: string };
  const state = (st.Status as ContainerState) ?? (st.Running ? 'running' : 'exited');
  return {
    id: i.Id,
    shortId: shortId(i.Id),
    name: i.Name.replace(/^\//, ''),
    image: i.Config?.Image ?? i.Image,
    state,
    status: state,
    created: new Date(i.Created),
    labels,
    composeProject: composeProject(labels),
    ports: Object.keys(i.NetworkSettings?.Ports ?? {}),
    command: [...(i.Config?.Entrypoint ? ([] as string[]).concat(i.Config.Entrypoint) : []), ...(i.Config?.Cmd ?? [])].join(' '),
    health: healthFromInspect((st as { Health?: RawHealth }).Health),
    pid: st.Pid > 0 ? st.Pid : undefined,
    exitCode: state === 'exited' || state === 'dead' ? st.ExitCode : undefined,
    startedAt: engineDate(st.StartedAt),
    finishedAt: engineDate(st.FinishedAt),
    error: st.Error || undefined,
    hostConfig: {
      pidMode: hc.PidMode ?? '',
      networkMode: hc.NetworkMode ?? '',
      ipcMode: hc.IpcMode ?? '',
      utsMode: hc.UTSMode ?? '',
      cgroupnsMode: hc.CgroupnsMode ?? '',
      userNsMode: hc.UsernsMode ?? '',
    },
  };
}
