// The second file backend, for when /proc/<pid>/root cannot be read here (a
// non-root user in the docker group, a remote engine, Docker Desktop's VM).
// A helper container shares the target's pid namespace and reaches the
// target's root as /proc/1/root. It holds one static program, the resolver
// (native/resolver.c), imported as a one-file image named by its content
// hash: no registry, no shell, nothing installed in the target.
//
// Confinement: the resolver resolves every path with openat2 and
// RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS against an fd of /proc/1/root, so
// the kernel keeps links and `..` inside the target's root and never follows
// a /proc magic link (another process's root, cwd, fd, exe, or the helper's
// own). Reads open only regular files on real file systems, checked on the
// fd they then read. Operations go over exec streams of the Engine API as
// length-prefixed frames: paths are data, never shell code.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { Engine } from '../engine/engine';
import { LABELS, processOwner, removeSidecar, runningTarget, sidecarCreateOptions, TargetNotRunningError } from '../engine/sidecars';
import { ConfinedError, type ContainerFs, DEFAULT_MAX_READ_BYTES, type EntryStat, type FileKind, MAX_LINKS, pseudoMessage, tooLargeMessage, type WriteOptions } from './rootfs';

function resolverBinary(): string {
  // dist/resolver next to the bundle; from out/src/procfs (tests) it is three levels up.
  for (const p of [path.join(__dirname, 'resolver'), path.join(__dirname, '../../../dist/resolver')]) {
    if (fs.existsSync(p)) return p;
  }
  throw new Error('The files helper program (dist/resolver) is missing from this installation; reinstall the extension.');
}

/** A ustar archive holding one executable file, for the Engine's image import. */
function oneFileTar(name: string, data: Buffer): Buffer {
  const h = Buffer.alloc(512);
  const field = (off: number, len: number, v: string) => h.write(v, off, len, 'ascii');
  field(0, 100, name);
  field(100, 8, '0000755\0');
  field(108, 8, '0000000\0');
  field(116, 8, '0000000\0');
  field(124, 12, data.length.toString(8).padStart(11, '0') + '\0');
  field(136, 12, Math.floor(Date.now() / 1000).toString(8).padStart(11, '0') + '\0');
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  field(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad, Buffer.alloc(1024)]);
}

/** The helper image, imported on first use and tagged with the resolver's hash so every version has its own. */
export async function ensureHelperImage(engine: Engine): Promise<string> {
  const bin = fs.readFileSync(resolverBinary());
  const tag = crypto.createHash('sha256').update(bin).digest('hex').slice(0, 16);
  const image = `container-sidecar/files-helper:${tag}`;
  try {
    await engine.call((d) => d.getImage(image).inspect());
    return image;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) throw e;
  }
  const tar = new PassThrough();
  tar.end(oneFileTar('resolver', bin));
  await engine.call(async (d) => {
    // The tag goes inside `repo`: Podman's compatible API ignores the separate `tag` (it tagged :latest); Docker takes both forms.
    const stream = await d.importImage(tar as unknown as string, { repo: image });
    await new Promise<void>((resolve, reject) => d.modem.followProgress(stream, (err: Error | null, out: { error?: string }[]) => {
      const bad = out?.find((x) => x.error);
      if (err || bad) reject(err ?? new Error(`Importing the files helper image failed: ${bad!.error}`));
      else resolve();
    }));
  });
  return image;
}

const KINDS: Record<string, string> = { fifo: 'a FIFO', 'character-device': 'a character device', 'block-device': 'a block device', socket: 'a socket' };

