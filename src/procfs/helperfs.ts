// The second file backend, for when /proc/<pid>/root cannot be read here (a
// non-root user in the docker group, a remote engine, Docker Desktop's VM).
// A helper container shares the target's pid namespace and reaches the
// target's root as /proc/1/root. Operations go over one long-lived exec
// stream of the Engine API; paths are data (length-prefixed argv) for a fixed
// script, never interpolated into shell code.
//
// Confinement: the script runs under `chroot /proc/1/root`, so the kernel
// resolves absolute links, `..` and chains against the TARGET's root, and
// the race of a directory swapped for a link can only land inside it. The
// busybox it runs is reached through /proc/<pid of the outer shell>/root, a
// path that exists only in the shared pid namespace: nothing is installed in
// the target, which may have no shell at all.
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { Engine } from '../engine/engine';
import { LABELS, launchSidecar, processOwner, removeSidecar } from '../engine/sidecars';
import { ConfinedError, type ContainerFs, type EntryStat, type FileKind, MAX_LINKS, type WriteOptions } from './rootfs';

// A long-lived exec per helper serves every request, so each operation costs
// a fork in the helper instead of a new exec in the engine. Requests come on
// stdin as "<argc> <stdin length>", then per argument "<length>" and its
// bytes; dd reads exact byte counts (the shell's read builtin never reads
// ahead). Each reply is "<exit code> <stdout length> <stderr length>" and the
// two outputs, staged in files so their lengths are known.
const SERVER = String.raw`
BB=/proc/$$/root/bin/busybox; export BB
T=$(mktemp -d) || exit 1
take() { if [ "$1" -gt 0 ]; then dd bs=65536 count="$1" iflag=count_bytes,fullblock 2>/dev/null; fi; }
while read -r n inlen; do
  set --
  i=0
  while [ "$i" -lt "$n" ]; do
    read -r len
    a=$(take "$len"; echo .)
    set -- "$@" "${"$"}{a%.}"   # (the template writes the shell's own dollar-brace here)
    i=$((i+1))
  done
  take "$inlen" > "$T/in"
  # Not the last command: this shell must outlive chroot, whose busybox is reached through /proc/$$/root.
  chroot /proc/1/root "$BB" sh -c "$0" ops "$@" < "$T/in" > "$T/out" 2> "$T/err"
  rc=$?
  echo "$rc $(stat -c %s "$T/out") $(stat -c %s "$T/err")"
  cat "$T/out" "$T/err"
done
`;

