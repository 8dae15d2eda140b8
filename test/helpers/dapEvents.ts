// Both DAP test clients wait for events the same way.
import type { EventEmitter } from 'node:events';
import type { DebugProtocol } from '@vscode/debugprotocol';

/** The next `event` that satisfies `pred` (a client's plain wait takes the first of its kind). */
export function nextEvent<E extends DebugProtocol.Event>(source: EventEmitter, event: string, pred: (e: E) => boolean = () => true, timeoutMs = 30_000): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      source.off(event, on);
      reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (e: E) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      source.off(event, on);
      resolve(e);
    };
    source.on(event, on);
  });
}
