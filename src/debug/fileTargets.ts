// Which running container, and which of its processes, runs a workspace
// source file: the ranking behind "Attach Debugger Container" in the editor.
// Pure data in, ranked data out; no vscode, no engine calls.
import path from 'node:path';
import { isNodeCommand } from './nodeInspector';
import { isPythonCommand } from './dapLaunchers';

export type DebuggerKind = 'gdb' | 'node' | 'python' | 'go';

/** The debugger for an editor language, or undefined when none fits yet. */
export function debuggerForLanguage(languageId: string): DebuggerKind | undefined {
  switch (languageId) {
    case 'c':
    case 'cpp':
    case 'rust':
      return 'gdb';
    case 'javascript':
    case 'typescript':
      return 'node';
    case 'python':
      return 'python';
    case 'go':
      return 'go';
  }
  return undefined;
}

export interface MountInfo {
  type: string;
  source: string;
  destination: string;
}

/** A running container as the ranking needs it (list answer plus the inspected mounts). */
export interface ContainerFacts {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  mounts: MountInfo[];
  /** The engine that runs it: its id (none for the default engine) and, with several engines, its name for the picker. */
  engineId?: string;
  engineName?: string;
}

export type MatchReason = 'mount' | 'compose' | 'image';

export interface ContainerCandidate {
  container: ContainerFacts;
  reason: MatchReason;
  score: number;
  /** Shown in the picker: why this container. */
  detail: string;
  /** For a bind mount: the host folder and where the container sees it (source mapping for the debugger). */
  mount?: { source: string; destination: string };
}

/** Whether `file` is `dir` or lies below it (whole path components only). */
export function holds(dir: string, file: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(file));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

const COMPOSE_DIR = 'com.docker.compose.project.working_dir';
const COMPOSE_SERVICE = 'com.docker.compose.service';

/** `registry:5000/team/web-api:1.2` -> `web-api`. */
function imageBase(image: string): string {
  const noDigest = image.split('@')[0] ?? image;
  const last = noDigest.split('/').pop() ?? noDigest;
  return last.replace(/:[^:]*$/, '').toLowerCase();
}

function words(s: string): string[] {
  return s.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 1);
}

/** How well an image name fits a folder name: 0 (no relation) to 100 (the same name). */
export function imageScore(image: string, folderName: string): number {
  const base = imageBase(image);
  const folder = folderName.toLowerCase();
  if (!base || !folder) return 0;
  if (base === folder) return 100;
  if (base.includes(folder) || folder.includes(base)) return 60;
  const fw = new Set(words(folder));
  const shared = words(base).filter((w) => fw.has(w)).length;
  return shared ? 20 + shared : 0;
}

/**
 * The containers that run `file`, most likely first. Containers with a bind
 * mount holding the file, or a compose project whose working directory holds
 * it, are the matches; only when there are none are all running containers
 * offered, ranked by their image name against `folderName`.
 */
export function rankContainers(file: string, folderName: string, containers: ContainerFacts[]): ContainerCandidate[] {
  const matches: ContainerCandidate[] = [];
  for (const c of containers) {
    // The most specific bind mount wins: it maps the most of the path.
    const mount = c.mounts
      .filter((m) => m.type === 'bind' && m.source && holds(m.source, file))
      .sort((a, b) => b.source.length - a.source.length)[0];
    if (mount) {
      const inside = path.posix.join(mount.destination, path.relative(mount.source, file).split(path.sep).join('/'));
      matches.push({ container: c, reason: 'mount', score: 2000 + mount.source.length, detail: `mounts ${mount.source} at ${mount.destination} (the file is ${inside} inside)`, mount: { source: mount.source, destination: mount.destination } });
      continue;
    }
    const dir = c.labels[COMPOSE_DIR];
    if (dir && holds(dir, file)) {
      const service = c.labels[COMPOSE_SERVICE];
      // A service named like a folder on the way to the file (api/ for api/src/x.js) is the likelier one of a project.
      const folders = [folderName, ...path.relative(dir, file).split(path.sep).slice(0, -1)];
      const bonus = service ? Math.max(...folders.map((f) => imageScore(service, f))) : 0;
      matches.push({ container: c, reason: 'compose', score: 1000 + dir.length + bonus, detail: `compose service ${service ?? '?'} of ${dir}` });
    }
  }
  const ranked = matches.length
    ? matches
    : containers.map((c): ContainerCandidate => ({ container: c, reason: 'image', score: imageScore(c.image, folderName), detail: `image ${c.image}` }));
  return ranked.sort((a, b) => b.score - a.score || a.container.name.localeCompare(b.container.name));
}