// Runs inside the chroot, as busybox sh. $1 is the operation, the rest data.
// Failures print "E:<code>" on stderr and exit 1.
const OPS = String.raw`
b() { "$BB" "$@"; }
fail() { echo "E:$1" >&2; exit 1; }
exists() { [ -e "$1" ] || [ -L "$1" ]; }
nolink() {
  # Follow a final link ourselves (kernel-confined by the chroot), bounded like the kernel.
  n=0
  while [ -L "$P" ]; do
    n=$((n+1)); [ $n -gt ${MAX_LINKS} ] && fail ELOOP
    t=$(b readlink -- "$P")
    case "$t" in /*) P=$t ;; *) P=$(b dirname -- "$P")/$t ;; esac
  done
}
op=$1; shift
case "$op" in
stat)
  b stat -c '%f %s %Y %Z %u %g' -- "$1" || fail ENOENT
  b stat -L -c '%f %s %Y %Z %u %g' -- "$1" 2>/dev/null || echo missing
  ;;
readdir)
  cd -- "$1" 2>/dev/null || { [ -e "$1" ] && fail ENOTDIR; [ -L "$1" ] && fail ELOOP; fail ENOENT; }
  # The shell's glob reads the directory without a stat; one stat run then
  # lstats each name once. Unmatched patterns stay literal and fail quietly.
  set -- * .[!.]* ..?*
  b stat -c '%f/./%n' -- "$@" 2>/dev/null
  # 126: too many names for one exec (ARG_MAX): let find batch them.
  [ $? -ge 126 ] && b find . -mindepth 1 -maxdepth 1 -exec "$BB" stat -c '%f/%n' {} +
  true
  ;;
targets)
  # The types that links point to, for the links a listing found.
  cd -- "$1" 2>/dev/null || fail ENOENT
  shift
  for n in "$@"; do b stat -L -c '%f' -- "$n" 2>/dev/null || echo 0; done
  ;;
read)
  [ -d "$1" ] && fail EISDIR
  [ -f "$1" ] || { [ -e "$1" ] && fail "ENOTREG $(b stat -L -c %F -- "$1")"; [ -L "$1" ] && b stat -L -- "$1" 2>&1 | b grep -qiE "loop|levels" && fail ELOOP; fail ENOENT; }
  b cat -- "$1"
  ;;
write)
  P=$1; nolink
  D=$(b dirname -- "$P"); N=$(b basename -- "$P")
  if [ -e "$P" ]; then
    [ -d "$P" ] && fail EISDIR; [ -f "$P" ] || fail "ENOTREG $(b stat -L -c %F -- "$P")"; [ "$3" = 1 ] || fail EEXIST
    own=$(b stat -c '%u:%g' -- "$P"); mode=$(b stat -c %a -- "$P")
  else
    [ "$2" = 1 ] || fail ENOENT; [ -d "$D" ] || fail ENOENT
    own=$(b stat -L -c '%u:%g' -- "$D"); mode=644
  fi
  tmp="$D/.$(echo "$N" | b cut -c1-40).sidecar-$$-$RANDOM.tmp"
  # noclobber: the temporary name is created, never followed.
  set -C
  b cat > "$tmp" || { b rm -f -- "$tmp"; fail EIO; }
  set +C
  b chown "$own" -- "$tmp" 2>/dev/null; b chmod "$mode" -- "$tmp"
  b mv -f -T -- "$tmp" "$P" || { b rm -f -- "$tmp"; fail EIO; }
  ;;
mkdir)
  exists "$1" && fail EEXIST
  b mkdir -- "$1" || fail ENOENT
  b chown "$(b stat -L -c '%u:%g' -- "$(b dirname -- "$1")")" -- "$1" 2>/dev/null
  true
  ;;
delete)
  exists "$1" || fail ENOENT
  if [ -d "$1" ] && ! [ -L "$1" ]; then
    if [ "$2" = 1 ]; then b rm -rf -- "$1"; else b rmdir -- "$1" 2>/dev/null || fail ENOTEMPTY; fi
  else
    b rm -f -- "$1"
  fi
  ;;
rename|copy)
  exists "$1" || fail ENOENT
  if exists "$2"; then [ "$3" = 1 ] || fail EEXIST; b rm -rf -- "$2"; fi
  if [ "$op" = rename ]; then b mv -f -T -- "$1" "$2"; else b cp -a -- "$1" "$2"; fi
  ;;
poll)
  # One line per watched path: its lstat and, for a directory, a digest of the listing.
  for p in "$@"; do
    s=$(b stat -L -c '%Y %Z %s %i' -- "$p" 2>/dev/null || echo gone)
    [ -d "$p" ] && s="$s $(b ls -a --full-time -- "$p" 2>/dev/null | b md5sum)"
    echo "$s"
  done
  ;;
esac
`.replace('${MAX_LINKS}', String(MAX_LINKS));

const MESSAGES: Record<string, (p: string) => string> = {
  ENOENT: (p) => `${p} does not exist`,
  EEXIST: (p) => `${p} already exists`,
  EISDIR: (p) => `${p} is a directory`,
  ENOTDIR: (p) => `${p} is not a directory`,
  ENOTEMPTY: (p) => `${p} is a directory that is not empty`,
  ELOOP: (p) => `${p}: more than ${MAX_LINKS} symbolic links while resolving the path (a link loop?)`,
};

