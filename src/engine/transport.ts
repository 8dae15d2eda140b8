// How the engine layer reaches an engine that is not a local socket:
// tcp with TLS (files read here, with a sentence for each thing that is wrong)
// and ssh (one ssh connection per engine, each HTTP request a channel running
// `docker system dial-stdio` on the host, host keys checked against
// known_hosts). No vscode import.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { type AgentAuthMethod, Client, type ClientChannel, type PublicKeyAuthMethod, type ConnectConfig, utils as sshUtils } from 'ssh2';

/** A setting, variable or file that cannot be used; the message names it and the fix. */
export class TransportError extends Error {}

// ---------------------------------------------------------------- TLS

/** Paths of the TLS material, as Docker names it: ca.pem, cert.pem, key.pem. */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function readMaterial(file: string, what: string, source: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TransportError(`${source}: the ${what} ${file} does not exist; point it at the file, or copy the file there.`);
    if (code === 'EACCES' || code === 'EPERM') throw new TransportError(`${source}: the ${what} ${file} cannot be read (permission denied); give your user read access to it (chmod 600 for a key you own).`);
    if (code === 'EISDIR') throw new TransportError(`${source}: the ${what} ${file} is a folder; name the file inside it.`);
    throw new TransportError(`${source}: the ${what} ${file} cannot be read (${code ?? String(e)}).`);
  }
}

/**
 * Reads the CA, client certificate and key. A certificate needs its key and
 * the other way round; every file must be PEM. Verification is never turned
 * off: without a CA, the system's CAs check the engine's certificate.
 */
export function readTls(files: TlsFiles, source: string): TlsMaterial {
  if (!!files.cert !== !!files.key) {
    throw new TransportError(`${source}: a client certificate needs its key and a key its certificate; give both (cert.pem and key.pem).`);
  }
  const out: TlsMaterial = {};
  const pem = (file: string, what: string, marker: RegExp) => {
    const b = readMaterial(file, what, source);
    if (!marker.test(b.toString('latin1'))) throw new TransportError(`${source}: the ${what} ${file} is not a PEM file (no "-----BEGIN" line); give the PEM form of it.`);
    return b;
  };
  if (files.ca) out.ca = pem(files.ca, 'CA certificate', /-----BEGIN CERTIFICATE-----/);
  if (files.cert) out.cert = pem(files.cert, 'client certificate', /-----BEGIN CERTIFICATE-----/);
  if (files.key) out.key = pem(files.key, 'client key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  return out;
}

/** The three files in a folder such as DOCKER_CERT_PATH or a context's TLS folder. */
export function tlsFilesIn(dir: string): TlsFiles {
  const f = (n: string) => (fs.existsSync(path.join(dir, n)) ? path.join(dir, n) : undefined);
  return { ca: f('ca.pem'), cert: f('cert.pem'), key: f('key.pem') };
}

/** The tooltip's warning for an engine reached over plain tcp. */
export function plainTcpWarning(label: string): string {
  return `${label} is plain tcp: anyone on the network path can read and drive this engine (it grants root on its host). Use TLS (https:// or tcp:// with a CA, certificate and key) or ssh://.`;
}

// ---------------------------------------------------------------- ssh addresses and ~/.ssh/config

export interface SshTarget {
  /** The host as written in the address (an alias of ~/.ssh/config, or a name). */
  alias: string;
  /** The host to connect to (HostName of ~/.ssh/config, else the alias). */
  host: string;
  port: number;
  user: string;
  /** Private key files to try after the agent, in order. */
  identityFiles: string[];
  /** ssh-agent socket, if any. */
  agent?: string;
  /** known_hosts files to check the host key against. */
  knownHostsFiles: string[];
}

export interface SshEnvironment {
  /** The home whose .ssh folder is read; os.homedir() by default. */
  home?: string;
  /** SSH_AUTH_SOCK by default. */
  agent?: string;
  /** The local user name, for addresses without user@. */
  localUser?: string;
}

/** The keywords of ~/.ssh/config that apply to `alias`: the first value wins, IdentityFile accumulates. */
export function sshConfigFor(text: string, alias: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let applies = true;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1].toLowerCase();
    const value = m[2].trim();
    if (key === 'host') {
      applies = hostMatches(alias, value.split(/\s+/));
      continue;
    }
    // Match blocks need ssh's own evaluation (exec, canonical names): their settings are not applied.
    if (key === 'match') {
      applies = false;
      continue;
    }
    if (!applies) continue;
    const v = value.replace(/^"(.*)"$/, '$1');
    if (key === 'identityfile' || key === 'userknownhostsfile') {
      if (!out.has(key) || key === 'identityfile') out.set(key, [...(out.get(key) ?? []), ...(key === 'userknownhostsfile' ? v.split(/\s+/) : [v])]);
    } else if (!out.has(key)) {
      out.set(key, [v]);
    }
  }
  return out;
}

