// Drives the DAP relay in-process the way VS Code drives the inline adapter:
// requests in through handleMessage, responses and events out.
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { DapRelay } from '../../src/debug/dapRelay';

/** The same calls as DapSocket, on an in-process relay (as VS Code drives the inline adapter). */
export class RelayClient {
  private seq = 1;
  private readonly waiting = new Map<number, (r: DebugProtocol.Response) => void>();
  private readonly listeners: ((e: DebugProtocol.Event) => void)[] = [];

  constructor(readonly relay: DapRelay) {
    relay.onDidSendMessage((m) => {
      if (m.type === 'response') {
        const r = m as DebugProtocol.Response;
        this.waiting.get(r.request_seq)?.(r);
        this.waiting.delete(r.request_seq);
      } else if (m.type === 'event') {
        for (const l of [...this.listeners]) l(m as DebugProtocol.Event);
      }
    });
  }

  async request<R extends DebugProtocol.Response = DebugProtocol.Response>(command: string, args?: unknown): Promise<R> {
    const seq = this.seq++;
    const answer = new Promise<DebugProtocol.Response>((resolve) => this.waiting.set(seq, resolve));
    this.relay.handleMessage({ seq, type: 'request', command, arguments: args } as DebugProtocol.Request);
    const r = await answer;
    if (!r.success) throw new Error((r as DebugProtocol.ErrorResponse).body?.error?.format ?? r.message);
    return r as R;
  }

  waitFor<E extends DebugProtocol.Event>(event: string, pred: (e: E) => boolean = () => true): Promise<E> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${event}" within 30 s`)), 30_000);
      const on = (e: DebugProtocol.Event) => {
        if (e.event !== event || !pred(e as E)) return;
        clearTimeout(timer);
        this.listeners.splice(this.listeners.indexOf(on), 1);
        resolve(e as E);
      };
      this.listeners.push(on);
    });
  }
}

