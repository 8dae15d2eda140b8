// The namespace map's data, built from the same model as the tree views.
// No vscode import: unit tests build it from a real engine and real /proc.
import type { ContainerEntry } from '../views/model';
import { TARGET_LABEL } from '../views/model';
import type { NamespaceSnapshot } from '../procfs/namespaces';
import { NS_TYPES, type MapGraph, type MapMember, type MapNamespace, type MapViewState } from '../../webviews/protocol';

export const ROLE_LABEL = 'io.container-sidecar.role';

/**
 * Every container is a member; the host is one too. Each distinct namespace
 * (per type) lists its members, the host included when the host's own
 * namespace is joined. Private namespaces are kept: the page hides them
 * unless asked, so toggling needs no round trip.
 */
export function buildMapGraph(containers: ReadonlyMap<string, ContainerEntry>, snapshot: NamespaceSnapshot): MapGraph {
  const members: MapMember[] = [{ id: 'host', name: 'host', kind: 'host', state: 'running' }];
  for (const { model } of containers.values()) {
    const target = model.labels[TARGET_LABEL];
    members.push({
      id: model.id,
      name: model.name,
      kind: target ? 'sidecar' : 'container',
      state: model.state,
      ...(model.health ? { health: model.health.status } : {}),
      image: model.image,
      ...(target ? { target, role: model.labels[ROLE_LABEL] } : {}),
    });
  }
  const namespaces: MapNamespace[] = [];
  for (const type of NS_TYPES) {
    const groups = new Map<string, MapNamespace>();
    const hostInode = snapshot.host[type];
    if (hostInode !== undefined) groups.set(`i${hostInode}`, { id: `${type}:${hostInode}`, type, inode: hostInode, host: true, members: ['host'] });
    for (const [id, ns] of snapshot.containers) {
      if (!containers.has(id)) continue;
      const s = ns[type];
      // Without inodes (HostConfig only), a namespace is named by its member set.
      const key = s.inode !== undefined ? `i${s.inode}` : s.host ? 'host' : [id, ...s.with].sort().join(',');
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { id: `${type}:${s.inode ?? key}`, type, inode: s.inode, host: s.host, members: s.host ? ['host'] : [] }));
      g.members.push(id);
    }
    namespaces.push(...[...groups.values()].sort((a, b) => (a.inode ?? 0) - (b.inode ?? 0) || a.id.localeCompare(b.id)));
  }
  return { members, namespaces, ...(snapshot.reason ? { reason: snapshot.reason } : {}) };
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
