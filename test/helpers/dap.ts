// A DebugClient on the bundled adapter (dist/debugAdapter.js) that records
// every DAP message, so a failing test can print the whole conversation.
import path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { projectRoot } from './paths';
import { nextEvent } from './events';

export class TracedClient extends DebugClient {
  readonly trace: string[] = [];

  constructor(env: Record<string, string> = {}, user?: { uid: number; gid: number }) {
    super('node', path.join(projectRoot, 'dist/debugAdapter.js'), 'sidecar', { env: { ...process.env, ...env }, ...user }, true);
    this.defaultTimeout = 30_000;
    const self = this as unknown as { dispatch(body: string): void; send(c: string, a?: unknown): Promise<DebugProtocol.Response> };
    const dispatch = self.dispatch.bind(this);
    self.dispatch = (body: string) => {
      this.trace.push(`<- ${body}`);
      dispatch(body);
    };
    const send = self.send.bind(this);
    self.send = (command: string, args?: unknown) => {
      this.trace.push(`-> ${command} ${JSON.stringify(args ?? {})}`);
      return send(command, args);
    };
  }

  /** Runs `fn`; on failure prints the DAP trace and rethrows. */
  async traced<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      console.error(`DAP trace (${this.trace.length} messages):\n${this.trace.join('\n')}`);
      throw err;
    }
  }

  /** Waits for an event that satisfies `pred` (the plain waitForEvent takes the first of its kind). */
  waitFor<E extends DebugProtocol.Event>(event: string, pred: (e: E) => boolean = () => true, timeout = 30_000): Promise<E> {
    return nextEvent(this, event, pred, timeout);
  }
}
