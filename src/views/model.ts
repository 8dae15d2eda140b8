// The explorer's data: containers, their details and namespaces, kept fresh
// from engine events. No vscode import, so benchmarks and unit tests drive it
// in plain Node; the tree providers only turn its change notices into
// onDidChangeTreeData events for the affected items.
import { EventEmitter } from 'node:events';
import type { Engine } from '../engine/engine';
import { NoSuchContainerError } from '../engine/engine';
import type { ContainerDetail, ContainerModel } from '../engine/containers';
import { EngineEvents, type ContainerEvent, type StreamState } from '../engine/events';
import { daemonFactsFromInfo, type DaemonFacts, type NamespaceSnapshot, namespaceSnapshot, type NsInodes, type NsProbe, NS_TYPES } from '../procfs/namespaces';
import { probeNamespaces } from '../procfs/nsProbe';

export const TARGET_LABEL = 'io.container-sidecar.target';
const ROLE_LABEL = 'io.container-sidecar.role';

/** The namespace probe's own short-lived container is not shown, and its events change nothing (they would start another probe). */
const isProbe = (labels: Record<string, string> | undefined) => labels?.[ROLE_LABEL] === 'probe';

export interface ContainerEntry {
  model: ContainerModel;
  /** From inspect: running containers always, others once an event named them. */
  detail?: ContainerDetail;
}

export type EngineStatus = { ok: true } | { ok: false; endpoint: string; error: string };

/** What changed, so views fire only for those items. */
export interface ModelChange {
  /** Everything may have changed (first load, reconnect, engine switch). */
  all?: boolean;
  /** Containers whose own data changed. */
  updated: string[];
  /** Containers that appeared or went away (their parent's children change). */
  added: string[];
  removed: string[];
  /** Containers whose namespace sharing changed. */
  namespaces: string[];
  /** Targets whose list of sidecars changed. */
  sidecarsOf: string[];
}

