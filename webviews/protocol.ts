// The only code shared by the extension host and the webview pages: the
// message types and their validators. Both sides validate what they receive,
// so a page that sends garbage (or a host bug) is ignored, never obeyed.

export const NS_TYPES = ['mnt', 'pid', 'net', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
export type NsType = (typeof NS_TYPES)[number];
/** What the map shows until the user asks for more. */
export const DEFAULT_NS_TYPES: NsType[] = ['pid', 'net', 'ipc'];

// ---------- namespace map ----------

export interface MapMember {
  /** Container id, or "host". */
  id: string;
  name: string;
  kind: 'host' | 'container' | 'sidecar';
  state: string;
  /** HEALTHCHECK verdict, when the container has one. */
  health?: string;
  image?: string;
  /** For a sidecar: the id of its target. */
  target?: string;
  role?: string;
}

export interface MapNamespace {
  /** Stable id: `${type}:${inode}` (or the sorted member set when inodes are unknown). */
  id: string;
  type: NsType;
  inode?: number;
  /** The host's own namespace of this type. */
  host: boolean;
  /** Member ids ("host" included when host is true). */
  members: string[];
}

export interface MapGraph {
  members: MapMember[];
  namespaces: MapNamespace[];
  /** Why inodes are unknown, when they are. */
  reason?: string;
}

export interface MapViewState {
  types: NsType[];
  showPrivate: boolean;
  showStopped: boolean;
  table: boolean;
}

export type HostToMap = { type: 'graph'; graph: MapGraph; seq: number } | { type: 'state'; state: MapViewState };

export type MapAction = 'reveal' | 'attach' | 'files' | 'shell' | 'details';

export type MapToHost =
  /** `have`: the sequence number of the graph that came inline with the page, already drawn. */
  | { type: 'ready'; have?: number }
  | { type: 'action'; action: MapAction; id: string }
  | { type: 'export'; format: 'svg' | 'png'; data: string }
  | { type: 'state'; state: MapViewState }
  /** After drawing graph `seq`: what is on screen, and when (epoch ms, after the frame that drew it). */
  | { type: 'rendered'; seq: number; members: number; namespaces: number; at?: number };

// ---------- container details ----------

export interface DetailsEnv {
  name: string;
  /** Undefined while masked: a secret's value only reaches the page when clicked. */
  value?: string;
  secret: boolean;
}

export interface DetailsData {
  id: string;
  name: string;
  state: string;
  running: boolean;
  overview: [string, string][];
  health?: { status: string; failingStreak: number; lastOutput?: string };
  ports: string[];
  mounts: { source: string; destination: string; type: string; readOnly: boolean }[];
  networks: { name: string; ip?: string }[];
  labels: [string, string][];
  env: DetailsEnv[];
  namespaces: { type: NsType; inode?: number; shared: string }[];
}

export interface StatsSample {
  t: number;
  cpuPercent: number;
  memBytes: number;
  memLimit: number;
  netRx: number;
  netTx: number;
  blkRead: number;
  blkWrite: number;
}

export interface ProcessRow {
  nsPid: number;
  hostPid: number;
  user: string;
  cpu: number;
  memKb: number;
  command: string;
}

export type HostToDetails =
  // `engine`: the id of the container's engine, none for the default one; the page keeps it in its state for a restore.
  | { type: 'details'; data: DetailsData; engine?: string }
  | { type: 'stats'; sample: StatsSample }
  | { type: 'processes'; rows: ProcessRow[] }
  | { type: 'logs'; text: string; reset: boolean }
  | { type: 'env'; name: string; value: string }
  | { type: 'error'; message: string };

export type DetailsAction = 'start' | 'stop' | 'restart' | 'attach' | 'files' | 'shell' | 'logs' | 'map';
export const DETAILS_ACTIONS: DetailsAction[] = ['start', 'stop', 'restart', 'attach', 'files', 'shell', 'logs', 'map'];

export type DetailsToHost =
  | { type: 'ready' }
  | { type: 'action'; action: DetailsAction }
  | { type: 'revealEnv'; name: string }
  | { type: 'follow'; on: boolean };

// ---------- validation ----------

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown, max = 256): x is string => typeof x === 'string' && x.length <= max;
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
/** Container ids as the engine writes them, or the host. */
/** This machine ('host'), or the host of an engine on another kernel ('host@<engine id>'). */
export const isHostId = (x: unknown): x is string => isStr(x) && /^host(?:@[a-z0-9][a-z0-9-]{0,39})?$/.test(x);
export const isMemberId = (x: unknown): x is string => isStr(x) && (/^[0-9a-f]{64}$/.test(x) || isHostId(x));
const isNsType = (x: unknown): x is NsType => (NS_TYPES as readonly unknown[]).includes(x);

