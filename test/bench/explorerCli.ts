// The CLI route of the explorer benchmark. Other work on this machine creates
// and removes containers while we measure, so `docker inspect` may name an id
// that just went away: it then still prints the rest and exits 1, which is the
// same work done, so the exit code is not an error here.
import { spawn } from 'node:child_process';

export function cliInspect(ids: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('docker', ['inspect', ...ids], { stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.on('error', reject);
    p.on('exit', () => resolve(Buffer.concat(out).toString()));
  });
}
