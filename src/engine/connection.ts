// Where the Docker Engine is, and one dockerode client for it.
import Docker from 'dockerode';

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
}

/** A setting or variable that cannot be used; the message names it and the fix. */
export class SettingsError extends Error {}

/** The engine cannot be reached; the message names the endpoint, the cause and a fix. */
export class EngineUnavailableError extends Error {
  constructor(readonly endpoint: string, readonly reason: string, readonly hint: string) {
    super(`No Docker Engine answers at ${endpoint}: ${reason}. ${hint}`);
  }
}

/** Parses one address: unix:///path, tcp://host:port, or a bare socket path. */
export function parseEndpoint(address: string, source: string): Endpoint {
  const a = address.trim();
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
    const tls = u.protocol === 'https:';
    return { label: a, options: { host: u.hostname, port: Number(u.port || (tls ? 2376 : 2375)), protocol: tls ? 'https' : 'http' } };
  }
  throw new SettingsError(`${source}: "${address}" is not a Docker endpoint; use unix:///path/to/docker.sock or tcp://host:port`);
}

/**
 * Chooses the endpoint: the first entry of the `sidecar.engines` setting,
 * else DOCKER_HOST, else the default socket.
 */
export function resolveEndpoint(engines: unknown, env: NodeJS.ProcessEnv = process.env): Endpoint {
  if (engines !== undefined && engines !== null) {
    if (!Array.isArray(engines) || engines.some((e) => typeof e !== 'string')) {
      throw new SettingsError('The setting sidecar.engines must be a list of addresses such as ["unix:///var/run/docker.sock"]');
    }
    if (engines.length > 0) return parseEndpoint(engines[0] as string, 'The setting sidecar.engines');
  }
  if (env.DOCKER_HOST) return parseEndpoint(env.DOCKER_HOST, 'DOCKER_HOST');
  return { label: `unix://${DEFAULT_SOCKET}`, options: { socketPath: DEFAULT_SOCKET } };
}

/** Turns a socket or HTTP failure into an EngineUnavailableError with a fix. */
export function explainEngineError(endpoint: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException & { statusCode?: number };
  if (err instanceof EngineUnavailableError) return err;
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
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function createClient(endpoint: Endpoint): Docker {
  return new Docker({ ...endpoint.options, timeout: undefined });
}