/** Turns the resolver's "CODE detail" into the same errors the direct backend gives. */
function toError(p: string, reply: string, container: string, maxBytes: number): ConfinedError {
  const sp = reply.indexOf(' ');
  const code = sp < 0 ? reply : reply.slice(0, sp);
  const detail = sp < 0 ? '' : reply.slice(sp + 1).trim();
  const messages: Record<string, () => string> = {
    ENOENT: () => `${p} does not exist`,
    EEXIST: () => `${p} already exists`,
    EISDIR: () => `${p} is a directory`,
    ENOTDIR: () => `${p} is not a directory`,
    ENOTEMPTY: () => `${p} is a directory that is not empty`,
    ELOOP: () => `${p}: more than ${MAX_LINKS} symbolic links while resolving the path (a link loop?), or a /proc link into another process, which is never followed`,
    ENOTREG: () => `${p} is not a regular file (${KINDS[detail] ?? 'a special file'}); only regular files can be read or written`,
    EPSEUDO: () => pseudoMessage(p, detail, container),
    EFBIG: () => tooLargeMessage(p, Number(detail), maxBytes),
    EXDEV: () => `${p}: source and destination are on different mounts of container ${container}; copy and delete instead`,
    EACCES: () => `${p}: permission denied in container ${container} (${detail})`,
    EPERM: () => `${p} is the container's root directory`,
  };
  return new ConfinedError(code === 'EPSEUDO' ? 'Unavailable' : code, p, messages[code]?.() ?? `${p}: ${detail || code}`);
}

function parseStat(line: string): Omit<EntryStat, 'isLink'> & { rawType: number } {
  const [f, s, y, z, u, g] = line.trim().split(' ');
  const mode = parseInt(f, 16);
  const t = mode & 0o170000;
  const kind: FileKind = t === 0o100000 ? 'file' : t === 0o040000 ? 'dir' : 'other';
  return { kind, rawType: t, size: Number(s), mtimeMs: Number(y), ctimeMs: Number(z), mode, uid: Number(u), gid: Number(g) };
}

const KIND: Record<string, FileKind> = { f: 'file', d: 'dir', o: 'other', m: 'missing' };

const EMPTY: Omit<EntryStat, 'kind' | 'isLink'> = { size: 0, mtimeMs: 0, ctimeMs: 0, mode: 0, uid: 0, gid: 0 };

interface Helper {
  id: string;
  ready: Promise<string>;
  lastUsed: number;
  /** Watchers polling through it keep it alive. */
  holds: number;
  /** Requests under way: the idle sweep never removes a helper in the middle of one. */
  inflight: number;
  sessions: Session[];
}

export interface HelperPoolOptions {
  /** Shows a long step (importing the image, starting the helper) to the user; the UI layer passes a notification. */
  progress?: <T>(title: string, task: (report: (msg: string) => void) => Promise<T>) => Promise<T>;
  log?: (msg: string) => void;
  /** A helper unused this long is removed. */
  idleMs?: number;
  /** Reads of larger files are refused (sidecar.files.maxFileSizeMB). */
  maxReadBytes?: () => number;
  /** A request whose reply makes no progress this long fails, naming the file. */
  stallMs?: number;
}

/** Reads larger than this get an exec of their own with no stdin attached: the engine streams those about three times faster. */
const ONCE_ABOVE = 4 * 1024 * 1024;

/** Exec streams per helper: a long read on one does not hold up a stat on another. */
const MAX_SESSIONS = 4;

