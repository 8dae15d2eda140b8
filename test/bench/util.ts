// Shared pieces for side-by-side benchmarks: both sides run in the same
// process and the same minute, interleaved, and we compare medians.
import { spawn } from 'node:child_process';

export interface Figure {
  id: string;
  value: number;
  unit: string;
  baseline?: string;
  baselineValue?: number;
  ratio?: number | null;
  target?: string;
}
export type Report = (f: Figure) => void;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** Runs `ours` and `theirs` alternately `n` times (after a warm-up) and returns both medians. */
export async function sideBySide(n: number, ours: () => Promise<unknown>, theirs: () => Promise<unknown>): Promise<{ ours: number; theirs: number }> {
  await ours();
  await theirs();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    a.push(await timeMs(ours));
    b.push(await timeMs(theirs));
  }
  return { ours: median(a), theirs: median(b) };
}

/** Runs a command (argv array, no shell) and resolves with its stdout. */
export function exec(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(Buffer.concat(out).toString()) : reject(new Error(`${cmd} exited ${code}: ${Buffer.concat(err)}`))));
  });
}