/** Runs `fn` over `items` with at most `n` in flight: the engine has few cores to answer with. */
async function pool<T, R>(items: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

export interface ModelOptions {
  /** Debounce for engine events; short, so a start shows within a frame or two. */
  debounceMs?: number;
  procRoot?: string;
  /** For an engine whose processes are not on this kernel: read inodes with a probe container there (default true). */
  probe?: boolean;
}

/**
 * Events: `change` (ModelChange), `status` (EngineStatus), `stream` (StreamState).
 */
export class ExplorerModel extends EventEmitter {
  readonly containers = new Map<string, ContainerEntry>();
  snapshot: NamespaceSnapshot = { source: 'proc', host: {}, containers: new Map() };
  status: EngineStatus = { ok: true };
  loaded = false;
  private events: EngineEvents | undefined;
  private daemon: DaemonFacts | undefined;
  private readonly inodeCache = new Map<string, NsInodes>();
  private pending = new Map<string, ContainerEvent>();
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private again: Promise<void> | undefined;
  private readonly debounceMs: number;
  private disposed = false;

  constructor(private engineRef: () => Engine, private readonly endpointLabel: () => string, private readonly opts: ModelOptions = {}) {
    super();
    this.debounceMs = opts.debounceMs ?? 25;
  }

  get engine(): Engine {
    return this.engineRef();
  }

  /** Starts listening to engine events (call once a view wants data). */
  listen(): void {
    if (this.events || this.disposed) return;
    let engine: Engine;
    try {
      engine = this.engine;
    } catch {
      return; // a malformed setting: refresh() reports it
    }
    this.events = new EngineEvents(engine).start();
    this.events.on('event', (e: ContainerEvent) => isProbe(e.attributes) || this.onEvent(e));
    this.events.on('reconnected', () => void this.refresh());
    this.events.on('state', (s: StreamState) => {
      this.emit('stream', s);
      // The engine went away: say so now rather than at the next list.
      if (!s.connected && this.loaded && this.status.ok) void this.refresh();
    });
  }

  /** Drops the stream (engine endpoint changed) and starts again. */
  restart(): void {
    this.events?.dispose();
    this.events = undefined;
    this.daemon = undefined;
    this.inodeCache.clear();
    this.containers.clear();
    this.listen();
  }

  /** Drops what later refreshes would reuse (inodes, daemon facts): the next refresh starts cold. */
  forgetCaches(): void {
    this.inodeCache.clear();
    this.daemon = undefined;
  }

  retryNow(): void {
    this.events?.retryNow();
  }

  /** Full reload: list, inspect the running ones, read their namespaces. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      // One in flight may have listed before the caller's change (a container
      // just started): run once more after it, shared by everyone who asks meanwhile.
      this.again ??= this.refreshing.then(() => {
        this.again = undefined;
        return this.refresh();
      });
      return this.again;
    }
    this.refreshing = this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    try {
      const engine = this.engine;
      const list = (await engine.listContainers()).filter((m) => !isProbe(m.labels));
      const previous = this.containers;
      const fresh = new Map<string, ContainerEntry>();
      for (const m of list) fresh.set(m.id, { model: m, detail: previous.get(m.id)?.detail });
      // Only running containers need inspect (PID, HostConfig); the list's status suffices for the rest.
      const running = list.filter((m) => m.state === 'running' || m.state === 'paused' || m.state === 'restarting');
      await pool(running, 16, async (m) => {
        try {
          fresh.get(m.id)!.detail = await engine.inspect(m.id);
        } catch (e) {
          if (!(e instanceof NoSuchContainerError)) throw e;
          fresh.delete(m.id);
        }
      });
      this.containers.clear();
      for (const [k, v] of fresh) this.containers.set(k, v);
      this.snapshot = await namespaceSnapshot(this.runningDetails(), () => this.daemonFacts(), this.opts.procRoot, this.inodeCache, this.probe);
      this.loaded = true;
      this.setStatus({ ok: true });
      this.listen();
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.containers.clear();
      this.snapshot = { source: 'proc', host: {}, containers: new Map() };
      this.loaded = true;
      this.setStatus({ ok: false, endpoint: this.endpointLabel(), error });
      // Keep listening: the stream's reconnect brings the view back.
      this.listen();
      // A list that missed its deadline while the stream stayed up gets no reconnect to wait for: try again.
      if (this.events?.state.connected && !this.retry && !this.disposed) {
        this.retry = setTimeout(() => {
          this.retry = undefined;
          if (!this.status.ok) void this.refresh();
        }, 5000);
      }
    }
    this.emit('change', { all: true, updated: [], added: [], removed: [], namespaces: [], sidecarsOf: [] } satisfies ModelChange);
  }

  /**
   * The slow safety poll: one list call; anything that differs from what
   * events told us is treated as if its event had arrived. Also keeps the
   * engine's status text of stopped containers ("Exited (0) 5 minutes ago") fresh.
   */
  async poll(): Promise<void> {
    if (this.refreshing) return void (await this.refreshing);
    if (!this.status.ok) return void (await this.refresh());
    let list: ContainerModel[];
    try {
      list = (await this.engine.listContainers()).filter((m) => !isProbe(m.labels));
    } catch {
      return void (await this.refresh());
    }
    const seen = new Set<string>();
    const textOnly: string[] = [];
    for (const m of list) {
      seen.add(m.id);
      const e = this.containers.get(m.id);
      // A health change counts too: its event may have been missed like any other.
      if (!e || e.model.state !== m.state || e.model.health?.status !== m.health?.status) this.onEvent({ action: 'start', rawAction: 'poll', id: m.id, time: Date.now(), attributes: {} });
      else if (!e.detail && e.model.status !== m.status) {
        e.model = { ...e.model, status: m.status };
        textOnly.push(m.id);
      }
    }
    for (const id of this.containers.keys()) {
      if (!seen.has(id)) this.onEvent({ action: 'destroy', rawAction: 'poll', id, time: Date.now(), attributes: {} });
    }
    if (textOnly.length) this.emit('change', { updated: textOnly, added: [], removed: [], namespaces: [], sidecarsOf: [] } satisfies ModelChange);
  }

  private setStatus(s: EngineStatus): void {
    const changed = JSON.stringify(s) !== JSON.stringify(this.status);
    this.status = s;
    if (changed) this.emit('status', s);
  }

  /** The daemon's defaults (cgroup version, userns-remap), asked once per engine, only when HostConfig must be read. */
  private async daemonFacts(): Promise<DaemonFacts> {
    // dockerode's info takes an abortSignal; its types do not say so.
    this.daemon ??= daemonFactsFromInfo(await this.engine.ask((d, abortSignal) => (d.info as (o: object) => Promise<Parameters<typeof daemonFactsFromInfo>[0]>)({ abortSignal })));
    return this.daemon;
  }

  private get probe(): NsProbe | undefined {
    return this.opts.probe === false ? undefined : (targets) => probeNamespaces(this.engine, targets);
  }

  runningDetails(): ContainerDetail[] {
    return [...this.containers.values()].filter((e) => e.detail?.pid).map((e) => e.detail!);
  }

  sidecarsOf(targetId: string): ContainerEntry[] {
    return [...this.containers.values()].filter((e) => e.model.labels[TARGET_LABEL] === targetId);
  }

  find(ref: string): ContainerEntry | undefined {
    return this.containers.get(ref) ?? [...this.containers.values()].find((e) => e.model.name === ref || e.model.id.startsWith(ref));
  }

  private onEvent(e: ContainerEvent): void {
    this.pending.set(e.id, e);
    if (!this.timer) this.timer = setTimeout(() => void this.applyEvents(), this.debounceMs);
  }

  /** Applies a batch of events: inspect only the containers named, then re-read namespaces. */
  private async applyEvents(): Promise<void> {
    this.timer = undefined;
    if (this.refreshing) await this.refreshing;
    const batch = [...this.pending.values()];
    this.pending.clear();
    if (batch.length === 0 || this.disposed) return;
    const change: ModelChange = { updated: [], added: [], removed: [], namespaces: [], sidecarsOf: [] };
    const engine = this.engine;
    await Promise.all(batch.map(async (e) => {
      const before = this.containers.get(e.id);
      const target = before?.model.labels[TARGET_LABEL] ?? e.attributes[TARGET_LABEL];
      if (target) change.sidecarsOf.push(target);
      if (e.action === 'destroy') {
        if (before) {
          this.containers.delete(e.id);
          change.removed.push(e.id);
        }
        return;
      }
      try {
        const detail = await engine.inspect(e.id);
        const model: ContainerModel = { ...detail, status: describeStatus(detail), ports: before?.model.ports ?? detail.ports };
        this.containers.set(e.id, { model, detail });
        (before ? change.updated : change.added).push(e.id);
      } catch (err) {
        if (err instanceof NoSuchContainerError) {
          if (before) {
            this.containers.delete(e.id);
            change.removed.push(e.id);
          }
          return;
        }
        this.emit('error', err);
      }
    }));
    // Show the new states now; namespaces follow in a second change.
    this.emit('change', change);
    // Namespaces change only when a container starts or stops; compare per container.
    if (batch.some((e) => ['start', 'die', 'destroy', 'pause', 'unpause', 'restart'].includes(e.action))) {
      const nsChange: ModelChange = { updated: [], added: [], removed: [], namespaces: [], sidecarsOf: [] };
      const old = this.snapshot;
      try {
        this.snapshot = await namespaceSnapshot(this.runningDetails(), () => this.daemonFacts(), this.opts.procRoot, this.inodeCache, this.probe);
      } catch (err) {
        this.emit('error', err);
      }
      nsChange.namespaces = nsChanged(old, this.snapshot);
      if (nsChange.namespaces.length) this.emit('change', nsChange);
    }
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    clearTimeout(this.retry);
    this.events?.dispose();
    this.removeAllListeners();
  }
}

/** Ids whose namespaces or their fellow members differ between two snapshots. */
function nsChanged(old: NamespaceSnapshot, now: NamespaceSnapshot): string[] {
  const ids = new Set([...old.containers.keys(), ...now.containers.keys()]);
  const allInodes = (s: NamespaceSnapshot) => [...s.containers.values()].every((c) => NS_TYPES.every((t) => c[t].inode !== undefined));
  if (!allInodes(old) || !allInodes(now)) {
    // Without inodes (HostConfig only): compare the member lists.
    const before = nsSignatures(old);
    const after = nsSignatures(now);
    return [...ids].filter((id) => {
      const a = before.get(id);
      const b = after.get(id);
      return !a || !b || a.some((x, i) => x !== b[i]);
    });
  }
  // With inodes, only numbers are compared: a start or stop costs O(n), with
  // no strings built per container (every engine event pays this).
  const changed = new Set<string>();
  // Per type, the namespaces that a container entered or left.
  const touched = new Map(NS_TYPES.map((t) => [t, new Set<number>()]));
  for (const [id, a] of old.containers) {
    const b = now.containers.get(id);
    for (const t of NS_TYPES) {
      if (b && b[t].inode === a[t].inode) {
        if (b[t].host !== a[t].host) changed.add(id);
        continue;
      }
      changed.add(id);
      touched.get(t)!.add(a[t].inode!);
      if (b) touched.get(t)!.add(b[t].inode!);
    }
  }
  for (const [id, b] of now.containers) {
    if (old.containers.has(id)) continue;
    changed.add(id);
    for (const t of NS_TYPES) touched.get(t)!.add(b[t].inode!);
  }
  // Everyone else in a namespace whose members changed.
  if ([...touched.values()].some((x) => x.size > 0)) {
    for (const s of [old, now]) {
      for (const [id, c] of s.containers) if (NS_TYPES.some((t) => touched.get(t)!.has(c[t].inode!))) changed.add(id);
    }
  }
  return [...ids].filter((id) => changed.has(id));
}

const signatures = new WeakMap<NamespaceSnapshot, Map<string, string[]>>();

/**
 * Per container, strings per type that change when its sharing does.
 * Members are gathered by inode and each namespace's list is sorted once per
 * snapshot, not once per member (and without reading the per-member `with`
 * lists): with a hundred containers in the host's user namespace, per-member
 * work made every engine event cost O(n²).
 */
function nsSignatures(s: NamespaceSnapshot): Map<string, string[]> {
  const known = signatures.get(s);
  if (known) return known;
  const byInode = new Map<string, string[]>();
  for (const [id, c] of s.containers) {
    for (const t of NS_TYPES) {
      if (c[t].inode === undefined) continue;
      const key = `${t}:${c[t].inode}`;
      const g = byInode.get(key);
      if (g) g.push(id);
      else byInode.set(key, [id]);
    }
  }
  const groups = new Map<string, string>();
  const out = new Map<string, string[]>();
  for (const [id, c] of s.containers) {
    out.set(id, NS_TYPES.flatMap((t) => {
      const x = c[t];
      const key = x.inode !== undefined ? `${t}:${x.inode}` : undefined;
      let members = key ? groups.get(key) : undefined;
      if (members === undefined) {
        // Without an inode (HostConfig only) the member list is the container's own.
        members = (key ? [...byInode.get(key)!] : [id, ...x.with]).sort().join(',');
        if (key) groups.set(key, members);
      }
      // The member list stays a string of its own, shared by its members: no copy per member.
      return [`${x.inode}/${x.host}`, members];
    }));
  }
  signatures.set(s, out);
  return out;
}

/** Docker-like relative time: "3 minutes", "About an hour". */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** Docker's own words for health, so the text reads like `docker ps`. */
function healthSuffix(h: ContainerModel['health']): string {
  if (!h) return '';
  return h.status === 'starting' ? ' (health: starting)' : ` (${h.status})`;
}

/**
 * The status text, computed from the inspect times so it can be kept fresh
 * locally (no engine call per tick). Falls back to the engine's own text.
 */
export function describeStatus(c: ContainerModel & Partial<ContainerDetail>, now = Date.now()): string {
  switch (c.state) {
    case 'running':
      return c.startedAt ? `Up ${humanDuration(now - c.startedAt.getTime())}${healthSuffix(c.health)}` : c.status;
    case 'paused':
      return c.startedAt ? `Up ${humanDuration(now - c.startedAt.getTime())} (Paused)` : c.status;
    case 'exited':
    case 'dead':
      if (c.finishedAt) return `Exited (${c.exitCode ?? '?'}) ${humanDuration(now - c.finishedAt.getTime())} ago`;
      return c.status;
    case 'created':
      return 'Created';
    default:
      return c.status;
  }
}