/** Maps what the script or a busybox applet said to an errno-like code. */
function toError(p: string, stderr: string): ConfinedError {
  const m = /E:([A-Z]+)/.exec(stderr);
  let code = m?.[1];
  if (!code) {
    if (/loop|Too many levels/i.test(stderr)) code = 'ELOOP';
    else if (/No such file/i.test(stderr)) code = 'ENOENT';
    else if (/Not a directory/i.test(stderr)) code = 'ENOTDIR';
    else if (/Is a directory/i.test(stderr)) code = 'EISDIR';
    else if (/exists/i.test(stderr)) code = 'EEXIST';
    else if (/not empty/i.test(stderr)) code = 'ENOTEMPTY';
    else if (/Permission denied|Operation not permitted|Read-only/i.test(stderr)) code = 'EACCES';
    else code = 'EIO';
  }
  if (code === 'ENOTREG') {
    const what = /E:ENOTREG (.*)/.exec(stderr)?.[1] ?? '';
    const kind = /fifo/i.test(what) ? 'a FIFO' : /character/.test(what) ? 'a character device' : /block/.test(what) ? 'a block device' : /socket/.test(what) ? 'a socket' : 'a special file';
    return new ConfinedError(code, p, `${p} is not a regular file (${kind}); only regular files can be read or written`);
  }
  const msg = MESSAGES[code]?.(p) ?? `${p}: ${stderr.trim().split('\n').pop() || code}`;
  return new ConfinedError(code, p, msg);
}

function parseStat(line: string): Omit<EntryStat, 'isLink'> & { rawType: number } {
  const [f, s, y, z, u, g] = line.trim().split(' ');
  const mode = parseInt(f, 16);
  const t = mode & 0o170000;
  const kind: FileKind = t === 0o100000 ? 'file' : t === 0o040000 ? 'dir' : 'other';
  return { kind, rawType: t, size: Number(s), mtimeMs: Number(y) * 1000, ctimeMs: Number(z) * 1000, mode, uid: Number(u), gid: Number(g) };
}

function kindOf(mode: number): FileKind | 'link' {
  const t = mode & 0o170000;
  return t === 0o120000 ? 'link' : t === 0o100000 ? 'file' : t === 0o040000 ? 'dir' : 'other';
}

const EMPTY: Omit<EntryStat, 'kind' | 'isLink'> = { size: 0, mtimeMs: 0, ctimeMs: 0, mode: 0, uid: 0, gid: 0 };

interface Helper {
  id: string;
  ready: Promise<string>;
  lastUsed: number;
  /** Watchers polling through it keep it alive. */
  holds: number;
}

export interface HelperPoolOptions {
  image: () => string;
  /** Shows a long step (pulling the image, starting the helper) to the user; the UI layer passes a notification. */
  progress?: <T>(title: string, task: (report: (msg: string) => void) => Promise<T>) => Promise<T>;
  log?: (msg: string) => void;
  /** A helper unused this long is removed. */
  idleMs?: number;
}

