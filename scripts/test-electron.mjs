// `npm run test:electron`: the integration tier in a VS Code downloaded by
// @vscode/test-electron, for machines that can download it (not this bench).
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { ensureNodeModules, root } from './lib/deps.mjs';

await ensureNodeModules();
const { runLoud } = await import('./lib/sh.mjs');
await runLoud(process.execPath, [path.join(root, 'scripts/build.mjs'), '--tests'], { cwd: root });
const { runTests } = await import('@vscode/test-electron');
const results = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cs-electron-')), 'results.jsonl');
process.env.SIDECAR_TEST_RESULTS = results;
await runTests({
  version: '1.99.3',
  extensionDevelopmentPath: root,
  extensionTestsPath: path.join(root, 'out/test/integration/index.js'),
  launchArgs: ['--disable-extensions', fs.mkdtempSync(path.join(os.tmpdir(), 'cs-ws-'))],
});
const lines = fs.readFileSync(results, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => !l.done);
for (const l of lines) console.log(`${l.ok ? 'ok' : 'not ok'} - ${l.name}${l.ok ? '' : `\n${l.error}`}`);
const failed = lines.filter((l) => !l.ok).length;
console.log(`${lines.length - failed} passed, ${failed} failed`);
process.exit(failed || !lines.length ? 1 : 0);
