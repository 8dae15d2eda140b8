// Waiting for an emitter's event that satisfies a condition, with a deadline:
// the DAP test clients and the engine event tests wait this way.
import type { EventEmitter } from 'node:events';

/** The next `event` that satisfies `pred`; `what` names it in the timeout's message. */
export function nextEvent<T>(source: EventEmitter, event: string, pred: (e: T) => boolean = () => true, timeoutMs = 30_000, what = `a "${event}" event`): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      source.off(event, on);
      reject(new Error(`timed out waiting for ${what} (${timeoutMs} ms)`));
    }, timeoutMs);
    const on = (e: T) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      source.off(event, on);
      resolve(e);
    };
    source.on(event, on);
  });
}