/** One helper container per target, shared by every caller, removed when unused. */
export class HelperPool {
  private readonly helpers = new Map<string, Helper>();
  private readonly sessions = new Map<string, Promise<Session>>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly engine: () => Engine, private readonly opts: HelperPoolOptions) {
    this.timer = setInterval(() => void this.sweep(), Math.min(opts.idleMs ?? 60_000, 10_000));
    this.timer.unref();
  }

  fsFor(targetId: string, name: string, onProgress?: (m: string) => void): HelperFs {
    return new HelperFs(this, targetId, name, onProgress);
  }

  /** The helper container id for a target, started on first use. */
  async helperFor(targetId: string, onProgress?: (m: string) => void): Promise<string> {
    let h = this.helpers.get(targetId);
    if (!h) {
      const ready = this.start(targetId, onProgress);
      h = { id: '', ready, lastUsed: Date.now(), holds: 0 };
      this.helpers.set(targetId, h);
      ready.then((id) => (h!.id = id), () => this.helpers.delete(targetId));
    }
    h.lastUsed = Date.now();
    return h.ready;
  }

  private async start(targetId: string, onProgress?: (m: string) => void): Promise<string> {
    const engine = this.engine();
    // Reuse a helper this extension host started earlier for the same target.
    const existing = await engine.call((d) => d.listContainers({
      filters: { label: [`${LABELS.role}=files`, `${LABELS.target}=${targetId}`, `${LABELS.owner}=${processOwner}`], status: ['running'] },
    }));
    if (existing[0]) return existing[0].Id;
    const image = this.opts.image();
    this.opts.log?.(`Starting a files helper (${image}) for container ${targetId.slice(0, 12)}`);
    const launch = (report?: (m: string) => void) => launchSidecar(engine, {
      target: targetId,
      role: 'files',
      image,
      cmd: ['sleep', '2147483647'],
      // Reading /proc/1/root of a target that runs as another user needs ptrace rights.
      capAdd: ['SYS_PTRACE'],
      share: { pid: true, net: false, ipc: false },
    }, { onProgress: (m) => { report?.(m); onProgress?.(m); }, setting: 'sidecar.files.helperImage' });
    const progress = this.opts.progress;
    const { id } = progress ? await progress(`Starting a files helper container (${image})`, (report) => launch(report)) : await launch();
    return id;
  }

  /** Drops a helper that failed (gone with its target, removed by someone), and its session. */
  forget(targetId: string): void {
    const h = this.helpers.get(targetId);
    this.helpers.delete(targetId);
    if (h?.id) {
      const session = this.sessions.get(h.id);
      this.sessions.delete(h.id);
      void session?.then((x) => x.close(), () => undefined);
      // Gone already when its target restarted; removing makes sure.
      void removeSidecar(this.engine(), h.id).catch(() => undefined);
    }
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
      if (!force && (h.holds > 0 || Date.now() - h.lastUsed < idle)) continue;
      this.helpers.delete(target);
      const id = await h.ready.catch(() => '');
      const session = this.sessions.get(id);
      this.sessions.delete(id);
      void session?.then((x) => x.close(), () => undefined);
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

  /** Runs one operation in the target's helper. */
  async run(targetId: string, argv: string[], stdin?: Uint8Array, onProgress?: (m: string) => void): Promise<{ code: number; stdout: Buffer; stderr: string }> {
    for (let attempt = 0; ; attempt++) {
      const id = await this.helperFor(targetId, onProgress);
      try {
        let session = this.sessions.get(id);
        const current = await session?.catch(() => undefined);
        if (!session || !current || current.closed) {
          session = Session.open(this.engine().docker, id);
          this.sessions.set(id, session);
          session.catch(() => this.sessions.delete(id));
        }
        const s = await session;
        try {
          return await s.request(argv, stdin);
        } catch (e) {
          // The session ended under us (helper gone): retry once with a new one.
          if (!s.closed || attempt > 0) throw e;
          this.sessions.delete(id);
          this.forget(targetId);
          continue;
        }
      } catch (e) {
        // The helper went away (target restarted, someone removed it): start another once.
        const status = (e as { statusCode?: number }).statusCode;
        if (attempt === 0 && (status === 404 || status === 409)) {
          this.forget(targetId);
          continue;
        }
        throw e;
      }
    }
  }
}

interface Reply {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** The long-lived exec in one helper: requests go one at a time, in order. */
class Session {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private idle: NodeJS.Timeout | undefined;
  closed = false;

  private constructor(private readonly stream: NodeJS.ReadWriteStream, private readonly alive: () => Promise<boolean>) {}

  static async open(docker: Docker, id: string): Promise<Session> {
    const exec = await docker.getContainer(id).exec({ Cmd: ['sh', '-c', SERVER, OPS], AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: true });
    const s = new Session(stream, () => docker.getContainer(id).inspect().then((i) => i.State.Running, () => false));
    const out = new PassThrough();
    const err = new PassThrough();
    out.on('data', (b: Buffer) => s.onData(b));
    err.resume(); // the server itself says nothing on stderr; replies carry the operations' stderr
    docker.modem.demuxStream(stream, out, err);
    const end = () => s.fail(new Error('the files helper session ended'));
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', (e: Error) => s.fail(e));
    return s;
  }

