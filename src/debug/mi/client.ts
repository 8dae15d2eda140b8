// The MI connection: writes tokened commands to gdb's stdin, matches result
// records to them, and turns async and stream records into events. It knows
// nothing of how gdb is run (a sidecar's attached stdio, a local process).
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { type MiRecord, type MiTuple, parseMiLine, str } from './parser';

/** gdb answered ^error; `message` is gdb's own text, fit for the debug console. */
export class MiError extends Error {
  constructor(readonly command: string, message: string, readonly code?: string) {
    super(message);
  }
}

/** gdb went away (exit, stream closed) before it answered. */
export class GdbGoneError extends Error {}

export interface MiResult {
  cls: 'done' | 'running' | 'connected' | 'exit';
  results: MiTuple;
}

export interface MiClientEvents {
  exec: [cls: string, results: MiTuple];
  notify: [cls: string, results: MiTuple];
  stream: [kind: 'console' | 'target' | 'log', text: string];
  /** A line that is not MI (the inferior's own output, or a gdb warning on stderr). */
  raw: [line: string];
  close: [];
}

interface Pending {
  command: string;
  resolve: (r: MiResult) => void;
  reject: (e: Error) => void;
}

export class MiClient extends EventEmitter<MiClientEvents> {
  private nextToken = 1;
  private readonly pending = new Map<number, Pending>();
  private buffer = '';
  private closed = false;
  /** Every line in and out, for a trace on failure. */
  onTrace?: (dir: '>' | '<', line: string) => void;

  constructor(stdout: Readable, private readonly stdin: Writable) {
    super();
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => this.feed(chunk));
    const gone = () => this.close();
    stdout.on('end', gone);
    stdout.on('close', gone);
    stdout.on('error', gone);
    stdin.on('error', gone);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one MI command (without token or newline) and resolves with its result record. */
  send(command: string): Promise<MiResult> {
    if (/[\r\n]/.test(command)) return Promise.reject(new Error('An MI command must be one line.'));
    if (this.closed) return Promise.reject(new GdbGoneError(`gdb has exited; "${command}" was not sent.`));
    const token = this.nextToken++;
    return new Promise<MiResult>((resolve, reject) => {
      this.pending.set(token, { command, resolve, reject });
      const line = `${token}${command}`;
      this.onTrace?.('>', line);
      this.stdin.write(line + '\n');
    });
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim()) this.handleLine(line);
    }
  }

  private handleLine(line: string): void {
    this.onTrace?.('<', line);
    let rec: MiRecord;
    try {
      rec = parseMiLine(line);
    } catch {
      this.emit('raw', line);
      return;
    }
    switch (rec.type) {
      case 'prompt':
        return;
      case 'console':
      case 'target':
      case 'log':
        this.emit('stream', rec.type, rec.text);
        return;
      case 'exec':
        this.emit('exec', rec.cls, rec.results);
        return;
      case 'notify':
      case 'status':
        this.emit('notify', rec.cls, rec.results);
        return;
      case 'result': {
        const p = rec.token === undefined ? undefined : this.pending.get(rec.token);
        if (!p) return;
        this.pending.delete(rec.token!);
        if (rec.cls === 'error') p.reject(new MiError(p.command, str(rec.results.msg) ?? 'gdb reported an error', str(rec.results.code)));
        else p.resolve({ cls: rec.cls, results: rec.results });
      }
    }
  }

  /** Marks the connection closed and fails whatever is still waiting. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [, p] of this.pending) p.reject(new GdbGoneError(`gdb exited before answering "${p.command}".`));
    this.pending.clear();
    this.emit('close');
  }
}