/** One helper container per target, shared by every caller, removed when unused. */
export class HelperPool {
  private readonly helpers = new Map<string, Helper>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly engine: () => Engine, readonly opts: HelperPoolOptions = {}) {
    this.timer = setInterval(() => void this.sweep(), Math.min(opts.idleMs ?? 60_000, 10_000));
    this.timer.unref();
  }

  fsFor(targetId: string, name: string, onProgress?: (m: string) => void): HelperFs {
    return new HelperFs(this, targetId, name, onProgress);
  }

  private helper(targetId: string, onProgress?: (m: string) => void): Helper {
    let h = this.helpers.get(targetId);
    if (!h) {
      const ready = this.start(targetId, onProgress);
      const made: Helper = { id: '', ready, lastUsed: Date.now(), holds: 0, inflight: 0, sessions: [] };
      this.helpers.set(targetId, made);
      ready.then((id) => (made.id = id), () => this.helpers.get(targetId) === made && this.helpers.delete(targetId));
      h = made;
    }
    h.lastUsed = Date.now();
    return h;
  }

  /** The helper container id for a target, started on first use. */
  helperFor(targetId: string, onProgress?: (m: string) => void): Promise<string> {
    return this.helper(targetId, onProgress).ready;
  }

  private async start(targetId: string, onProgress?: (m: string) => void): Promise<string> {
    const engine = this.engine();
    // Reuse a helper this extension host started earlier for the same target.
    const existing = await engine.call((d) => d.listContainers({
      filters: { label: [`${LABELS.role}=files`, `${LABELS.target}=${targetId}`, `${LABELS.owner}=${processOwner}`], status: ['running'] },
    }));
    if (existing[0]) return existing[0].Id;
    const launch = async (report?: (m: string) => void): Promise<string> => {
      const target = await runningTarget(engine, targetId);
      const image = await ensureHelperImage(engine);
      report?.(`Starting the files helper for ${target.name}`);
      onProgress?.(`Starting the files helper for ${target.name}`);
      this.opts.log?.(`Starting a files helper (${image}) for container ${target.name}`);
      const create = sidecarCreateOptions({
        target: targetId,
        role: 'files',
        image,
        cmd: ['/resolver', 'sleep'],
        name: `${target.name}-files-${crypto.randomBytes(3).toString('hex')}`,
        share: { pid: true, net: false, ipc: false },
      }, target, processOwner);
      create.Env = [];
      // Only what the resolver needs: SYS_PTRACE to open /proc/1/root of a target
      // running as any user; DAC_OVERRIDE to read and write files of any owner;
      // FOWNER to set modes and times on them; CHOWN to give a rewritten or new
      // file its owner. No network, nothing writable of its own.
      create.HostConfig = { ...create.HostConfig, CapDrop: ['ALL'], CapAdd: ['SYS_PTRACE', 'DAC_OVERRIDE', 'FOWNER', 'CHOWN'], ReadonlyRootfs: true, NetworkMode: 'none', SecurityOpt: ['no-new-privileges'] };
      const c = await engine.call((d) => d.createContainer(create));
      try {
        await engine.call(() => c.start());
      } catch (e) {
        await removeSidecar(engine, c.id).catch(() => undefined);
        const msg = (e as { json?: { message?: string } }).json?.message ?? String(e);
        if (/is not running|cannot join|no such container/i.test(msg)) throw new TargetNotRunningError(`Container ${target.name} stopped before the files helper could join it (${msg}).`);
        throw new Error(`The files helper for ${target.name} did not start: ${msg}`, { cause: e });
      }
      return c.id;
    };
    const progress = this.opts.progress;
    return progress ? progress('Starting a files helper container', (report) => launch(report)) : launch();
  }

  /** Drops a helper that failed (gone with its target, removed by someone), and its sessions. */
  forget(targetId: string): void {
    const h = this.helpers.get(targetId);
    this.helpers.delete(targetId);
    if (h) this.close(h);
  }

  private close(h: Helper): void {
    for (const s of h.sessions.splice(0)) s.close();
    // Gone already when its target restarted; removing makes sure.
    if (h.id) void removeSidecar(this.engine(), h.id).catch(() => undefined);
  }

  hold(targetId: string): () => void {
    const h = this.helpers.get(targetId);
    if (h) h.holds++;
    return () => {
      if (h) {
        h.holds--;
        h.lastUsed = Date.now();
      }
    };
  }

  /** Container ids of the helpers running now (for tests and the log). */
  active(): string[] {
    return [...this.helpers.values()].map((h) => h.id).filter(Boolean);
  }

  async sweep(force = false): Promise<void> {
    const idle = this.opts.idleMs ?? 60_000;
    for (const [target, h] of [...this.helpers]) {
      if (!force && (h.holds > 0 || h.inflight > 0 || Date.now() - h.lastUsed < idle)) continue;
      this.helpers.delete(target);
      const id = await h.ready.catch(() => '');
      for (const s of h.sessions.splice(0)) s.close();
      if (id) {
        this.opts.log?.(`Removing the unused files helper ${id.slice(0, 12)}`);
        await removeSidecar(this.engine(), id).catch((e) => this.opts.log?.(`Could not remove files helper ${id.slice(0, 12)}: ${String(e)}`));
      }
    }
  }

  async dispose(): Promise<void> {
    clearInterval(this.timer);
    await this.sweep(true);
  }

  /** A free session of the helper, or a new one; when all are busy, the least loaded. */
  private async session(h: Helper, id: string): Promise<Session> {
    h.sessions = h.sessions.filter((s) => !s.closed);
    const free = h.sessions.find((s) => s.pending === 0);
    if (free) return free;
    if (h.sessions.length >= MAX_SESSIONS) return h.sessions.reduce((a, b) => (b.pending < a.pending ? b : a));
    const s = new Session(this.engine().docker, id, this.opts.stallMs ?? 60_000);
    h.sessions.push(s);
    return s;
  }

  /** Runs one read-only operation in an exec of its own, without stdin (for big reads). */
  async runOnce(targetId: string, what: string, argv: string[]): Promise<Reply> {
    const h = this.helper(targetId);
    h.inflight++;
    const s = new Session(this.engine().docker, await h.ready.catch((e: unknown) => {
      h.inflight--;
      throw e;
    }), this.opts.stallMs ?? 60_000, argv);
    try {
      return await s.request(what, argv);
    } finally {
      s.close();
      h.inflight--;
      h.lastUsed = Date.now();
    }
  }

  /** Runs one operation in the target's helper. `what` names the file for messages. */
  async run(targetId: string, what: string, argv: string[], payload?: Uint8Array, onProgress?: (m: string) => void): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      const h = this.helper(targetId, onProgress);
      h.inflight++;
      try {
        const id = await h.ready;
        const s = await this.session(h, id);
        return await s.request(what, argv, payload);
      } catch (e) {
        // The helper went away (target restarted, someone removed it): start another once.
        const status = (e as { statusCode?: number }).statusCode;
        if (attempt === 0 && (e instanceof HelperGoneError || status === 404 || status === 409)) {
          if (this.helpers.get(targetId) === h) this.forget(targetId);
          continue;
        }
        throw e;
      } finally {
        h.inflight--;
        h.lastUsed = Date.now();
      }
    }
  }
}

