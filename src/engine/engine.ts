// The one object that talks to a Docker Engine. Every call turns connection
// failures into EngineUnavailableError so callers can show a useful message.
import type Docker from 'dockerode';
import { createClient, type Endpoint, explainEngineError } from './connection';
import { type ContainerDetail, type ContainerModel, toContainerDetail, toContainerModel } from './containers';

/** The container does not exist (any more). */
export class NoSuchContainerError extends Error {
  constructor(readonly ref: string) {
    super(`Container ${ref} does not exist; it may have been removed.`);
  }
}

export class Engine {
  readonly docker: Docker;

  constructor(readonly endpoint: Endpoint) {
    this.docker = createClient(endpoint);
  }

  /** Runs an engine call and explains connection failures. */
  async call<T>(fn: (d: Docker) => Promise<T>): Promise<T> {
    try {
      return await fn(this.docker);
    } catch (err) {
      throw explainEngineError(this.endpoint.label, err);
    }
  }

  async ping(): Promise<void> {
    await this.call((d) => d.ping());
  }

  async listContainers(): Promise<ContainerModel[]> {
    const list = await this.call((d) => d.listContainers({ all: true }));
    return list.map(toContainerModel);
  }

  async inspect(ref: string): Promise<ContainerDetail> {
    try {
      return toContainerDetail(await this.call((d) => d.getContainer(ref).inspect()));
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw new NoSuchContainerError(ref);
      throw err;
    }
  }
}
