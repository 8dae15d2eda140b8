// The engine's container events as one stream that survives engine restarts:
// when the stream ends or cannot be opened, it reconnects with exponential
// backoff, and says `reconnected` once so consumers refresh a single time
// (events that happened while disconnected are not replayed).
import { EventEmitter } from 'node:events';
import type Docker from 'dockerode';
import type { Engine } from './engine';
import { onJsonLines } from './jsonLines';

/** The container actions the views care about. */
export const CONTAINER_ACTIONS = ['create', 'start', 'die', 'destroy', 'rename', 'pause', 'unpause', 'health_status', 'stop', 'kill', 'restart'] as const;

export interface ContainerEvent {
  /** The base action, e.g. "health_status" for "health_status: healthy". */
  action: string;
  /** The full action text from the engine. */
  rawAction: string;
  id: string;
  name?: string;
  /** Engine time in ms. */
  time: number;
  attributes: Record<string, string>;
}

export interface EventStreamOptions {
  /** First retry delay; doubles up to maxDelayMs. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export type StreamState = { connected: true } | { connected: false; error: string; retryInMs: number };

interface RawEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  timeNano?: number;
  time?: number;
}

export function parseEvent(raw: RawEvent): ContainerEvent | undefined {
  if ((raw.Type ?? 'container') !== 'container') return undefined;
  const rawAction = raw.Action ?? raw.status ?? '';
  const base = rawAction.split(':')[0].trim();
  // Podman says "remove" where Docker says "destroy" (checked with Podman 4.3's compatible API).
  const action = base === 'remove' ? 'destroy' : base;
  const id = raw.Actor?.ID ?? raw.id;
  if (!id || !(CONTAINER_ACTIONS as readonly string[]).includes(action)) return undefined;
  const attributes = raw.Actor?.Attributes ?? {};
  return { action, rawAction, id, name: attributes.name, time: raw.timeNano ? raw.timeNano / 1e6 : (raw.time ?? 0) * 1000, attributes };
}

/**
 * Events: `event` (ContainerEvent), `state` (StreamState), `reconnected` (a
 * stream opened after a failure; not on a first connect that just works).
 */
export class EngineEvents extends EventEmitter {
  private stream: NodeJS.ReadableStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private stopped = false;
  private lost = false;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  state: StreamState = { connected: false, error: 'not started', retryInMs: 0 };

  constructor(private readonly engine: Engine, opts: EventStreamOptions = {}) {
    super();
    this.minDelay = opts.minDelayMs ?? 250;
    this.maxDelay = opts.maxDelayMs ?? 10_000;
    this.delay = this.minDelay;
  }

  start(): this {
    this.stopped = false;
    void this.connect();
    return this;
  }

  /** Retries now instead of waiting out the backoff (e.g. the user pressed Refresh). */
  retryNow(): void {
    if (this.stopped || this.stream) return;
    clearTimeout(this.timer);
    this.delay = this.minDelay;
    void this.connect();
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    let stream: NodeJS.ReadableStream;
    try {
      // The deadline covers the stream's headers: a hung engine is "not answering", and retried.
      stream = await this.engine.ask((d, abortSignal) => d.getEvents({ filters: { type: ['container'] }, abortSignal } as Docker.GetEventsOptions));
    } catch (err) {
      this.lose(err);
      return;
    }
    if (this.stopped) {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      return;
    }
    this.stream = stream;
    this.delay = this.minDelay;
    this.setState({ connected: true });
    // After any failure (a lost stream, or an engine that was down at the
    // first try) consumers must reload once: the gap's events are gone.
    if (this.lost) this.emit('reconnected');
    this.lost = false;
    // A malformed line is dropped; the safety poll covers what it said.
    onJsonLines(stream, (raw) => {
      const ev = parseEvent(raw as RawEvent);
      if (ev) this.emit('event', ev);
    });
    let ended = false;
    const onEnd = (err?: unknown) => {
      if (ended) return;
      ended = true;
      this.stream = undefined;
      if (!this.stopped) this.lose(err ?? new Error('the event stream ended'));
    };
    stream.on('end', () => onEnd());
    stream.on('close', () => onEnd());
    stream.on('error', (e: unknown) => onEnd(e));
  }

  private lose(err: unknown): void {
    if (this.stopped) return;
    this.lost = true;
    const retryInMs = this.delay;
    this.setState({ connected: false, error: err instanceof Error ? err.message : String(err), retryInMs });
    this.timer = setTimeout(() => void this.connect(), retryInMs);
    this.delay = Math.min(this.delay * 2, this.maxDelay);
  }

  private setState(s: StreamState): void {
    this.state = s;
    this.emit('state', s);
  }

  dispose(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const s = this.stream as unknown as { destroy?: () => void } | undefined;
    this.stream = undefined;
    s?.destroy?.();
    this.removeAllListeners();
  }
}
