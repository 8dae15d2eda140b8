// The one object that talks to a Docker Engine. Every call turns connection
// failures into EngineUnavailableError so callers can show a useful message.
import type Docker from 'dockerode';
import { closeClient, createClient, type Endpoint, EngineUnavailableError, explainEngineError } from './connection';
import { type ContainerDetail, type ContainerModel, toContainerDetail, toContainerModel } from './containers';

/** The container does not exist (any more). */
export class NoSuchContainerError extends Error {
  constructor(readonly ref: string) {
    super(`Container ${ref} does not exist; it may have been removed.`);
  }
}

/**
 * How long a request may wait for its answer. An engine that accepts the
 * connection and never answers (a hung daemon, a half-open tunnel) is then
 * "not answering" within 5 s, and the other engines are not held up by it.
 */
export const DEFAULT_DEADLINE_MS = 4000;

export interface EngineOptions {
  deadlineMs?: number;
}

export class Engine {
  readonly docker: Docker;
  readonly deadlineMs: number;

  constructor(readonly endpoint: Endpoint, opts: EngineOptions = {}) {
    this.docker = createClient(endpoint);
    this.deadlineMs = opts.deadlineMs ?? DEFAULT_DEADLINE_MS;
  }

  /** The id that names this engine in URIs and labels; "default" for an engine no discovery named. */
  get id(): string {
    return this.endpoint.id ?? 'default';
  }

  /** What the user sees: the context name, the host, or "Podman". */
  get name(): string {
    return this.endpoint.name ?? this.endpoint.label;
  }

  /** Runs an engine call and explains connection failures. */
  async call<T>(fn: (d: Docker) => Promise<T>): Promise<T> {
    try {
      return await fn(this.docker);
    } catch (err) {
      throw explainEngineError(this.endpoint.label, err);
    }
  }

  /**
   * A call whose answer (for a stream: its headers) must come within the
   * deadline; otherwise the request is aborted and the engine is "not answering".
   */
  async ask<T>(fn: (d: Docker, signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new EngineUnavailableError(this.endpoint.label, `not answering (no reply within ${this.deadlineMs / 1000} s)`, 'Check that the engine is running and not overloaded; it is tried again by itself.'));
        abort.abort();
      }, this.deadlineMs);
    });
    try {
      return await Promise.race([this.call((d) => fn(d, abort.signal)), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes connections the client keeps open (ssh); the object must not be used afterwards. */
  dispose(): void {
    closeClient(this.docker);
  }

  /**
   * The id written on the containers it returns (ContainerModel.engineId, and
   * so the engine label of their sidecars). EngineSet sets it for every engine
   * but the default one, whose containers stay unnamed like its URIs.
   */
  dataId: string | undefined;

  private stamp<T extends ContainerModel>(c: T): T {
    if (this.dataId) c.engineId = this.dataId;
    return c;
  }

  async ping(): Promise<void> {
    // dockerode's ping takes an abortSignal; its types do not say so.
    await this.ask((d, abortSignal) => (d.ping as (o: object) => Promise<unknown>)({ abortSignal }));
  }

  async listContainers(): Promise<ContainerModel[]> {
    const list = await this.ask((d, abortSignal) => d.listContainers({ all: true, abortSignal }));
    return list.map((c) => this.stamp(toContainerModel(c)));
  }

  async inspect(ref: string): Promise<ContainerDetail> {
    try {
      return this.stamp(toContainerDetail(await this.ask((d, abortSignal) => d.getContainer(ref).inspect({ abortSignal }))));
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw new NoSuchContainerError(ref);
      throw err;
    }
  }
}
