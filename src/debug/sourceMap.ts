// Source paths both ways: gdb knows build paths inside the container
// (/src/target.c), the editor knows workspace paths. Pure functions.
import path from 'node:path';

export interface SourceMap {
  /** A gdb path to what the editor should open: a workspace path, or a container: URI. */
  toClient(remotePath: string): string;
  /** An editor path (or container: URI) to the location text gdb should get. */
  toRemote(clientPath: string): string;
  /**
   * Records that gdb resolved an unmapped editor file to `remotePath` (same
   * file name), so its folder maps to the editor's folder from now on: a
   * breakpoint clicked in the workspace then shows stops in that same file.
   */
  learn(clientPath: string, remotePath: string): void;
}

function normalise(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

function under(p: string, prefix: string): string | undefined {
  if (p === prefix) return '';
  const pre = prefix.endsWith('/') ? prefix : prefix + '/';
  return p.startsWith(pre) ? p.slice(pre.length) : undefined;
}

/**
 * `map` goes from build prefixes to workspace prefixes; the longest matching
 * prefix wins. Unmapped container paths open read-only through the
 * `container://<id>[@<engine>]/<path>` scheme (`containerId` is a containerRef); `exists` says whether a mapped workspace
 * file is really there (else the container copy is shown).
 */
export function createSourceMap(map: Record<string, string> | undefined, containerId: string, exists: (p: string) => boolean): SourceMap {
  const pairs: (readonly [string, string])[] = [];
  let byLocal: (readonly [string, string])[] = [];
  const add = (remote: string, local: string) => {
    pairs.push([normalise(remote), normalise(local)]);
    pairs.sort((a, b) => b[0].length - a[0].length);
    byLocal = [...pairs].sort((a, b) => b[1].length - a[1].length);
  };
  for (const [remote, local] of Object.entries(map ?? {})) add(remote, local);
  const containerPrefix = `container://${containerId}`;
  return {
    toClient(remotePath) {
      for (const [remote, local] of pairs) {
        const rest = under(remotePath, remote);
        if (rest === undefined) continue;
        const candidate = rest ? path.join(local, rest) : local;
        if (exists(candidate)) return candidate;
      }
      return remotePath.startsWith('/') ? containerPrefix + remotePath : remotePath;
    },
    toRemote(clientPath) {
      // The editor may hand back the container: URI it was given.
      const m = /^container:\/\/([^/]+)(\/.*)$/.exec(clientPath);
      if (m) return decodeURIComponent(m[2]);
      for (const [remote, local] of byLocal) {
        const rest = under(clientPath, local);
        if (rest !== undefined) return rest ? path.posix.join(remote, rest.split(path.sep).join('/')) : remote;
      }
      // Unmapped: gdb matches a bare file name against the tail of its build paths.
      return path.basename(clientPath);
    },
    learn(clientPath, remotePath) {
      if (clientPath.startsWith('container:') || !remotePath.startsWith('/')) return;
      if (path.basename(clientPath) !== path.posix.basename(remotePath)) return;
      const remoteDir = path.posix.dirname(remotePath);
      if (pairs.some(([r]) => under(remotePath, r) !== undefined)) return;
      add(remoteDir, path.dirname(clientPath));
    },
  };
}