export interface Reply {
  /** "CODE detail" when the operation failed. */
  error?: string;
  data: Buffer;
}

class HelperGoneError extends Error {}

/** One exec stream of the resolver in a helper: requests go one at a time, in order. */
class Session {
  private stream: NodeJS.ReadWriteStream & { destroy?: () => void } | undefined;
  private readonly opened: Promise<void>;
  private readonly head = Buffer.alloc(5);
  private headLen = 0;
  /** The D or E frame being received, and how many of its bytes are still to come. */
  private frameType = '';
  private frameLeft = 0;
  private frameParts: Buffer[] = [];
  private current: { resolve: (r: Reply) => void; reject: (e: Error) => void; what: string; parts: Buffer[]; out?: Buffer; off: number } | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  pending = 0;
  closed = false;

  /** `once`: the arguments of a single request, run by an exec without stdin; else a serving session. */
  constructor(private readonly docker: Docker, private readonly id: string, private readonly stallMs: number, private readonly once?: string[]) {
    this.opened = this.open();
    this.opened.catch((e: Error) => this.fail(e));
  }

  private async open(): Promise<void> {
    const stdin = !this.once;
    const exec = await this.docker.getContainer(this.id).exec({ Cmd: ['/resolver', ...(this.once ? ['once', ...this.once] : ['serve'])], AttachStdin: stdin, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin }) as NodeJS.ReadWriteStream & { destroy: () => void };
    this.stream = stream;
    if (this.closed) return stream.destroy();
    const out = new PassThrough();
    const err = new PassThrough();
    out.on('data', (b: Buffer) => this.onData(b));
    err.resume();
    this.docker.modem.demuxStream(stream, out, err);
    const end = () => this.fail(new HelperGoneError('the files helper session ended'));
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', (e: Error) => this.fail(e));
  }