export function isMapViewState(x: unknown): x is MapViewState {
  return isObj(x) && Array.isArray(x.types) && x.types.length <= NS_TYPES.length && x.types.every(isNsType) &&
    typeof x.showPrivate === 'boolean' && typeof x.showStopped === 'boolean' && typeof x.table === 'boolean';
}

/** Host side: a message from the map page, or undefined for anything else. */
export function parseMapMessage(x: unknown): MapToHost | undefined {
  if (!isObj(x)) return undefined;
  switch (x.type) {
    case 'ready':
      return isNum(x.have) ? { type: 'ready', have: x.have } : { type: 'ready' };
    case 'action':
      return ['reveal', 'attach', 'files', 'shell', 'details'].includes(x.action as string) && isMemberId(x.id) && !isHostId(x.id)
        ? { type: 'action', action: x.action as MapAction, id: x.id } : undefined;
    case 'export':
      // 20 MB covers a PNG of a large map; more is not a picture we made.
      return (x.format === 'svg' || x.format === 'png') && isStr(x.data, 20_000_000) ? { type: 'export', format: x.format, data: x.data } : undefined;
    case 'state':
      return isMapViewState(x.state) ? { type: 'state', state: x.state } : undefined;
    case 'rendered':
      return isNum(x.seq) && isNum(x.members) && isNum(x.namespaces) ? { type: 'rendered', seq: x.seq, members: x.members, namespaces: x.namespaces, ...(isNum(x.at) ? { at: x.at } : {})} : undefined;
    default:
      return undefined;
  }
}

/** Page side: a message from the host for the map. */
export function parseHostToMap(x: unknown): HostToMap | undefined {
  if (!isObj(x)) return undefined;
  if (x.type === 'graph' && isObj(x.graph) && Array.isArray(x.graph.members) && Array.isArray(x.graph.namespaces)) {
    const members = x.graph.members.filter((m: unknown): m is MapMember => isObj(m) && isMemberId(m.id) && isStr(m.name) && isStr(m.state) && ['host', 'container', 'sidecar'].includes(m.kind as string));
    const namespaces = x.graph.namespaces.filter((n: unknown): n is MapNamespace => isObj(n) && isStr(n.id, 10_000) && isNsType(n.type) && Array.isArray(n.members) && n.members.every(isMemberId));
    return { type: 'graph', seq: isNum(x.seq) ? x.seq : 0, graph: { members, namespaces, reason: isStr(x.graph.reason, 1000) ? x.graph.reason : undefined } };
  }
  if (x.type === 'state' && isMapViewState(x.state)) return { type: 'state', state: x.state };
  return undefined;
}

/** Host side: a message from the details page. */
export function parseDetailsMessage(x: unknown): DetailsToHost | undefined {
  if (!isObj(x)) return undefined;
  switch (x.type) {
    case 'ready':
      return { type: 'ready' };
    case 'action':
      return DETAILS_ACTIONS.includes(x.action as DetailsAction) ? { type: 'action', action: x.action as DetailsAction } : undefined;
    case 'revealEnv':
      return isStr(x.name, 4096) ? { type: 'revealEnv', name: x.name } : undefined;
    case 'follow':
      return typeof x.on === 'boolean' ? { type: 'follow', on: x.on } : undefined;
    default:
      return undefined;
  }
}

/** Page side: a message from the host for the details panel. */
export function parseHostToDetails(x: unknown): HostToDetails | undefined {
  if (!isObj(x)) return undefined;
  switch (x.type) {
    case 'details':
      return isObj(x.data) && isStr(x.data.id) && isStr(x.data.name) && Array.isArray(x.data.overview) && Array.isArray(x.data.env) ? { type: 'details', data: x.data as unknown as DetailsData, engine: isStr(x.engine) ? x.engine : undefined } : undefined;
    case 'stats': {
      const s = x.sample;
      return isObj(s) && ['t', 'cpuPercent', 'memBytes', 'memLimit', 'netRx', 'netTx', 'blkRead', 'blkWrite'].every((k) => isNum(s[k])) ? { type: 'stats', sample: s as unknown as StatsSample } : undefined;
    }
    case 'processes':
      return Array.isArray(x.rows) ? { type: 'processes', rows: x.rows.filter((r: unknown): r is ProcessRow => isObj(r) && isNum(r.nsPid) && isNum(r.hostPid) && isStr(r.command, 100_000)) } : undefined;
    case 'logs':
      return isStr(x.text, 10_000_000) && typeof x.reset === 'boolean' ? { type: 'logs', text: x.text, reset: x.reset } : undefined;
    case 'env':
      return isStr(x.name, 4096) && isStr(x.value, 1_000_000) ? { type: 'env', name: x.name, value: x.value } : undefined;
    case 'error':
      return isStr(x.message, 10_000) ? { type: 'error', message: x.message } : undefined;
    default:
      return undefined;
  }
}
