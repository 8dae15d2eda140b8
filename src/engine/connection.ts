// Where the Docker Engine is, and one dockerode client for it.
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { HostKeyError, parseSshAddress, plainTcpWarning, readIdentities, readTls, type SshEnvironment, SshDialAgent, type SshTarget, tlsFilesIn, type TlsFiles, TransportError } from './transport';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Where an engine came from (src/engine/discovery.ts). */
export type EngineSource = 'setting' | 'environment' | 'context' | 'default' | 'podman';

export interface Endpoint {
  /** What the user sees, e.g. "unix:///var/run/docker.sock". */
  label: string;
  options: Docker.DockerOptions;
  /**
   * Stable short id ([a-z0-9-]) naming the engine in container: URIs, launch
   * configurations and sidecar labels. Set by discovery; absent means the
   * only (default) engine.
   */
  id?: string;
  /** Display name: the context name, the host, or "Podman". */
  name?: string;
  source?: EngineSource;
  /** A risk the tooltip shows, e.g. an engine over plain tcp. */
  warning?: string;
  /** For ssh:// engines: where and how to log in; createClient opens the connection on first use. */
  ssh?: SshTarget;
}

/** What an address alone cannot say: TLS files (from a setting, DOCKER_CERT_PATH or a context) and ssh's home. */
export interface EndpointExtras {
  tls?: TlsFiles;
  ssh?: SshEnvironment;
}

/** A setting or variable that cannot be used; the message names it and the fix. */
export class SettingsError extends Error {}

/** The engine cannot be reached; the message names the endpoint, the cause and a fix. */
export class EngineUnavailableError extends Error {
  constructor(readonly endpoint: string, readonly reason: string, readonly hint: string) {
    super(`No Docker Engine answers at ${endpoint}: ${reason}. ${hint}`);
  }
}

/**
 * Parses one address: unix:///path, a bare socket path, tcp://host:port
 * (TLS when `extras.tls` names files), https://host:port, or
 * ssh://[user@]host[:port]. Files named are read now, so a missing
 * certificate or an unreadable key is reported here, as a SettingsError.
 */
export function parseEndpoint(address: string, source: string, extras: EndpointExtras = {}): Endpoint {
  const a = address.trim();
  try {
    if (a.startsWith('unix://')) {
      const socketPath = a.slice('unix://'.length);
      if (!socketPath.startsWith('/')) throw new SettingsError(`${source}: "${address}" needs an absolute socket path, like unix:///var/run/docker.sock`);
      return { label: a, options: { socketPath } };
    }
    if (a.startsWith('/')) return { label: `unix://${a}`, options: { socketPath: a } };
    if (a.startsWith('tcp://') || a.startsWith('http://') || a.startsWith('https://')) {
      let u: URL;
      try {
        u = new URL(a.replace(/^tcp:/, 'http:'));
      } catch {
        throw new SettingsError(`${source}: "${address}" is not a valid address; use tcp://host:port`);
      }
      if (!u.hostname) throw new SettingsError(`${source}: "${address}" names no host; use tcp://host:port`);
      const files = extras.tls ?? {};
      const hasFiles = !!(files.ca || files.cert || files.key);
      if (a.startsWith('http://') && hasFiles) throw new SettingsError(`${source}: "${address}" says http:// but TLS files are given; write tcp://${u.host} or https://${u.host}.`);
      const tls = a.startsWith('https://') || hasFiles;
      const options: Docker.DockerOptions = { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port || (tls ? 2376 : 2375)), protocol: tls ? 'https' : 'http' };
      if (tls) Object.assign(options, readTls(files, source));
      return { label: a, options, warning: tls ? undefined : plainTcpWarning(a) };
    }
    if (a.startsWith('ssh://')) {
      const ssh = parseSshAddress(a, source, extras.ssh);
      readIdentities(ssh, source);
      return { label: a, options: { host: ssh.host, port: ssh.port, protocol: 'http' }, ssh };
    }
  } catch (e) {
    if (e instanceof TransportError) throw new SettingsError(e.message);
    throw e;
  }
  throw new SettingsError(`${source}: "${address}" is not a Docker endpoint; use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host`);
}

/**
 * Chooses the endpoint: the first entry of the `sidecar.engines` setting,
 * else DOCKER_HOST (with the CLI's TLS variables), else the default socket.
 */