  request(what: string, argv: string[], payload?: Uint8Array): Promise<Reply> {
    this.pending++;
    const run = async () => {
      await this.opened;
      return new Promise<Reply>((resolve, reject) => {
        if (this.closed || !this.stream) return reject(new HelperGoneError('the files helper session ended'));
        this.current = { resolve, reject, what, parts: [], off: 0 };
        this.arm();
        const u32 = (n: number) => {
          const b = Buffer.alloc(4);
          b.writeUInt32LE(n);
          return b;
        };
        if (this.once) return; // the request is in the exec's argv
        const parts: Buffer[] = [u32(argv.length)];
        for (const a of argv) {
          const b = Buffer.from(a);
          parts.push(u32(b.length), b);
        }
        const data = payload ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) : Buffer.alloc(0);
        parts.push(u32(data.length));
        this.stream.write(Buffer.concat(parts));
        if (data.length) this.stream.write(data);
      });
    };
    const p = this.chain.then(run, run).finally(() => this.pending--);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /**
   * A reply that makes no progress for stallMs fails with the file's name, and
   * this session ends with it: the helper's other sessions go on. A helper
   * killed with its target may leave the stream open; this ends that too.
   */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = this.current ? setTimeout(() => {
      const what = this.current?.what ?? 'a file';
      this.fail(new Error(`The files helper gave no answer for ${Math.round(this.stallMs / 1000)} s while working on ${what}; try again, or check that the container is running.`));
    }, this.stallMs) : undefined;
  }

  /**
   * Parses frames as bytes arrive, without joining the stream into one growing
   * buffer (that was quadratic): a read's data is copied once, straight into
   * the buffer its 'S' frame sized.
   */
  private onData(b: Buffer): void {
    let at = 0;
    while (at < b.length && this.current) {
      const cur = this.current;
      if (!this.frameType) {
        const take = Math.min(5 - this.headLen, b.length - at);
        b.copy(this.head, this.headLen, at, at + take);
        this.headLen += take;
        at += take;
        if (this.headLen < 5) break;
        this.headLen = 0;
        const type = String.fromCharCode(this.head[0]);
        const n = this.head.readUInt32LE(1);
        if (type === 'D' || type === 'E') {
          this.frameType = type;
          this.frameLeft = n;
          if (type === 'D' && cur.out) Session.reserve(cur, n);
          if (n === 0) this.endFrame(cur);
        } else if (type === 'S') {
          cur.out = Buffer.alloc(n);
        } else if (type === 'Z') {
          // A hole: the buffer is zero-filled already.
          Session.reserve(cur, n);
          cur.off += n;
        } else if (type === 'K') {
          this.done({ data: cur.out ? cur.out.subarray(0, cur.off) : Buffer.concat(cur.parts) });
        } else {
          this.fail(new Error(`the files helper sent a frame of unknown type ${JSON.stringify(type)}`));
          return;
        }
        continue;
      }
      const take = Math.min(this.frameLeft, b.length - at);
      if (this.frameType === 'D' && cur.out) {
        b.copy(cur.out, cur.off, at, at + take);
        cur.off += take;
      } else {
        this.frameParts.push(Buffer.from(b.subarray(at, at + take)));
      }
      at += take;
      this.frameLeft -= take;
      if (this.frameLeft === 0) this.endFrame(cur);
    }
    if (this.current) this.arm();
  }

  private endFrame(cur: NonNullable<Session['current']>): void {
    const type = this.frameType;
    this.frameType = '';
    const body = this.frameParts.length === 1 ? this.frameParts[0] : Buffer.concat(this.frameParts);
    this.frameParts = [];
    if (type === 'E') this.done({ error: body.toString(), data: Buffer.alloc(0) });
    else if (!cur.out && body.length) cur.parts.push(body);
  }

  /** Room for n more bytes in a read's buffer (a file that grew after its size was sent). */
  private static reserve(cur: { out?: Buffer; off: number }, n: number): void {
    if (cur.out && cur.off + n <= cur.out.length) return;
    const grown = Buffer.alloc(Math.max((cur.out?.length ?? 0) * 2, cur.off + n));
    cur.out?.copy(grown, 0, 0, cur.off);
    cur.out = grown;
  }

  private done(r: Reply): void {
    const cur = this.current;
    this.current = undefined;
    this.arm();
    cur?.resolve(r);
  }

  private fail(e: Error): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.closed) return;
    this.closed = true;
    const cur = this.current;
    this.current = undefined;
    cur?.reject(e);
    // destroy, not end: a helper killed with its target can leave a half-open socket that holds the event loop.
    this.stream?.destroy?.();
  }

  close(): void {
    this.fail(new HelperGoneError('the files helper session was closed'));
  }
}

