// Installs node_modules with `npm ci` when it is missing or older than the lockfile,
// so `npm test` and `npm run demo` work on a fresh clone.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { log, runLoud } from './sh.mjs';

export const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

export async function ensureNodeModules() {
  const lock = fs.readFileSync(path.join(root, 'package-lock.json'));
  const want = crypto.createHash('sha256').update(lock).digest('hex');
  const stamp = path.join(root, 'node_modules', '.container-sidecar-lock');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return;
  log('node_modules is missing or stale: npm ci');
  await runLoud('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root });
  fs.writeFileSync(stamp, want);
}