/**
 * The one container to attach to without asking: the only match by mount or
 * compose, or the only running container when its image fits the folder.
 */
export function soleContainer(ranked: ContainerCandidate[]): ContainerCandidate | undefined {
  if (ranked.length !== 1) return undefined;
  const only = ranked[0]!;
  return only.reason !== 'image' || only.score > 0 ? only : undefined;
}

export interface ProcessFacts {
  nsPid: number;
  command: string;
  /** Whether its executable is an ELF file (undefined: could not be read). */
  elf?: boolean;
  /** Whether its executable is a Go program (undefined: could not be read). */
  go?: boolean;
}

export interface ProcessCandidate {
  process: ProcessFacts;
  score: number;
}

/** Programs that are never what a user means by "the process running my file". */
const HELPERS = /(^|\/)(sh|bash|ash|dash|zsh|busybox|sleep|tini|docker-init|dumb-init|catatonit|gdb|gdbserver|strace|tail|cat)$/;

/**
 * The processes `debuggerKind` can attach to, most likely first. For node
 * and python: that interpreter's processes, the one running the file (or a
 * script of the same name) first. For gdb: ELF programs other than shells and init helpers, the one
 * named like the file (target.c -> target) first. For go: Go programs, the
 * one named like the file's folder (cmd/api/main.go -> api) first; where the
 * executables cannot be read, programs as for gdb, ranked lower.
 */
export function rankProcesses(kind: DebuggerKind, file: string, fileInContainer: string | undefined, procs: ProcessFacts[]): ProcessCandidate[] {
  const stem = path.basename(file).replace(/\.[^.]*$/, '').toLowerCase();
  const out: ProcessCandidate[] = [];
  for (const p of procs) {
    const argv = p.command.trim().split(/\s+/);
    const exe = argv[0] ?? '';
    if (kind === 'node' || kind === 'python') {
      if (!(kind === 'node' ? isNodeCommand(p.command) : isPythonCommand(p.command))) continue;
      const script = argv.slice(1).find((a) => !a.startsWith('-')) ?? '';
      let score = 10;
      if (fileInContainer && script === fileInContainer) score = 100;
      else if (script && path.posix.basename(script).replace(/\.[^.]*$/, '').toLowerCase() === stem) score = 50;
      out.push({ process: p, score });
    } else if (kind === 'go') {
      if (p.go === false || p.elf === false || isNodeCommand(p.command) || HELPERS.test(exe) || /^\[.*\]$/.test(exe)) continue;
      const name = path.posix.basename(exe).toLowerCase();
      const folder = path.basename(path.dirname(file)).toLowerCase();
      const named = name === folder || name === stem ? 50 : 0;
      out.push({ process: p, score: (p.go ? 50 : 0) + named + 10 });
    } else {
      if (p.elf === false || isNodeCommand(p.command) || isPythonCommand(p.command) || HELPERS.test(exe) || /^\[.*\]$/.test(exe)) continue;
      const name = path.posix.basename(exe).toLowerCase();
      out.push({ process: p, score: name === stem ? 100 : name.includes(stem) || (name.length > 1 && stem.includes(name)) ? 50 : 10 });
    }
  }
  return out.sort((a, b) => b.score - a.score || a.process.nsPid - b.process.nsPid);
}