/** ContainerFs through the helper container of one target. */
export class HelperFs implements ContainerFs {
  constructor(
    readonly pool: HelperPool,
    readonly targetId: string,
    readonly name: string,
    private readonly onProgress?: (m: string) => void,
  ) {}

  private get maxRead(): number {
    return this.pool.opts.maxReadBytes?.() ?? DEFAULT_MAX_READ_BYTES;
  }

  private async op(p: string, argv: string[], payload?: Uint8Array): Promise<Buffer> {
    for (const a of argv) {
      // A NUL cannot be part of a name.
      if (a.includes('\0')) throw new ConfinedError('EINVAL', p, `${p}: a path cannot contain a NUL character`);
    }
    const r = await this.pool.run(this.targetId, `${p} in container ${this.name}`, argv, payload, this.onProgress);
    if (r.error !== undefined) throw toError(p, r.error, this.name, this.maxRead);
    return r.data;
  }

  async stat(p: string): Promise<EntryStat> {
    const [l, t] = (await this.op(p, ['stat', p])).toString().split('\n');
    const own = parseStat(l);
    if (own.rawType !== 0o120000) return { ...own, isLink: false };
    if (!t || t.trim() === 'missing') return { ...own, kind: 'missing', isLink: true };
    return { ...parseStat(t), isLink: true };
  }

  async readdir(p: string): Promise<[string, EntryStat][]> {
    const b = await this.op(p, ['readdir', p]);
    const out: [string, EntryStat][] = [];
    for (let at = 0; at + 6 <= b.length;) {
      const k = String.fromCharCode(b[at]);
      const t = String.fromCharCode(b[at + 1]);
      const n = b.readUInt32LE(at + 2);
      const name = b.subarray(at + 6, at + 6 + n).toString();
      at += 6 + n;
      out.push([name, k === 'l' ? { ...EMPTY, kind: KIND[t] ?? 'missing', isLink: true } : { ...EMPTY, kind: KIND[k] ?? 'other', isLink: false }]);
    }
    return out;
  }

  async readFile(p: string): Promise<Uint8Array> {
    try {
      return await this.op(p, ['read', p, String(this.maxRead), String(ONCE_ABOVE)]);
    } catch (e) {
      if ((e as { code?: string }).code !== 'EMOVE') throw e;
    }
    // Above ONCE_ABOVE bytes the resolver asks for an exec of the read's own.
    const r = await this.pool.runOnce(this.targetId, `${p} in container ${this.name}`, ['read', p, String(this.maxRead)]);
    if (r.error !== undefined) throw toError(p, r.error, this.name, this.maxRead);
    return r.data;
  }

  async writeFile(p: string, data: Uint8Array, opts: WriteOptions): Promise<void> {
    if (p === '/') throw new ConfinedError('EISDIR', p, `${p} is a directory`);
    await this.op(p, ['write', p, opts.create ? '1' : '0', opts.overwrite ? '1' : '0'], data);
  }

  async mkdir(p: string): Promise<void> {
    await this.op(p, ['mkdir', p]);
  }

  async delete(p: string, opts: { recursive: boolean }): Promise<void> {
    if (normalizeRoot(p)) throw new ConfinedError('EPERM', p, `${p} is the container's root directory and cannot be deleted`);
    await this.op(p, ['delete', p, opts.recursive ? '1' : '0']);
  }

  async rename(from: string, to: string, opts: { overwrite: boolean }): Promise<void> {
    if (normalizeRoot(from)) throw new ConfinedError('EPERM', from, `${from} is the container's root directory and cannot be moved`);
    await this.op(from, ['rename', from, to, opts.overwrite ? '1' : '0']);
  }

  async copy(from: string, to: string, opts: { overwrite: boolean }): Promise<void> {
    await this.op(from, ['copy', from, to, opts.overwrite ? '1' : '0']);
  }

  /** One change signature per path, for the polling watcher: one request for all of them. */
  async poll(paths: string[]): Promise<string[]> {
    if (!paths.length) return [];
    return (await this.op(paths[0], ['poll', ...paths])).toString().split('\n').slice(0, paths.length);
  }
}

function normalizeRoot(p: string): boolean {
  return p.split('/').every((c) => c === '' || c === '.' || c === '..');
}