/** ssh's pattern lists: `*` and `?` wildcards, `!` negates and wins. */
export function hostMatches(host: string, patterns: string[]): boolean {
  let hit = false;
  for (const p of patterns) {
    const neg = p.startsWith('!');
    const re = new RegExp('^' + (neg ? p.slice(1) : p).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
    if (re.test(host)) {
      if (neg) return false;
      hit = true;
    }
  }
  return hit;
}

/** Parses ssh://[user@]host[:port] and applies ~/.ssh/config. */
export function parseSshAddress(address: string, source: string, env: SshEnvironment = {}): SshTarget {
  let u: URL;
  try {
    u = new URL(address);
  } catch {
    throw new TransportError(`${source}: "${address}" is not a valid ssh address; use ssh://user@host or ssh://user@host:port`);
  }
  if (!u.hostname) throw new TransportError(`${source}: "${address}" names no host; use ssh://user@host or ssh://user@host:port`);
  if (u.password) throw new TransportError(`${source}: "${address}" contains a password; passwords are not used: load your key into ssh-agent or name it with IdentityFile in ~/.ssh/config, and remove the password from the address.`);
  if (u.pathname && u.pathname !== '/' && u.pathname !== '') throw new TransportError(`${source}: "${address}" has a path (${u.pathname}); an ssh engine address is ssh://user@host[:port] with nothing after the port.`);
  const home = env.home ?? os.homedir();
  const alias = u.hostname.replace(/^\[(.*)\]$/, '$1');
  let conf = new Map<string, string[]>();
  const confFile = path.join(home, '.ssh', 'config');
  try {
    conf = sshConfigFor(fs.readFileSync(confFile, 'utf8'), alias);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new TransportError(`${source}: ${confFile} cannot be read (${(e as NodeJS.ErrnoException).code}); fix its permissions or remove it.`);
  }
  const one = (k: string) => conf.get(k)?.[0];
  const expand = (p: string) => p.replace(/^~(?=\/|$)/, home).replace(/%d/g, home).replace(/%h/g, alias).replace(/%%/g, '%');
  const portText = u.port || one('port') || '22';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TransportError(`${source}: port "${portText}" of ${address} is not a port number (1-65535).`);
  const user = decodeURIComponent(u.username) || one('user') || env.localUser || os.userInfo().username;
  const host = (one('hostname') ?? alias).replace(/%h/g, alias);
  const identityAgent = one('identityagent');
  let agent = env.agent ?? process.env.SSH_AUTH_SOCK;
  if (identityAgent) agent = identityAgent === 'none' ? undefined : identityAgent === 'SSH_AUTH_SOCK' ? agent : expand(identityAgent);
  const configured = (conf.get('identityfile') ?? []).map(expand);
  const defaults = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((n) => path.join(home, '.ssh', n)).filter((f) => fs.existsSync(f));
  const identitiesOnly = one('identitiesonly')?.toLowerCase() === 'yes';
  if (identitiesOnly) agent = undefined;
  const known = conf.get('userknownhostsfile')?.map(expand) ?? [path.join(home, '.ssh', 'known_hosts'), path.join(home, '.ssh', 'known_hosts2')];
  return {
    alias, host, port, user, agent,
    identityFiles: configured.length ? configured : defaults,
    knownHostsFiles: [...known, '/etc/ssh/ssh_known_hosts'],
  };
}

// ---------------------------------------------------------------- host keys

/** The name a host has in known_hosts: "host" on port 22, else "[host]:port". */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The key's type from its wire form (string type, then the key's fields). */
export function keyType(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const n = key.readUInt32BE(0);
  return key.subarray(4, 4 + n).toString('latin1');
}

/** SHA256 fingerprint as ssh prints it: base64 without padding. */
export function fingerprint(key: Buffer): string {
  return 'SHA256:' + crypto.createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** "ED25519" for ssh-ed25519, as ssh names key types in its messages. */
function typeName(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type === 'ssh-rsa') return 'RSA';
  if (type.startsWith('ecdsa-')) return 'ECDSA';
  return type;
}

