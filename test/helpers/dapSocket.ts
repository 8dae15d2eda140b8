// A plain DAP client over a TCP socket (Content-Length framing), with no
// adapter of ours in between: the baseline that tests and benchmarks compare
// the relay against, and a way to talk to a debugger's own DAP server.
import net from 'node:net';
import { EventEmitter } from 'node:events';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapFramer, encodeDap } from '../../src/debug/dapRelay';
import { nextEvent } from './events';

export class DapSocket extends EventEmitter {
  readonly trace: string[] = [];
  private seq = 1;
  private readonly framer = new DapFramer((m) => this.onMessage(m));
  private readonly pending = new Map<number, { resolve: (r: DebugProtocol.Response) => void; reject: (e: Error) => void }>();

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.on('data', (b: Buffer) => this.framer.push(b));
    socket.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('the DAP connection closed'));
      this.pending.clear();
      this.emit('close');
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<DapSocket> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new DapSocket(s)));
      // As a debugger client should: small requests go out at once, not after the peer's delayed ACK.
      s.setNoDelay(true);
      s.once('error', reject);
    });
  }

  /** Sends a request; resolves with a successful response, rejects with the error message of a failed one. */
  async request<R extends DebugProtocol.Response = DebugProtocol.Response>(command: string, args?: unknown, timeoutMs = 30_000): Promise<R> {
    const seq = this.seq++;
    const request = { seq, type: 'request', command, arguments: args };
    this.trace.push(`-> ${JSON.stringify(request)}`);
    const answer = new Promise<DebugProtocol.Response>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`no answer to "${command}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, { resolve: (r) => { clearTimeout(timer); resolve(r); }, reject: (e) => { clearTimeout(timer); reject(e); } });
    });
    this.socket.write(encodeDap(request));
    const r = await answer;
    // delve puts the detail into body.error.format and only a summary into message.
    if (!r.success) throw new Error((r as DebugProtocol.ErrorResponse).body?.error?.format ?? r.message ?? `${command} failed`);
    return r as R;
  }

  /** The next event named `event` that satisfies `pred`. */
  waitFor<E extends DebugProtocol.Event>(event: string, pred: (e: E) => boolean = () => true, timeoutMs = 30_000): Promise<E> {
    return nextEvent(this, event, pred, timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }

  private onMessage(msg: DebugProtocol.ProtocolMessage): void {
    this.trace.push(`<- ${JSON.stringify(msg)}`);
    if (msg.type === 'response') {
      const r = msg as DebugProtocol.Response;
      this.pending.get(r.request_seq)?.resolve(r);
      this.pending.delete(r.request_seq);
    } else if (msg.type === 'event') {
      this.emit((msg as DebugProtocol.Event).event, msg);
    }
  }
}
