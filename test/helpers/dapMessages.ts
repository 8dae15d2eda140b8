// A small DAP client over any message channel: the relay in process (its
// handleMessage/onDidSendMessage, as VS Code drives it) or a TCP socket. It
// records every message so a failing test can print the conversation.
import net from 'node:net';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapFramer, encodeDap } from '../../src/debug/dapRelay';

type Message = DebugProtocol.ProtocolMessage;

export class DapMessages {
  readonly trace: string[] = [];
  readonly events: DebugProtocol.Event[] = [];
  private seq = 1;
  private readonly pending = new Map<number, (r: DebugProtocol.Response) => void>();
  private readonly waiters = new Set<(e: DebugProtocol.Event) => boolean>();

  constructor(private readonly send: (m: Message) => void) {}

  /** Feeds a message from the adapter. */
  receive(m: Message): void {
    this.trace.push(`<- ${JSON.stringify(m).slice(0, 600)}`);
    if (m.type === 'response') {
      const r = m as DebugProtocol.Response;
      this.pending.get(r.request_seq)?.(r);
      this.pending.delete(r.request_seq);
    } else if (m.type === 'event') {
      const e = m as DebugProtocol.Event;
      this.events.push(e);
      for (const w of [...this.waiters]) if (w(e)) this.waiters.delete(w);
    }
  }

  /** Sends a request; resolves with the response, successful or not. */
  request<R extends DebugProtocol.Response = DebugProtocol.Response>(command: string, args?: unknown, timeoutMs = 120_000): Promise<R> {
    const seq = this.seq++;
    const req = { seq, type: 'request', command, arguments: args } as DebugProtocol.Request;
    this.trace.push(`-> ${JSON.stringify(req).slice(0, 600)}`);
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to "${command}" within ${timeoutMs} ms`)), timeoutMs);
      this.pending.set(seq, (r) => {
        clearTimeout(timer);
        resolve(r as R);
      });
      this.send(req);
    });
  }

  /** Like request, but a failed response rejects with its message. */
  async ok<R extends DebugProtocol.Response = DebugProtocol.Response>(command: string, args?: unknown, timeoutMs?: number): Promise<R> {
    const r = await this.request<R>(command, args, timeoutMs);
    if (!r.success) throw new Error(`${command} failed: ${r.message}`);
    return r;
  }

  /** An event named `event` that satisfies `pred`: the first received since index `from` of `events` (default: any so far), else the next. */
  waitEvent<E extends DebugProtocol.Event>(event: string, pred: (e: E) => boolean = () => true, timeoutMs = 120_000, from = 0): Promise<E> {
    const seen = this.events.slice(from).find((e) => e.event === event && pred(e as E));
    if (seen) return Promise.resolve(seen as E);
    return new Promise<E>((resolve, reject) => {
      const w = (e: DebugProtocol.Event) => {
        if (e.event !== event || !pred(e as E)) return false;
        clearTimeout(timer);
        resolve(e as E);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(w);
    });
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
}

/** A client of an in-process adapter with the shape of vscode.DebugAdapter (the relay). */
export function adapterClient(adapter: { handleMessage(m: Message): void; onDidSendMessage(l: (m: Message) => void): unknown }): DapMessages {
  const c = new DapMessages((m) => adapter.handleMessage(m));
  adapter.onDidSendMessage((m) => c.receive(m));
  return c;
}

/** A client of a DAP server on a host loopback port. */
export async function socketClient(port: number): Promise<{ client: DapMessages; socket: net.Socket }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.setNoDelay(true);
  const client = new DapMessages((m) => socket.write(encodeDap(m)));
  const framer = new DapFramer((m) => client.receive(m));
  socket.on('data', (b: Buffer) => framer.push(b));
  return { client, socket };
}