interface KnownKey {
  file: string;
  line: number;
  type: string;
  key: Buffer;
  revoked: boolean;
}

function nameMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    // Hashed entry: |1|base64(salt)|base64(HMAC-SHA1(salt, name)).
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return crypto.createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return hostMatches(name, field.split(','));
}

/** Every key that known_hosts files give for `name` (files that do not exist are skipped). */
export function knownKeys(files: string[], name: string): KnownKey[] {
  const out: KnownKey[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    text.split('\n').forEach((raw, i) => {
      let parts = raw.trim().split(/\s+/);
      if (!parts[0] || parts[0].startsWith('#')) return;
      let revoked = false;
      if (parts[0].startsWith('@')) {
        // Certificate authorities would need certificate checks that this client does not do: skip them.
        if (parts[0] !== '@revoked') return;
        revoked = true;
        parts = parts.slice(1);
      }
      if (parts.length < 3 || !nameMatches(parts[0], name)) return;
      out.push({ file, line: i + 1, type: parts[1], key: Buffer.from(parts[2], 'base64'), revoked });
    });
  }
  return out;
}

export type HostKeyVerdict =
  | { ok: true }
  | { ok: false; kind: 'unknown' | 'changed' | 'revoked'; message: string };

/** Decides whether the key `key` that `host:port` presented is the one known_hosts pins. */
export function checkHostKey(target: Pick<SshTarget, 'host' | 'port' | 'user' | 'knownHostsFiles'>, key: Buffer): HostKeyVerdict {
  const name = knownHostsName(target.host, target.port);
  const type = keyType(key);
  const fp = fingerprint(key);
  const known = knownKeys(target.knownHostsFiles, name);
  const trust = `ssh ${target.port === 22 ? '' : `-p ${target.port} `}${target.user}@${target.host}`;
  const revoked = known.find((k) => k.revoked && k.key.equals(key));
  if (revoked) {
    return { ok: false, kind: 'revoked', message: `The ssh host key of ${name} (${typeName(type)} ${fp}) is marked @revoked in ${revoked.file} line ${revoked.line}; the connection was refused. Ask the host's administrator for its current key.` };
  }
  if (known.some((k) => !k.revoked && k.key.equals(key))) return { ok: true };
  const sameType = known.find((k) => !k.revoked && k.type === type);
  if (sameType) {
    return {
      ok: false, kind: 'changed',
      message: `The ssh host key of ${name} has CHANGED: it now presents ${typeName(type)} key ${fp}, which does not match ${sameType.file} line ${sameType.line}. Someone may be intercepting the connection, or the host was reinstalled; the connection was refused. If the change is expected, remove the old key with: ssh-keygen -R '${name}'${sameType.file.startsWith('/etc/') ? ` -f ${sameType.file}` : ''}, then run: ${trust}, compare the fingerprint with the host's administrator and accept it.`,
    };
  }
  return {
    ok: false, kind: 'unknown',
    message: `The ssh host key of ${name} is not known (${typeName(type)} key ${fp}); the connection was refused. Compare this fingerprint with the one the host's administrator gives you (on the host: ssh-keygen -lf /etc/ssh/ssh_host_${type === 'ssh-ed25519' ? 'ed25519' : type === 'ssh-rsa' ? 'rsa' : 'ecdsa'}_key.pub), then trust it by running: ${trust}, and answering yes, which adds it to ~/.ssh/known_hosts.`,
  };
}

/** Host key algorithms with the types known_hosts has for this host first, as ssh orders them, so a known key is the one offered. */
function hostKeyOrder(known: KnownKey[]): string[] {
  const all = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  const types = new Set(known.filter((k) => !k.revoked).map((k) => k.type));
  const wanted = (a: string) => types.has(a) || (a.startsWith('rsa-sha2-') && types.has('ssh-rsa'));
  return [...all.filter(wanted), ...all.filter((a) => !wanted(a))];
}

// ---------------------------------------------------------------- the ssh connection

/** The engine's ssh host key was refused; the message says which key and how to trust it. */
export class HostKeyError extends Error {
  constructor(readonly verdict: Exclude<HostKeyVerdict, { ok: true }>) {
    super(verdict.message);
  }
}

