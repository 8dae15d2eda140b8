// `npm test`: installs what is missing, builds, stands up the bench (engine,
// images, code-server, Chromium), runs every tier with node's test runner, and
// ends with "N passed, N failed".
// Options: --tier unit|integration|e2e (repeatable), --skip-setup
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ensureNodeModules, root } from './lib/deps.mjs';

const argv = process.argv.slice(2);
const tiers = argv.flatMap((a, i) => (a === '--tier' ? [argv[i + 1]] : []));
const ALL = ['unit', 'integration', 'e2e'];
const run = tiers.length ? tiers : ALL;
const out = path.join(root, 'test-output');
fs.mkdirSync(out, { recursive: true });

await ensureNodeModules();
const { runLoud } = await import('./lib/sh.mjs');
await runLoud(process.execPath, [path.join(root, 'scripts/build.mjs'), '--tests'], { cwd: root });
if (run.includes('e2e')) await runLoud('npm', ['run', '--silent', 'package'], { cwd: root });

const { standUp } = await import('./lib/bench.mjs');
const bench = await standUp({ codeServer: run.some((t) => t !== 'unit') });

function tier(name) {
  // The spec reporter's summary is read back from the output: a file reporter
  // may lose its tail when --test-force-exit ends the run.
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [
      '--test', '--test-concurrency=1', '--test-timeout=900000',
      // A test file whose tests all finished must not hang the run on a leaked handle.
      '--test-force-exit',
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      path.join(root, 'out/test', name),
    ], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    let text = '';
    p.stdout.on('data', (b) => {
      process.stdout.write(b);
      text += b.toString();
    });
    // 'close', not 'exit': all of stdout has been read by then.
    p.on('close', (code) => {
      fs.writeFileSync(path.join(out, `${name}.log`), text);
      const count = (k) => Number((text.match(new RegExp(`^\\S* ?${k} (\\d+)$`, 'm')) ?? [0, 0])[1]);
      resolve({ name, pass: count('pass'), fail: count('fail') + count('cancelled'), code });
    });
  });
}

// Containers that tests or the extension create carry one of these labels.
// Only those made during this run are removed, so a concurrent run is left alone.
const { spawnSync } = await import('node:child_process');
const labelled = () => ['io.container-sidecar.test', 'io.container-sidecar.managed=true'].flatMap((l) =>
  spawnSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=${l}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean));
const before = new Set(labelled());

const results = [];
try {
  for (const t of run) {
    console.log(`\n=== ${t} tier ===`);
    results.push(await tier(t));
  }
} finally {
  // Leave nothing behind: test containers, then the engine if this run started it.
  const left = labelled().filter((id) => !before.has(id));
  if (left.length) {
    console.log(`removing ${left.length} container(s) left behind by the tests`);
    spawnSync('docker', ['rm', '-f', ...left], { stdio: 'ignore' });
  }
  await bench.engine.stop();
}

let passed = 0;
let failed = 0;
for (const r of results) {
  console.log(`${r.name}: ${r.pass} passed, ${r.fail} failed${r.code !== 0 && r.fail === 0 ? ` (runner exited ${r.code})` : ''}`);
  passed += r.pass;
  failed += r.fail + (r.code !== 0 && r.fail === 0 ? 1 : 0);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
