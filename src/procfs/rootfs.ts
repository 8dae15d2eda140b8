// Confined access to a container's files through /proc/<pid>/root.
//
// The kernel follows an absolute symlink found under /proc/<pid>/root against
// the HOST root, so a naive path join lets a container point the extension
// (often root) at host files. Here every path is walked one component at a
// time on directory fds, opening `/proc/self/fd/<dir fd>/<name>` with
// O_NOFOLLOW: the kernel never follows a link for us. Links are read with
// readlink through the same fd path and resolved by us, with the container's
// root as `/`. Nothing is checked by path and then used by path, so a
// directory swapped for a symlink mid-operation cannot redirect us.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

const C = fs.constants;
const O_DIR = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
/** Same bound as the kernel's MAXSYMLINKS. */
export const MAX_LINKS = 40;

export type FileKind = 'file' | 'dir' | 'other' | 'missing';

export interface EntryStat {
  /** The kind of the entry, or of its target when it is a symlink ('missing' for a dangling link). */
  kind: FileKind;
  isLink: boolean;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  mode: number;
  uid: number;
  gid: number;
}

export interface WriteOptions {
  create: boolean;
  overwrite: boolean;
}

/** Reads larger than this are refused with a sentence (sidecar.files.maxFileSizeMB), so a huge file cannot fill memory. */
export const DEFAULT_MAX_READ_BYTES = 2 * 1024 ** 3;

/** statfs magic numbers of file systems whose files answer for whoever reads them. */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'procfs', 0x62656572: 'sysfs', 0x64626720: 'debugfs', 0x74726163: 'tracefs',
  0x73636673: 'securityfs', 0x27e0eb: 'cgroupfs', 0x63677270: 'cgroupfs', 0xcafe4a11: 'bpffs',
};

export function pseudoMessage(p: string, fsType: string, container: string): string {
  return `${p} is on ${fsType}, a pseudo file system that answers for whoever reads it: read from here it would show this reader's namespaces, not those of container ${container}. Run a command inside the container to see its value.`;
}

export function tooLargeMessage(p: string, size: number, max: number): string {
  return `${p} is ${(size / 1024 ** 2).toFixed(1)} MiB, more than the ${(max / 1024 ** 2).toFixed(0)} MiB that sidecar.files.maxFileSizeMB allows to open; raise that setting to open it.`;
}

/** A file operation error with an errno-like code and the path inside the container. */
export class ConfinedError extends Error {
  constructor(
    readonly code: string,
    readonly containerPath: string,
    message: string,
  ) {
    super(message);
  }
}

/** What both backends (direct /proc and helper container) offer. Paths are absolute paths inside the container. */
export interface ContainerFs {
  stat(p: string): Promise<EntryStat>;
  readdir(p: string): Promise<[string, EntryStat][]>;
  readFile(p: string): Promise<Uint8Array>;
  writeFile(p: string, data: Uint8Array, opts: WriteOptions): Promise<void>;
  mkdir(p: string): Promise<void>;
  delete(p: string, opts: { recursive: boolean }): Promise<void>;
  rename(from: string, to: string, opts: { overwrite: boolean }): Promise<void>;
  copy(from: string, to: string, opts: { overwrite: boolean }): Promise<void>;
}

const fdPath = (fd: number, name?: string) => (name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);

