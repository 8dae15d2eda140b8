// The namespace map's data, built from the same model as the tree views.
// No vscode import: unit tests build it from a real engine and real /proc.
import type { ContainerEntry } from '../views/model';
import { TARGET_LABEL } from '../views/model';
import type { NamespaceSnapshot } from '../procfs/namespaces';
import { NS_TYPES, type MapGraph, type MapMember, type MapNamespace, type MapViewState } from '../../webviews/protocol';

export const ROLE_LABEL = 'io.container-sidecar.role';

/** One engine's part of the map: its containers and namespaces, as its model has them. */
export interface EnginePart {
  engineId: string;
  /** What the user calls the engine (its context or host), shown with its containers when there are several. */
  name: string;
  containers: ReadonlyMap<string, ContainerEntry>;
  snapshot: NamespaceSnapshot;
}

/** The host member of an engine that runs on another kernel. */
export const remoteHostId = (engineId: string) => `host@${engineId}`;

/**
 * Every container is a member; the host is one too. Each distinct namespace
 * (per type) lists its members, the host included when the host's own
 * namespace is joined. Private namespaces are kept: the page hides them
 * unless asked, so toggling needs no round trip.
 *
 * With several engines: those whose inodes came from this machine's /proc run
 * on this kernel, so they share one host and their namespaces merge by inode
 * (a Podman and a Docker container with --pid=host join the same node). An
 * engine on another kernel (read through its probe, or whose processes this
 * /proc cannot see) gets a host of its own, and its namespaces stay apart even
 * where an inode number happens to be equal.
 */
export function buildEnginesGraph(parts: EnginePart[]): MapGraph {
  const many = parts.length > 1;
  const members: MapMember[] = [];
  const hosts = new Set<string>();
  const groups = new Map<string, MapNamespace>();
  const reasons: string[] = [];
  for (const part of parts) {
    const { containers, snapshot } = part;
    const remote = snapshot.source === 'probe' || !!snapshot.remote;
    const hostId = remote ? remoteHostId(part.engineId) : 'host';
    // Namespace ids of another kernel carry its engine, so they never collide with this machine's.
    const tag = remote ? `@${part.engineId}` : '';
    if (!hosts.has(hostId)) {
      hosts.add(hostId);
      members.push({ id: hostId, name: remote ? `host of ${part.name}` : 'host', kind: 'host', state: 'running' });
    }
    if (snapshot.reason) reasons.push(many ? `${part.name}: ${snapshot.reason}` : snapshot.reason);
    for (const { model } of containers.values()) {
      const target = model.labels[TARGET_LABEL];
      members.push({
        id: model.id,
        name: many ? `${model.name} (${part.name})` : model.name,
        kind: target ? 'sidecar' : 'container',
        state: model.state,
        ...(model.health ? { health: model.health.status } : {}),
        image: model.image,
        ...(target ? { target, role: model.labels[ROLE_LABEL] } : {}),
      });
    }
    for (const type of NS_TYPES) {
      const hostInode = snapshot.host[type];
      const hostKey = `${type}${tag}:i${hostInode}`;
      if (hostInode !== undefined && !groups.has(hostKey)) groups.set(hostKey, { id: `${type}:${hostInode}${tag}`, type, inode: hostInode, host: true, members: [hostId] });
      for (const [id, ns] of snapshot.containers) {
        if (!containers.has(id)) continue;
        const s = ns[type];
        // Without inodes (HostConfig only), a namespace is named by its member set.
        const key = `${type}${tag}:${s.inode !== undefined ? `i${s.inode}` : s.host ? 'host' : [id, ...s.with].sort().join(',')}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { id: `${type}:${s.inode ?? key.slice(key.indexOf(':') + 1)}${tag}`, type, inode: s.inode, host: s.host, members: s.host ? [hostId] : [] }));
        g.members.push(id);
      }
    }
  }
  const namespaces = NS_TYPES.flatMap((type) => [...groups.values()].filter((g) => g.type === type).sort((a, b) => (a.inode ?? 0) - (b.inode ?? 0) || a.id.localeCompare(b.id)));
  return { members, namespaces, ...(reasons.length ? { reason: reasons.join(' ') } : {}) };
}

/** One engine's map (the single-engine case of buildEnginesGraph). */
export function buildMapGraph(containers: ReadonlyMap<string, ContainerEntry>, snapshot: NamespaceSnapshot): MapGraph {
  return buildEnginesGraph([{ engineId: 'default', name: '', containers, snapshot }]);
}

/** Namespaces joined by more than one member: what the map draws by default. */
export function sharedNamespaces(g: MapGraph): MapNamespace[] {
  return g.namespaces.filter((n) => n.members.length > 1);
}

/**
 * The part of the graph the page can show under `state`: namespaces of hidden
 * types and private ones stay on the host, and a toggle asks for them. Every
 * running container has eight namespaces, so on a busy engine this is most of
 * what every update would otherwise carry to the page.
 */
export function graphForView(g: MapGraph, state: MapViewState): MapGraph {
  return { ...g, namespaces: g.namespaces.filter((n) => state.types.includes(n.type) && (state.showPrivate || n.members.length > 1)) };
}