export function resolveEndpoint(engines: unknown, env: NodeJS.ProcessEnv = process.env): Endpoint {
  if (engines !== undefined && engines !== null) {
    if (!Array.isArray(engines) || engines.some((e) => typeof e !== 'string')) {
      throw new SettingsError('The setting sidecar.engines must be a list of addresses such as ["unix:///var/run/docker.sock"]');
    }
    if (engines.length > 0) return parseEndpoint(engines[0] as string, 'The setting sidecar.engines');
  }
  if (env.DOCKER_HOST) return parseEndpoint(env.DOCKER_HOST, 'DOCKER_HOST', { tls: dockerCliTls(env) });
  return { label: `unix://${DEFAULT_SOCKET}`, options: { socketPath: DEFAULT_SOCKET } };
}

/**
 * The docker CLI's TLS variables for DOCKER_HOST: DOCKER_TLS_VERIFY or
 * DOCKER_CERT_PATH means TLS with ca.pem, cert.pem and key.pem from
 * DOCKER_CERT_PATH (else ~/.docker). Without them, none.
 */
function dockerCliTls(env: NodeJS.ProcessEnv): TlsFiles | undefined {
  if (!env.DOCKER_TLS_VERIFY && !env.DOCKER_CERT_PATH) return undefined;
  const dir = env.DOCKER_CERT_PATH || env.DOCKER_CONFIG || path.join(os.homedir(), '.docker');
  const files = tlsFilesIn(dir);
  if (!files.ca && !files.cert && !files.key) {
    throw new SettingsError(`DOCKER_TLS_VERIFY or DOCKER_CERT_PATH asks for TLS, but ${dir} holds none of ca.pem, cert.pem and key.pem; point DOCKER_CERT_PATH at the folder that holds them.`);
  }
  return files;
}

/** Turns a socket or HTTP failure into an EngineUnavailableError with a fix. */
export function explainEngineError(endpoint: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException & { statusCode?: number };
  if (err instanceof EngineUnavailableError || err instanceof HostKeyError) return err;
  switch (e?.code) {
    case 'ENOENT':
      return new EngineUnavailableError(endpoint, 'the socket does not exist', 'Start Docker, or point DOCKER_HOST or the setting sidecar.engines at a running engine.');
    case 'ECONNREFUSED':
      return new EngineUnavailableError(endpoint, 'the connection was refused', 'Start Docker, or point DOCKER_HOST or the setting sidecar.engines at a running engine.');
    case 'EACCES':
    case 'EPERM':
      return new EngineUnavailableError(endpoint, 'permission denied on the socket', 'Add your user to the docker group (then log in again), or use an engine you may reach.');
    case 'ETIMEDOUT':
    case 'ECONNRESET':
    case 'EPIPE':
      return new EngineUnavailableError(endpoint, `the connection failed (${e.code})`, 'Check that the engine is running and reachable.');
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return new EngineUnavailableError(endpoint, `its TLS certificate was not accepted (${e.code}: ${e.message})`, 'Give the CA that signed the engine\'s certificate (ca.pem), and reach the engine by a name or address its certificate lists.');
    case 'EPROTO':
      return new EngineUnavailableError(endpoint, `the TLS handshake failed (${e.message})`, 'Check that the engine speaks TLS on that port, and that it accepts your client certificate (cert.pem and key.pem signed by its CA).');
  }
  // The engine's TLS alerts (bad certificate, certificate required): it did not accept our client certificate.
  if (typeof e?.code === 'string' && /^ERR_SSL_.*(CERTIFICATE|ALERT)/.test(e.code)) {
    return new EngineUnavailableError(endpoint, `the engine refused the TLS handshake (${e.code})`, 'An engine started with --tlsverify needs a client certificate and key signed by its CA: give cert.pem and key.pem.');
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function createClient(endpoint: Endpoint): Docker {
  if (endpoint.ssh) {
    // dockerode's own ssh support opens a new ssh connection per request and
    // accepts any host key; our agent shares one connection and checks the key.
    const agent = new SshDialAgent(endpoint.ssh, { label: endpoint.label });
    // The agent decides where bytes go. A socketPath (never opened: the agent makes every
    // connection) keeps VS Code's proxy support away: in the extension host it replaces the agent of
    // every host/port request with its own, which then looked up a host named after our placeholder.
    return new Docker({ socketPath: `/container-sidecar-ssh/${endpoint.ssh.host}:${endpoint.ssh.port}`, protocol: 'http', timeout: undefined, agent } as Docker.DockerOptions);
  }
  return new Docker({ ...endpoint.options, timeout: undefined });
}

/** Closes what a client holds open beyond single requests (the ssh connections). */
export function closeClient(docker: Docker): void {
  const agent = (docker.modem as { agent?: { destroy?(): void } }).agent;
  agent?.destroy?.();
}
