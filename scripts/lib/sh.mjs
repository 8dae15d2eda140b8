// Small process helpers for the bench scripts. Arguments are always passed as
// arrays, never through a shell, so no path or tag is ever interpolated.
import { spawn, spawnSync } from 'node:child_process';

export function log(...args) {
  console.log('[bench-env]', ...args);
}

/** Runs a command to completion; throws with its stderr on a non-zero exit. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || '').slice(-2000)}`);
  }
  return r;
}

/** Like run() but streams output to this process's output (for long installs). */
export function runLoud(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

export function which(cmd) {
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export const isRoot = () => process.getuid?.() === 0;

let aptUpdated = false;
/** Installs Debian packages that are missing. Needs root. */
export async function aptEnsure(pkgs) {
  const missing = pkgs.filter((p) => run('dpkg-query', ['-W', '-f=${Status}', p], { allowFail: true }).stdout.indexOf('install ok installed') < 0);
  if (missing.length === 0) return;
  if (!isRoot()) throw new Error(`missing Debian packages ${missing.join(' ')}; install them as root: apt-get install -y ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    log('apt-get update');
    await runLoud('apt-get', ['update', '-q'], { env });
    aptUpdated = true;
  }
  log('apt-get install', missing.join(' '));
  await runLoud('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env });
}