/** Private keys to offer, read now so a bad file is named before any connection. */
export function readIdentities(target: SshTarget, source: string): { file: string; key: Buffer }[] {
  const out: { file: string; key: Buffer }[] = [];
  for (const file of target.identityFiles) {
    let key: Buffer;
    try {
      key = fs.readFileSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new TransportError(`${source}: the ssh key ${file} (IdentityFile) does not exist; fix the IdentityFile line in ~/.ssh/config or create the key with ssh-keygen.`);
      throw new TransportError(`${source}: the ssh key ${file} cannot be read (${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code}); make it readable by your user (chmod 600).`);
    }
    const parsed = sshUtils.parseKey(key);
    if (parsed instanceof Error) {
      if (/passphrase/i.test(parsed.message)) {
        // An encrypted key needs its passphrase, which only the agent can hold for us.
        if (!target.agent) throw new TransportError(`${source}: the ssh key ${file} is protected by a passphrase; add it to ssh-agent (ssh-add ${file}) and make sure SSH_AUTH_SOCK is set for VS Code.`);
        continue;
      }
      throw new TransportError(`${source}: ${file} is not an ssh private key this client can use (${parsed.message}); name an OpenSSH or PEM private key.`);
    }
    out.push({ file, key });
  }
  return out;
}

/** net.Socket's setTimeout for a channel: 'timeout' after `ms` without data either way, so http's request timeouts work over ssh too. */
function idleTimeout(s: Duplex): (ms: number, cb?: () => void) => Duplex {
  let timer: NodeJS.Timeout | undefined;
  let ms = 0;
  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = ms > 0 ? setTimeout(() => s.emit('timeout'), ms) : undefined;
  };
  let listening = false;
  s.once('close', () => timer && clearTimeout(timer));
  return (next: number, cb?: () => void) => {
    ms = next;
    // Listening for data only once asked: by then http reads this stream itself.
    if (!listening && ms > 0) {
      listening = true;
      s.on('data', arm);
    }
    if (cb) s.once('timeout', cb);
    arm();
    return s;
  };
}

/** sshd allows 10 sessions per connection by default; beyond this many channels a second connection opens. */
const MAX_CHANNELS = 8;

interface Conn {
  client: Client;
  ready: Promise<void>;
  channels: number;
  /** Channels this connection may carry; lowered when the host refuses one. */
  limit: number;
  closed: boolean;
}

export interface SshAgentOptions {
  /** Endpoint label for messages. */
  label: string;
  /** First wait after a failed connection; doubles up to maxBackoffMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  readyTimeoutMs?: number;
  /** The command run on the host; Docker's CLI bridges stdin/stdout to the engine's socket. */
  command?: string;
}

/**
 * An http.Agent whose sockets are ssh channels running `docker system
 * dial-stdio` on the host. Connections are shared by all requests (one
 * handshake, not one per call), re-established on demand after a drop, with
 * a backoff after a failure: while it runs, calls fail at once with the last
 * reason instead of hammering the host.
 */
export class SshDialAgent extends http.Agent {
  private conns: Conn[] = [];
  private lastError?: Error;
  private retryAt = 0;
  private backoff: number;
  private readonly identities: { file: string; key: Buffer }[];

  constructor(readonly target: SshTarget, private readonly opts: SshAgentOptions) {
    // Channels are kept for the next request: each new one runs `docker system dial-stdio` on the host
    // (a process start there, tenths of a second on a busy host). A few idle ones stay open.
    super({ keepAlive: true, maxFreeSockets: 4 });
    this.backoff = opts.minBackoffMs ?? 500;
    this.identities = readIdentities(target, opts.label);
  }

  /** Called by http for each request: a fresh dial-stdio channel. */
  override createConnection(_options: unknown, cb: (err: Error | null, stream?: Duplex) => void): undefined {
    this.channel().then((s) => cb(null, s), (e: Error) => cb(e));
    return undefined;
  }

  private async channel(retry = true): Promise<Duplex> {
    const conn = await this.connection();
    try {
      const stream = await new Promise<ClientChannel>((resolve, reject) => {
        conn.client.exec(this.opts.command ?? 'docker system dial-stdio', (err, s) => (err ? reject(err) : resolve(s)));
      });
      stream.once('close', () => this.release(conn));
      // http calls these on sockets; a channel has no such knobs.
      const s = stream as unknown as Duplex & Record<string, unknown>;
      for (const m of ['setKeepAlive', 'setNoDelay', 'ref', 'unref']) s[m] ??= () => s;
      s.setTimeout = idleTimeout(s);
      stream.stderr.on('data', (b: Buffer) => {
        // dial-stdio writes its own failures (no engine on the host) here, before any answer.
        const text = b.toString().trim();
        if (text && !s.readableDidRead) s.destroy(new Error(`on ${this.target.host}: ${text}`));
      });
      return s;
    } catch (e) {
      this.release(conn);
      // The host allows fewer sessions per connection than we thought: treat this one as full and use another.
      if (retry && /open failed/.test((e as Error).message)) {
        conn.limit = Math.max(1, conn.channels);
        return this.channel(false);
      }
      throw e;
    }
  }

