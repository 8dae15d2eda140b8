// Every engine the user has: the entries of `sidecar.engines`, and with the
// entry "auto" (the default) what this machine has: DOCKER_HOST (with
// DOCKER_CERT_PATH and DOCKER_TLS_VERIFY), the Docker CLI's contexts read from
// its store (without running the CLI), the default socket and Podman's
// sockets. Merged, de-duplicated by endpoint, minus `sidecar.hiddenEngines`.
// No vscode import: the caller passes the settings in.
//
// The first engine is the default one: a container: URI, launch configuration
// or command that names no engine means it. With "auto" first, it is the one
// the docker CLI would use: DOCKER_HOST, else the current context, else the
// default socket.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SOCKET, type Endpoint, type EngineSource, parseEndpoint, SettingsError } from './connection';

export const ROOTFUL_PODMAN_SOCKET = '/run/podman/podman.sock';
/** The entry of `sidecar.engines` that stands for the engines found on this machine. */
export const AUTO = 'auto';

export interface DiscoveryInput {
  /** The setting sidecar.engines (user value or default). */
  engines?: unknown;
  /** The setting sidecar.hiddenEngines. */
  hidden?: unknown;
  env?: NodeJS.ProcessEnv;
  /** Home folder, for ~/.docker when DOCKER_CONFIG is unset. */
  home?: string;
  /** Overrides for tests: where the default Docker and rootful Podman sockets are. */
  defaultSocket?: string;
  podmanSocket?: string;
}

export interface Discovery {
  /** The engines to show; the first is the default. Never empty unless every entry was bad or hidden. */
  engines: Endpoint[];
  /** One sentence per bad setting entry or unreadable context: what is wrong and the fix. */
  problems: string[];
}

interface Candidate extends Endpoint {
  id: string;
  name: string;
  source: EngineSource;
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}

/** A short id for URIs and labels: lower case letters, digits and dashes. */
export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'engine';
}

/** The host part of an endpoint, for a display name: a socket path, host:port, or user@host. */
function hostOf(e: Endpoint): string {
  return e.label.replace(/^[a-z]+:\/\//, '');
}

/** Two entries for one engine (e.g. /var/run/docker.sock and /run/docker.sock) count once. */
function endpointKey(e: Endpoint): string {
  const o = e.options;
  if (o.socketPath) {
    try {
      return `unix:${fs.realpathSync(o.socketPath)}`;
    } catch {
      return `unix:${o.socketPath}`;
    }
  }
  if (o.host) return `${o.protocol ?? 'http'}://${o.username ? `${o.username}@` : ''}${String(o.host).toLowerCase()}:${o.port ?? ''}`;
  return e.label;
}

/** Reads a PEM file for TLS; a missing file is a problem naming where it was looked for. */
function readTls(dir: string, what: string, problems: string[]): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const f of ['ca', 'cert', 'key'] as const) {
    const p = path.join(dir, `${f}.pem`);
    try {
      out[f] = fs.readFileSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') problems.push(`${what}: cannot read ${p} (${code ?? String(e)}); fix its permissions or remove it.`);
    }
  }
  if ((out.cert && !out.key) || (out.key && !out.cert)) {
    problems.push(`${what}: ${dir} holds ${out.cert ? 'cert.pem but no key.pem' : 'key.pem but no cert.pem'}; a client certificate needs both.`);
    delete out.cert;
    delete out.key;
  }
  return out;
}

/**
 * TLS material turns a tcp endpoint into https. Verification of the engine's
 * certificate always stays on (with the given CA, else the system's).
 */
function withTls(e: Endpoint, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer }, explicitPort: boolean): Endpoint {
  // ssh endpoints carry options.host too (for display); TLS files do not apply to them.
  if (!e.options.host || e.ssh || e.options.protocol === 'ssh') return e;
  const options = { ...e.options, ...tls, protocol: 'https' as const };
  if (!explicitPort) options.port = 2376;
  return { ...e, label: e.label.replace(/^(tcp|http):/, 'https:'), options, warning: undefined };
}

const hasPort = (address: string) => /^[a-z]+:\/\/(\[[^\]]*\]|[^/:]*):\d+/i.test(address.trim());