  request(argv: string[], stdin?: Uint8Array): Promise<Reply> {
    const run = () => new Promise<Reply>((resolve, reject) => {
      if (this.closed) return reject(new Error('the files helper session ended'));
      this.waiting.push({ resolve, reject });
      this.armIdle();
      const input = stdin ? Buffer.from(stdin) : Buffer.alloc(0);
      const parts: Buffer[] = [Buffer.from(`${argv.length} ${input.length}\n`)];
      for (const a of argv) {
        const b = Buffer.from(a);
        parts.push(Buffer.from(`${b.length}\n`), b);
      }
      parts.push(input);
      this.stream.write(Buffer.concat(parts));
    });
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /**
   * A helper killed with its target (a restart kills its pid namespace) may
   * leave the stream open: a request that hears nothing for a while ends the
   * session, and the caller starts a new helper.
   */
  private armIdle(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = this.waiting.length ? setTimeout(() => {
      // Quiet can also be a long operation: only a helper that is gone ends the session.
      void this.alive().then((alive) => {
        if (alive) return this.armIdle();
        this.fail(new Error('the files helper stopped (its target restarted or stopped)'));
        this.stream.end();
      });
    }, Session.IDLE_MS) : undefined;
  }

  static IDLE_MS = 3000;

  private onData(b: Buffer): void {
    this.armIdle();
    this.buf = this.buf.length ? Buffer.concat([this.buf, b]) : b;
    for (;;) {
      const nl = this.buf.indexOf(10);
      if (nl < 0) return;
      const [code, outLen, errLen] = this.buf.subarray(0, nl).toString().split(' ').map(Number);
      const total = nl + 1 + outLen + errLen;
      if (this.buf.length < total) return;
      const stdout = Buffer.from(this.buf.subarray(nl + 1, nl + 1 + outLen));
      const stderr = this.buf.subarray(nl + 1 + outLen, total).toString();
      this.buf = this.buf.subarray(total);
      this.waiting.shift()?.resolve({ code, stdout, stderr });
      this.armIdle();
    }
  }

  private fail(e: Error): void {
    if (this.idle) clearTimeout(this.idle);
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  close(): void {
    this.fail(new Error('the files helper session was closed'));
    this.stream.end();
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

  private async op(p: string, argv: string[], stdin?: Uint8Array): Promise<Buffer> {
    for (const a of argv) {
      // The script reads arguments from argv, but a NUL cannot be passed at all.
      if (a.includes('\0')) throw new ConfinedError('EINVAL', p, `${p}: a path cannot contain a NUL character`);
    }
    const r = await this.pool.run(this.targetId, argv, stdin, this.onProgress);
    if (r.code !== 0) throw toError(p, r.stderr);
    return r.stdout;
  }

  async stat(p: string): Promise<EntryStat> {
    const [l, t] = (await this.op(p, ['stat', p])).toString().split('\n');
    const own = parseStat(l);
    if (own.rawType !== 0o120000) return { ...own, isLink: false };
    if (!t || t.trim() === 'missing') return { ...own, kind: 'missing', isLink: true };
    return { ...parseStat(t), isLink: true };
  }

  async readdir(p: string): Promise<[string, EntryStat][]> {
    const out: [string, EntryStat][] = [];
    const links: number[] = [];
    for (const line of (await this.op(p, ['readdir', p])).toString().split('\n')) {
      const slash = line.indexOf('/');
      if (slash < 0 || !line.startsWith('./', slash + 1)) continue;
      const t = kindOf(parseInt(line.slice(0, slash), 16));
      if (t === 'link') links.push(out.length);
      out.push([line.slice(slash + 3), { ...EMPTY, kind: t === 'link' ? 'missing' : t, isLink: t === 'link' }]);
    }
    if (links.length) {
      // A second exec only when there are links, to learn what they point to (confined by the chroot).
      const types = (await this.op(p, ['targets', p, ...links.map((i) => `./${out[i][0]}`)])).toString().split('\n');
      links.forEach((i, k) => {
        const t = kindOf(parseInt(types[k] ?? '0', 16));
        out[i][1] = { ...EMPTY, kind: t === 'link' || types[k] === '0' ? 'missing' : t, isLink: true };
      });
    }
    return out;
  }

  async readFile(p: string): Promise<Uint8Array> {
    return this.op(p, ['read', p]);
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

  /** One change signature per path, for the polling watcher: one exec for all of them. */
  async poll(paths: string[]): Promise<string[]> {
    if (!paths.length) return [];
    return (await this.op(paths[0], ['poll', ...paths])).toString().split('\n').slice(0, paths.length);
  }
}

function normalizeRoot(p: string): boolean {
  return p.split('/').every((c) => c === '' || c === '.' || c === '..');
}