  private release(conn: Conn): void {
    conn.channels = Math.max(0, conn.channels - 1);
    // Keep the first connection warm; extra ones close when idle.
    if (conn.channels === 0 && this.conns.indexOf(conn) > 0) conn.client.end();
  }

  /** A connection with a channel reserved on it (counted at once, so concurrent requests spread). */
  private async connection(): Promise<Conn> {
    this.conns = this.conns.filter((c) => !c.closed);
    let conn = this.conns.find((c) => c.channels < c.limit);
    if (!conn) {
      if (this.lastError && Date.now() < this.retryAt) throw this.lastError;
      conn = this.connect();
      this.conns.push(conn);
      conn.ready.then(() => {
        this.lastError = undefined;
        this.backoff = this.opts.minBackoffMs ?? 500;
      }, (e: Error) => {
        this.lastError = e;
        this.retryAt = Date.now() + this.backoff;
        this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 30_000);
      });
    }
    conn.channels++;
    try {
      await conn.ready;
    } catch (e) {
      conn.channels--;
      throw e;
    }
    return conn;
  }

  private connect(): Conn {
    const client = new Client();
    const t = this.target;
    let refused: HostKeyError | undefined;
    const known = knownKeys(t.knownHostsFiles, knownHostsName(t.host, t.port));
    const methods: (AgentAuthMethod | PublicKeyAuthMethod)[] = [];
    if (t.agent) methods.push({ type: 'agent', username: t.user, agent: t.agent });
    for (const id of this.identities) methods.push({ type: 'publickey', username: t.user, key: id.key });
    const config: ConnectConfig = {
      host: t.host,
      port: t.port,
      username: t.user,
      readyTimeout: this.opts.readyTimeoutMs ?? 10_000,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: hostKeyOrder(known) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
      authHandler: methods,
      hostVerifier: (key: Buffer) => {
        const v = checkHostKey(t, key);
        if (!v.ok) refused = new HostKeyError(v);
        return v.ok;
      },
    };
    const conn: Conn = { client, channels: 0, limit: MAX_CHANNELS, closed: false, ready: Promise.resolve() };
    conn.ready = new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.on('error', (e: Error & { level?: string }) => {
        conn.closed = true;
        reject(refused ?? this.explain(e));
      });
      client.once('close', () => {
        conn.closed = true;
        reject(refused ?? new Error(`the ssh connection to ${t.host}:${t.port} closed`));
      });
    });
    // The error also goes to ready's rejection; avoid an unhandled one when no request waits.
    conn.ready.catch(() => undefined);
    // Even without a key to offer, connect: the host key is checked first, and its verdict matters more.
    client.connect(config);
    return conn;
  }

  private explain(e: Error & { level?: string; code?: string }): Error {
    const t = this.target;
    if (e.level === 'client-authentication' && !t.agent && this.identities.length === 0) {
      return new Error(`no ssh key to log in to ${t.host}:${t.port} with: no ssh-agent (SSH_AUTH_SOCK is not set) and no key file (~/.ssh/id_ed25519, id_ecdsa, id_rsa, or IdentityFile in ~/.ssh/config). Create a key with ssh-keygen and add its .pub to ~${t.user}/.ssh/authorized_keys on the host.`);
    }
    if (e.level === 'client-authentication') {
      return new Error(`ssh refused the login of ${t.user} on ${t.host}:${t.port} with the keys offered (${[t.agent ? 'ssh-agent' : '', ...this.identities.map((i) => i.file)].filter(Boolean).join(', ')}); add your public key to ~${t.user}/.ssh/authorized_keys on the host, or name the right key with IdentityFile in ~/.ssh/config.`);
    }
    if (e.level === 'client-timeout') return Object.assign(new Error(`the ssh handshake with ${t.host}:${t.port} timed out`), { code: 'ETIMEDOUT' });
    return e;
  }

  /** Closes every ssh connection; later requests open new ones. */
  override destroy(): void {
    for (const c of this.conns) c.client.end();
    this.conns = [];
    super.destroy();
  }
}