/** The docker CLI's config folder: DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(env: NodeJS.ProcessEnv, home = os.homedir()): string {
  return env.DOCKER_CONFIG || path.join(home, '.docker');
}

interface StoredContext {
  name: string;
  host: string;
  dir: string;
}

/** The contexts in the CLI's store: contexts/meta/<sha256 of the name>/meta.json. */
function readContexts(configDir: string, problems: string[]): StoredContext[] {
  const metaRoot = path.join(configDir, 'contexts', 'meta');
  let dirs: string[];
  try {
    dirs = fs.readdirSync(metaRoot);
  } catch {
    return [];
  }
  const out: StoredContext[] = [];
  for (const dir of dirs.sort()) {
    const file = path.join(metaRoot, dir, 'meta.json');
    let meta: { Name?: unknown; Endpoints?: { docker?: { Host?: unknown } } };
    try {
      meta = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      problems.push(`The Docker context in ${file} cannot be read (${e instanceof SyntaxError ? 'not valid JSON' : (e as NodeJS.ErrnoException).code ?? String(e)}); fix it or remove it with docker context rm.`);
      continue;
    }
    const host = meta.Endpoints?.docker?.Host;
    if (typeof meta.Name !== 'string' || typeof host !== 'string' || !host) {
      problems.push(`The Docker context in ${file} has no ${typeof meta.Name !== 'string' ? 'Name' : 'docker endpoint Host'}; recreate it with docker context create.`);
      continue;
    }
    out.push({ name: meta.Name, host, dir });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function fromContext(c: StoredContext, configDir: string, problems: string[]): Candidate | undefined {
  const what = `Docker context "${c.name}"`;
  try {
    const base = parseEndpoint(c.host, what);
    const tlsDir = path.join(configDir, 'contexts', 'tls', c.dir, 'docker');
    const tls = fs.existsSync(tlsDir) ? readTls(tlsDir, what, problems) : {};
    const e = Object.keys(tls).length ? withTls(base, tls, hasPort(c.host)) : base;
    return { ...e, id: slug(c.name), name: c.name, source: 'context' };
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

/** DOCKER_HOST with the CLI's TLS variables: any DOCKER_TLS_VERIFY or DOCKER_CERT_PATH means TLS. */
function fromEnvironment(env: NodeJS.ProcessEnv, configDir: string, problems: string[]): Candidate | undefined {
  const host = env.DOCKER_HOST!;
  try {
    const base = parseEndpoint(host, 'DOCKER_HOST');
    const tlsWanted = !!env.DOCKER_TLS_VERIFY || !!env.DOCKER_CERT_PATH;
    const e = tlsWanted ? withTls(base, readTls(env.DOCKER_CERT_PATH || configDir, 'DOCKER_CERT_PATH', problems), hasPort(host)) : base;
    return { ...e, id: 'docker-host', name: hostOf(e), source: 'environment' };
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

/** What "auto" stands for, the CLI's own choice first. */
function autoEngines(input: DiscoveryInput, problems: string[]): Candidate[] {
  const env = input.env ?? process.env;
  const configDir = dockerConfigDir(env, input.home);
  const out: Candidate[] = [];
  let current: string | undefined = env.DOCKER_CONTEXT;
  if (!current) {
    try {
      const cfg = JSON.parse(fs.readFileSync(path.join(configDir, 'config.json'), 'utf8')) as { currentContext?: unknown };
      if (typeof cfg.currentContext === 'string') current = cfg.currentContext;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${path.join(configDir, 'config.json')} cannot be read (${e instanceof SyntaxError ? 'not valid JSON' : (e as NodeJS.ErrnoException).code}); fix it so its currentContext counts.`);
    }
  }
  const contexts = readContexts(configDir, problems)
    .map((c) => fromContext(c, configDir, problems))
    .filter((c): c is Candidate => !!c);
  if (env.DOCKER_HOST) {
    const e = fromEnvironment(env, configDir, problems);
    if (e) out.push(e);
  } else if (current && current !== 'default') {
    const c = contexts.find((x) => x.name === current);
    if (c) out.push(c);
    else problems.push(`The current Docker context "${current}" (${env.DOCKER_CONTEXT ? 'DOCKER_CONTEXT' : 'currentContext in config.json'}) is not in ${path.join(configDir, 'contexts')}; choose another with docker context use.`);
  }
  out.push(...contexts.filter((c) => !out.includes(c)));
  const socket = input.defaultSocket ?? DEFAULT_SOCKET;
  const docker: Candidate = { label: `unix://${socket}`, options: { socketPath: socket }, id: 'docker', name: 'Docker', source: 'default' };
  if (isSocket(socket)) out.push(docker);
  const podman = input.podmanSocket ?? ROOTFUL_PODMAN_SOCKET;
  if (isSocket(podman)) out.push({ label: `unix://${podman}`, options: { socketPath: podman }, id: 'podman', name: 'Podman', source: 'podman' });
  const rootless = env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock') : undefined;
  if (rootless && isSocket(rootless)) out.push({ label: `unix://${rootless}`, options: { socketPath: rootless }, id: 'podman-user', name: 'Podman (rootless)', source: 'podman' });
  // Nothing found: the default socket stays, so the view names what it tried.
  if (out.length === 0) out.push(docker);
  return out;
}

/** One entry of sidecar.engines: an address, or { host, name?, certPath? }. */
function fromSetting(entry: unknown, index: number, problems: string[]): Candidate | undefined {
  const where = `The setting sidecar.engines (entry ${index + 1})`;
  const shape = 'an address such as "unix:///var/run/docker.sock" or "tcp://host:2376", "auto", or { "host": "...", "name": "...", "certPath": "<folder with ca.pem, cert.pem, key.pem>" }';
  let host: unknown = entry;
  let name: unknown;
  let certPath: unknown;
  if (entry && typeof entry === 'object' && !Array.isArray(entry)) {
    ({ host, name, certPath } = entry as Record<string, unknown>);
    if (name !== undefined && (typeof name !== 'string' || !name.trim())) {
      problems.push(`${where}: "name" must be a non-empty text; use ${shape}.`);
      return undefined;
    }
    if (certPath !== undefined && (typeof certPath !== 'string' || !path.isAbsolute(certPath))) {
      problems.push(`${where}: "certPath" must be an absolute folder path holding ca.pem, cert.pem and key.pem.`);
      return undefined;
    }
  }
  if (typeof host !== 'string' || !host.trim()) {
    problems.push(`${where} is ${JSON.stringify(entry)}; use ${shape}.`);
    return undefined;
  }
  try {
    let e = parseEndpoint(host, 'The setting sidecar.engines');
    if (typeof certPath === 'string') {
      if (!fs.existsSync(certPath)) {
        problems.push(`${where}: the certPath ${certPath} does not exist; point it at the folder with ca.pem, cert.pem and key.pem.`);
        return undefined;
      }
      e = withTls(e, readTls(certPath, where, problems), hasPort(host));
    }
    const display = typeof name === 'string' ? name.trim() : hostOf(e);
    return { ...e, id: slug(display), name: display, source: 'setting' };
  } catch (err) {
    problems.push(err instanceof SettingsError ? err.message : `${where}: ${String(err)}`);
    return undefined;
  }
}

function hiddenList(hidden: unknown, problems: string[]): string[] {
  if (hidden === undefined || hidden === null) return [];
  if (!Array.isArray(hidden) || hidden.some((h) => typeof h !== 'string')) {
    problems.push('The setting sidecar.hiddenEngines must be a list of engine names, ids or addresses, such as ["Podman", "unix:///run/podman/podman.sock"]; it is ignored until then.');
    return [];
  }
  return hidden.map((h: string) => h.trim().toLowerCase());
}

/** Hidden by its id, name, address, or its kind: "context(s)", "podman", "environment", "default". */
function isHidden(e: Candidate, hidden: string[]): boolean {
  const keys = [e.id, e.name, e.label, e.source, `${e.source}s`].map((k) => k.toLowerCase());
  return hidden.some((h) => keys.includes(h));
}

export function discoverEngines(input: DiscoveryInput = {}): Discovery {
  const problems: string[] = [];
  let entries: unknown[] = [AUTO];
  const setting = input.engines;
  if (setting !== undefined && setting !== null) {
    if (!Array.isArray(setting)) problems.push('The setting sidecar.engines must be a list, such as ["auto", "tcp://build-box:2376"]; the engines found on this machine are used until then.');
    else if (setting.length > 0) entries = setting;
  }
  const candidates: Candidate[] = [];
  entries.forEach((entry, i) => {
    if (typeof entry === 'string' && entry.trim().toLowerCase() === AUTO) candidates.push(...autoEngines(input, problems));
    else {
      const c = fromSetting(entry, i, problems);
      if (c) candidates.push(c);
    }
  });
  const hidden = hiddenList(input.hidden, problems);
  const seen = new Set<string>();
  const ids = new Set<string>();
  const engines: Endpoint[] = [];
  // Hidden first: hiding the contexts must not take away the default socket they shared an endpoint with.
  for (const c of candidates.filter((x) => !isHidden(x, hidden))) {
    const key = endpointKey(c);
    if (seen.has(key)) continue;
    seen.add(key);
    let id = c.id;
    for (let n = 2; ids.has(id); n++) id = `${c.id}-${n}`;
    ids.add(id);
    engines.push({ ...c, id });
  }
  return { engines, problems };
}

/** The context store's folder name for a context: the sha256 of its name (as the docker CLI writes it). */
export function contextDirName(name: string): string {
  return crypto.createHash('sha256').update(name).digest('hex');
}