/** Splits a container path into components, dropping empty parts and `.`. `..` stays: the walk clamps it. */
export function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/** Normalizes a container path to an absolute path with no `.`/`..`, clamped at `/` (lexically). */
export function normalize(p: string): string {
  return path.posix.resolve('/', p);
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

function toStat(st: fs.Stats, isLink: boolean): EntryStat {
  const kind: FileKind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  return { kind, isLink, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, mode: st.mode, uid: st.uid, gid: st.gid };
}

/**
 * One resolution of one path, on fds. `stack` holds the directories walked
 * so far (stack[0] is the container root, owned by the caller); `..` pops,
 * clamped at the root, which is how `..` can never leave the container.
 */
class Walk {
  readonly stack: number[];
  private queue: string[];
  private links = 0;

  constructor(root: number, readonly shown: string) {
    this.stack = [root];
    this.queue = components(shown);
  }

  get top(): number {
    return this.stack[this.stack.length - 1];
  }

  private fail(code: string, what: string): never {
    throw new ConfinedError(code, this.shown, what);
  }

  /**
   * Walks every component but the last. Returns the last name (not opened),
   * or undefined when the path ends at `top` itself (the root, or after `..`).
   */
  toFinal(): string | undefined {
    for (;;) {
      const c = this.queue[0];
      if (c === undefined) return undefined;
      if (c === '..') {
        this.queue.shift();
        if (this.stack.length > 1) fs.closeSync(this.stack.pop()!);
        continue;
      }
      if (this.queue.length === 1) return c;
      this.queue.shift();
      let fd: number;
      try {
        fd = fs.openSync(fdPath(this.top, c), O_DIR);
      } catch (e) {
        const code = errno(e);
        // O_NOFOLLOW on a link answers ELOOP, or ENOTDIR when O_DIRECTORY is checked first.
        if ((code === 'ELOOP' || code === 'ENOTDIR') && this.followLink(c, this.queue.splice(0))) continue;
        if (code === 'ELOOP') continue; // was a link when opened, is not any more: walk it again
        if (code === 'ENOENT') this.fail('ENOENT', `${this.shown}: "${c}" does not exist`);
        if (code === 'ENOTDIR') this.fail('ENOTDIR', `${this.shown}: "${c}" is not a directory`);
        if (code === 'EACCES' || code === 'EPERM') this.fail('EACCES', `${this.shown}: permission denied at "${c}"`);
        throw e;
      }
      this.stack.push(fd);
    }
  }

  /**
   * `name` in `top` is a symlink: read it and continue with its target.
   * Absolute targets restart from the container root, never the host's.
   */
  followLink(name: string, rest: string[] = this.queue.splice(1)): boolean {
    if (++this.links > MAX_LINKS) {
      this.fail('ELOOP', `${this.shown}: more than ${MAX_LINKS} symbolic links while resolving the path (a link loop?)`);
    }
    let target: string;
    try {
      target = fs.readlinkSync(fdPath(this.top, name));
    } catch (e) {
      // Not a link (a file, or swapped since our open): the caller reports it.
      if (errno(e) === 'EINVAL') {
        this.queue = [name, ...rest];
        return false;
      }
      // Magic links of a procfs the walker is not part of (e.g. the container's /proc/self).
      if (errno(e) === 'ENOENT') this.fail('ENOENT', `${this.shown}: "${name}" does not exist`);
      throw e;
    }
    if (target.startsWith('/')) this.reset();
    this.queue = [...components(target), ...rest];
    return true;
  }

  private reset(): void {
    while (this.stack.length > 1) fs.closeSync(this.stack.pop()!);
  }

  /** Closes every fd the walk opened (never the root). */
  close(): void {
    this.reset();
  }
}

const isRoot = () => process.getuid?.() === 0;

function chownQuietly(fd: number, uid: number, gid: number): void {
  try {
    fs.fchownSync(fd, uid, gid);
  } catch (e) {
    // Without root (rootless engines) ownership cannot be given away; keep ours.
    if (isRoot() || (errno(e) !== 'EPERM' && errno(e) !== 'EINVAL')) throw e;
  }
}

/**
 * Confined file operations on one container root. `rootPath` is normally
 * `/proc/<pid>/root`; the root fd is opened per operation so that a restarted
 * container never keeps an old root (or its mounts) alive.
 */
export class RootFs implements ContainerFs {
  /**
   * `verify` runs right after the root is opened: it must throw if the PID no
   * longer belongs to the container (it exited and the PID was reused), so a
   * root opened in that window is never used.
   */
  constructor(
    private readonly rootPath: () => string,
    private readonly verify?: () => void,
    private readonly opts: { name?: string; maxReadBytes?: () => number } = {},
  ) {}

  private openRoot(): number {
    const root = fs.openSync(this.rootPath(), C.O_RDONLY | C.O_DIRECTORY);
    try {
      this.verify?.();
    } catch (e) {
      fs.closeSync(root);
      throw e;
    }
    return root;
  }

  /** Runs fn with a fresh root fd and the path's walk; closes both. */
  private with<T>(p: string, fn: (w: Walk, root: number) => T): T {
    const root = this.openRoot();
    const w = new Walk(root, normalizeShown(p));
    try {
      return fn(w, root);
    } finally {
      w.close();
      fs.closeSync(root);
    }
  }

  private async withAsync<T>(p: string, fn: (w: Walk, root: number) => Promise<T>): Promise<T> {
    const root = this.openRoot();
    const w = new Walk(root, normalizeShown(p));
    try {
      return await fn(w, root);
    } finally {
      w.close();
      fs.closeSync(root);
    }
  }

  /** lstat of the final entry, following final links inside the container. */
  private statIn(w: Walk): { st: fs.Stats; isLink: boolean; name?: string } {
    let isLink = false;
    for (;;) {
      const name = w.toFinal();
      if (name === undefined) return { st: fs.fstatSync(w.top), isLink };
      let st: fs.Stats;
      try {
        st = fs.lstatSync(fdPath(w.top, name));
      } catch (e) {
        if (errno(e) === 'ENOENT') throw new ConfinedError('ENOENT', w.shown, `${w.shown} does not exist`);
        if (errno(e) === 'ENOTDIR') throw new ConfinedError('ENOTDIR', w.shown, `${w.shown}: a parent is not a directory`);
        throw e;
      }
      if (!st.isSymbolicLink()) return { st, isLink, name };
      isLink = true;
      w.followLink(name);
    }
  }

  async stat(p: string): Promise<EntryStat> {
    try {
      return this.with(p, (w) => {
        const { st, isLink } = this.statIn(w);
        return toStat(st, isLink);
      });
    } catch (e) {
      // A dangling (or looping) link still exists: report it as a link to nothing.
      if (!(e instanceof ConfinedError) || (e.code !== 'ENOENT' && e.code !== 'ELOOP') || !this.isLink(p)) throw e;
      const st = this.with(p, (w) => fs.lstatSync(fdPath(w.top, w.toFinal()!)));
      return { ...toStat(st, true), kind: 'missing' };
    }
  }

  /** Whether the final component itself is a symlink (parents resolved). */
  private isLink(p: string): boolean {
    return this.with(p, (w) => {
      const n = w.toFinal();
      if (n === undefined) return false;
      try {
        return fs.lstatSync(fdPath(w.top, n)).isSymbolicLink();
      } catch {
        return false;
      }
    });
  }

  /** Opens the directory `p` resolves to; the fd is owned by the walk's caller. */
  private openDir(w: Walk): number {
    for (;;) {
      const name = w.toFinal();
      if (name === undefined) return fs.openSync(fdPath(w.top), C.O_RDONLY | C.O_DIRECTORY);
      try {
        return fs.openSync(fdPath(w.top, name), O_DIR);
      } catch (e) {
        const code = errno(e);
        if ((code === 'ELOOP' || code === 'ENOTDIR') && w.followLink(name)) continue;
        if (code === 'ELOOP') continue;
        const shown = w.shown;
        if (code === 'ENOENT') throw new ConfinedError('ENOENT', shown, `${shown} does not exist`);
        if (code === 'ENOTDIR') throw new ConfinedError('ENOTDIR', shown, `${shown} is not a directory`);
        throw e;
      }
    }
  }

  async readdir(p: string): Promise<[string, EntryStat][]> {
    const dir = normalizeShown(p);
    return this.with(p, (w) => {
      const fd = this.openDir(w);
      try {
        const entries = fs.readdirSync(fdPath(fd), { withFileTypes: true });
        const out: [string, EntryStat][] = [];
        for (const e of entries) {
          if (e.isSymbolicLink()) {
            // The link's own type is known; its target's type needs a confined walk.
            out.push([e.name, this.linkTargetStat(path.posix.join(dir, e.name))]);
          } else {
            const kind: FileKind = e.isFile() ? 'file' : e.isDirectory() ? 'dir' : 'other';
            out.push([e.name, { kind, isLink: false, size: 0, mtimeMs: 0, ctimeMs: 0, mode: 0, uid: 0, gid: 0 }]);
          }
        }
        return out;
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  private linkTargetStat(p: string): EntryStat {
    try {
      return this.with(p, (w) => toStat(this.statIn(w).st, true));
    } catch {
      return { kind: 'missing', isLink: true, size: 0, mtimeMs: 0, ctimeMs: 0, mode: 0, uid: 0, gid: 0 };
    }
  }

  /**
   * Opens the regular file `p` resolves to for reading. Anything else (FIFO,
   * socket, device) is refused before it is opened, and again after the open
   * (O_NONBLOCK, so a FIFO swapped in between cannot make us wait).
   */
  private openRegular(w: Walk): number {
    for (;;) {
      const { st, name } = this.statIn(w);
      const shown = w.shown;
      if (st.isDirectory()) throw new ConfinedError('EISDIR', shown, `${shown} is a directory`);
      if (!st.isFile()) throw new ConfinedError('ENOTREG', shown, `${shown} is not a regular file (${kindName(st)}); only regular files can be read`);
      let fd: number;
      try {
        fd = fs.openSync(fdPath(w.top, name!), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK | C.O_NOCTTY);
      } catch (e) {
        if (errno(e) === 'ELOOP' || errno(e) === 'ENOENT') continue; // raced: resolve the name again
        throw e;
      }
      const now = fs.fstatSync(fd);
      if (!now.isFile()) {
        fs.closeSync(fd);
        throw new ConfinedError('ENOTREG', shown, `${shown} is not a regular file (${kindName(now)}); only regular files can be read`);
      }
      return fd;
    }
  }

  /** Refuses pseudo files (checked on the open fd) and files above the size limit. */
  private checkReadable(fd: number, shown: string): void {
    const type = PSEUDO_FS[Number(fs.statfsSync(fdPath(fd)).type)];
    if (type) throw new ConfinedError('Unavailable', shown, pseudoMessage(shown, type, this.opts.name ?? 'this container'));
    const max = this.opts.maxReadBytes?.() ?? DEFAULT_MAX_READ_BYTES;
    const size = fs.fstatSync(fd).size;
    if (size > max) throw new ConfinedError('EFBIG', shown, tooLargeMessage(shown, size, max));
  }

  async readFile(p: string): Promise<Uint8Array> {
    return this.withAsync(p, async (w) => {
      const fd = this.openRegular(w);
      try {
        this.checkReadable(fd, w.shown);
        return await readAll(fd);
      } finally {
        fs.closeSync(fd);
      }
    });
  }

  /**
   * Writes through a temporary file in the same directory fd, then renames it
   * over the name: the file is whole or unchanged. A final symlink is followed
   * inside the container; the rename itself never follows anything.
   */
  async writeFile(p: string, data: Uint8Array, opts: WriteOptions): Promise<void> {
    const shown = normalizeShown(p);
    return this.withAsync(p, async (w) => {
      let name: string | undefined;
      let old: fs.Stats | undefined;
      for (;;) {
        name = w.toFinal();
        if (name === undefined) throw new ConfinedError('EISDIR', shown, `${shown} is a directory`);
        try {
          old = fs.lstatSync(fdPath(w.top, name));
        } catch (e) {
          if (errno(e) !== 'ENOENT') throw e;
          old = undefined;
        }
        if (old?.isSymbolicLink()) {
          w.followLink(name);
          continue;
        }
        break;
      }
      if (old) {
        if (old.isDirectory()) throw new ConfinedError('EISDIR', shown, `${shown} is a directory`);
        if (!old.isFile()) throw new ConfinedError('ENOTREG', shown, `${shown} is not a regular file (${kindName(old)}); only regular files can be written`);
        if (!opts.overwrite) throw new ConfinedError('EEXIST', shown, `${shown} already exists`);
      } else if (!opts.create) {
        throw new ConfinedError('ENOENT', shown, `${shown} does not exist`);
      }
      const dirSt = fs.fstatSync(w.top);
      const mode = old ? old.mode & 0o7777 : 0o644;
      const tmp = tempName(name);
      const tfd = fs.openSync(fdPath(w.top, tmp), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
      let renamed = false;
      try {
        await writeAll(tfd, data);
        chownQuietly(tfd, old ? old.uid : dirSt.uid, old ? old.gid : dirSt.gid);
        fs.fchmodSync(tfd, mode);
        fs.fsyncSync(tfd);
        fs.closeSync(tfd);
        fs.renameSync(fdPath(w.top, tmp), fdPath(w.top, name));
        renamed = true;
      } finally {
        if (!renamed) {
          try { fs.closeSync(tfd); } catch { /* closed already */ }
          try { fs.unlinkSync(fdPath(w.top, tmp)); } catch { /* never created or gone */ }
        }
      }
    });
  }

  async mkdir(p: string): Promise<void> {
    const shown = normalizeShown(p);
    this.with(p, (w) => {
      const name = w.toFinal();
      if (name === undefined) throw new ConfinedError('EEXIST', shown, `${shown} already exists`);
      const owner = fs.fstatSync(w.top);
      try {
        fs.mkdirSync(fdPath(w.top, name), 0o755);
      } catch (e) {
        if (errno(e) === 'EEXIST') throw new ConfinedError('EEXIST', shown, `${shown} already exists`);
        throw e;
      }
      // A new directory belongs to the owner of its parent, like a new file.
      let fd: number | undefined;
      try {
        fd = fs.openSync(fdPath(w.top, name), O_DIR);
        chownQuietly(fd, owner.uid, owner.gid);
      } catch {
        // Swapped right after creation: it is no longer ours to chown.
      } finally {
        if (fd !== undefined) fs.closeSync(fd);
      }
    });
  }

  async delete(p: string, opts: { recursive: boolean }): Promise<void> {
    const shown = normalizeShown(p);
    this.with(p, (w) => {
      const name = w.toFinal();
      if (name === undefined) throw new ConfinedError('EPERM', shown, `${shown} is the container's root directory and cannot be deleted`);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(fdPath(w.top, name));
      } catch (e) {
        if (errno(e) === 'ENOENT') throw new ConfinedError('ENOENT', shown, `${shown} does not exist`);
        throw e;
      }
      if (!st.isDirectory()) return fs.unlinkSync(fdPath(w.top, name));
      if (opts.recursive) return removeTree(w.top, name);
      try {
        fs.rmdirSync(fdPath(w.top, name));
      } catch (e) {
        if (errno(e) === 'ENOTEMPTY' || errno(e) === 'EEXIST') throw new ConfinedError('ENOTEMPTY', shown, `${shown} is a directory that is not empty`);
        throw e;
      }
    });
  }

  async rename(from: string, to: string, opts: { overwrite: boolean }): Promise<void> {
    const src = normalizeShown(from);
    const dst = normalizeShown(to);
    this.with(from, (ws, root) => {
      const a = ws.toFinal();
      if (a === undefined) throw new ConfinedError('EPERM', src, `${src} is the container's root directory and cannot be moved`);
      try {
        fs.lstatSync(fdPath(ws.top, a));
      } catch (e) {
        if (errno(e) === 'ENOENT') throw new ConfinedError('ENOENT', src, `${src} does not exist`);
        throw e;
      }
      const wd = new Walk(root, dst);
      try {
        const b = wd.toFinal();
        if (b === undefined) throw new ConfinedError('EEXIST', dst, `${dst} already exists`);
        let existing: fs.Stats | undefined;
        try {
          existing = fs.lstatSync(fdPath(wd.top, b));
        } catch (e) {
          if (errno(e) !== 'ENOENT') throw e;
        }
        if (existing && !opts.overwrite) throw new ConfinedError('EEXIST', dst, `${dst} already exists`);
        // rename(2) only replaces an empty directory; an overwrite means the whole tree goes.
        if (existing?.isDirectory()) removeTree(wd.top, b);
        fs.renameSync(fdPath(ws.top, a), fdPath(wd.top, b));
      } catch (e) {
        if (errno(e) === 'EXDEV') throw new ConfinedError('EXDEV', src, `${src} and ${dst} are on different mounts inside the container; copy and delete instead`);
        throw e;
      } finally {
        wd.close();
      }
    });
  }

  async copy(from: string, to: string, opts: { overwrite: boolean }): Promise<void> {
    const src = normalizeShown(from);
    const dst = normalizeShown(to);
    if (dst === src || dst.startsWith(src === '/' ? '/' : src + '/')) {
      throw new ConfinedError('EINVAL', dst, `cannot copy ${src} into itself (${dst})`);
    }
    const st = await this.stat(src);
    if (await this.exists(dst)) {
      if (!opts.overwrite) throw new ConfinedError('EEXIST', dst, `${dst} already exists`);
      await this.delete(dst, { recursive: true });
    }
    await this.copyEntry(src, dst, st);
  }

  private async exists(p: string): Promise<boolean> {
    return this.with(p, (w) => {
      const n = w.toFinal();
      if (n === undefined) return true;
      try {
        fs.lstatSync(fdPath(w.top, n));
        return true;
      } catch {
        return false;
      }
    });
  }

  private async copyEntry(src: string, dst: string, st: EntryStat): Promise<void> {
    if (st.kind === 'file') {
      await this.writeFile(dst, await this.readFile(src), { create: true, overwrite: true });
    } else if (st.kind === 'dir') {
      await this.mkdir(dst);
      for (const [name] of await this.readdir(src)) {
        const s = path.posix.join(src, name);
        const d = path.posix.join(dst, name);
        // Inside a tree, links are copied as links (their text), as cp -r does.
        const target = this.readLinkText(s);
        if (target !== undefined) this.makeLink(d, target);
        else await this.copyEntry(s, d, await this.stat(s));
      }
    } else {
      throw new ConfinedError('ENOTREG', src, `${src} is not a regular file or directory and cannot be copied`);
    }
  }

  private readLinkText(p: string): string | undefined {
    return this.with(p, (w) => {
      const n = w.toFinal();
      if (n === undefined) return undefined;
      try {
        return fs.readlinkSync(fdPath(w.top, n));
      } catch {
        return undefined;
      }
    });
  }

  private makeLink(p: string, target: string): void {
    this.with(p, (w) => {
      const n = w.toFinal();
      if (n === undefined) throw new ConfinedError('EEXIST', p, `${p} already exists`);
      // symlink(2) creates the link itself; its text is only ever resolved by our walk.
      fs.symlinkSync(target, fdPath(w.top, n));
    });
  }

  /**
   * Opens the directory that `p` is (or, for a file, that contains it) and
   * hands its fd to `fn`, for fs.watch on `/proc/self/fd/<fd>`: the inotify
   * watch is bound to that inode, wherever links pointed.
   */
  watchTarget<T>(p: string, fn: (dirPath: string, name: string | undefined) => T): T {
    return this.with(p, (w) => {
      let fd: number;
      let name: string | undefined;
      try {
        const { st, name: n } = this.statIn(w);
        if (st.isDirectory()) {
          fd = n === undefined ? fs.openSync(fdPath(w.top), C.O_RDONLY | C.O_DIRECTORY) : fs.openSync(fdPath(w.top, n), O_DIR);
        } else {
          fd = fs.openSync(fdPath(w.top), C.O_RDONLY | C.O_DIRECTORY);
          name = n;
        }
      } catch (e) {
        // Watching something that does not exist yet: watch its directory.
        if (!(e instanceof ConfinedError) || e.code !== 'ENOENT') throw e;
        fd = fs.openSync(fdPath(w.top), C.O_RDONLY | C.O_DIRECTORY);
        name = path.posix.basename(normalizeShown(p));
      }
      try {
        return fn(fdPath(fd), name);
      } finally {
        fs.closeSync(fd);
      }
    });
  }
}

function normalizeShown(p: string): string {
  // Keep `..` for the walk (it clamps at the root), but show a clean absolute path.
  return p.startsWith('/') ? p : `/${p}`;
}

function kindName(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'a special file';
}

function tempName(name: string): string {
  // NAME_MAX is 255 bytes: keep a short prefix of the name for people who see it.
  return `.${name.slice(0, 40)}.sidecar-${randomBytes(6).toString('hex')}.tmp`;
}

function removeTree(parent: number, name: string): void {
  let fd: number;
  try {
    fd = fs.openSync(fdPath(parent, name), O_DIR);
  } catch (e) {
    // Swapped for a link or a file since we looked: remove that entry only.
    if (errno(e) === 'ELOOP' || errno(e) === 'ENOTDIR') return fs.unlinkSync(fdPath(parent, name));
    throw e;
  }
  try {
    for (const e of fs.readdirSync(fdPath(fd), { withFileTypes: true })) {
      if (e.isDirectory()) removeTree(fd, e.name);
      else {
        try {
          fs.unlinkSync(fdPath(fd, e.name));
        } catch (err) {
          if (errno(err) === 'EISDIR') removeTree(fd, e.name);
          else if (errno(err) !== 'ENOENT') throw err;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.rmdirSync(fdPath(parent, name));
}

function readChunk(fd: number, buf: Buffer, off: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, off, buf.length - off, null, (e, n) => (e ? reject(e) : resolve(n))));
}

async function readAll(fd: number): Promise<Uint8Array> {
  const size = fs.fstatSync(fd).size;
  // One read of the known size; procfs/sysfs files report size 0 but have
  // content, and files can grow while we read: then continue in chunks.
  const chunks: Buffer[] = [];
  let buf = Buffer.allocUnsafe(size || 64 * 1024);
  let off = 0;
  for (;;) {
    const n = await readChunk(fd, buf, off);
    if (n === 0) break;
    off += n;
    if (off === buf.length) {
      chunks.push(buf);
      buf = Buffer.allocUnsafe(64 * 1024);
      off = 0;
    }
  }
  if (!chunks.length) return buf.subarray(0, off);
  chunks.push(buf.subarray(0, off));
  return chunks.length === 2 && off === 0 ? chunks[0] : Buffer.concat(chunks);
}

function writeAll(fd: number, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number) => {
      if (off >= data.length) return resolve();
      fs.write(fd, data, off, data.length - off, null, (e, n) => (e ? reject(e) : step(off + n)));
    };
    step(0);
  });
}

/**
 * The direct backend for a container process, or a reason it cannot be used
 * (then the helper container is used). `pid` must belong to the container:
 * its cgroup names the container id, which also rules out engines whose PIDs
 * live elsewhere (a VM, a remote host) and happen to match a host process.
 */
export function directAccess(pid: number, containerId: string): { ok: true } | { ok: false; reason: string } {
  try {
    const cg = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    if (!cg.includes(containerId)) return { ok: false, reason: `process ${pid} is not in the container's cgroup (the engine runs elsewhere)` };
    fs.closeSync(fs.openSync(`/proc/${pid}/root`, C.O_RDONLY | C.O_DIRECTORY));
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: `/proc/${pid}/root is not readable (${errno(e) ?? String(e)})` };
  }
}
