// `npm run bench [-- --only <group or id>]`: runs the side-by-side benchmarks
// in out/test/bench/*.bench.js, prints a table, and writes every figure to
// test-output/bench.json. For timings, ratio = value / baselineValue (lower is better).
// It stands up the same bench as `npm test` (engine, images, code-server,
// Chromium): the explorer group runs in code-server's extension host, opened
// by Chromium.
import fs from 'node:fs';
import path from 'node:path';
import { ensureNodeModules, root } from './lib/deps.mjs';

const argv = process.argv.slice(2);
const only = argv.flatMap((a, i) => (a === '--only' ? [argv[i + 1]] : []));
// Benches whose parts are slow may skip the figures not asked for.
if (only.length) process.env.SIDECAR_BENCH_ONLY = only.join(',');

await ensureNodeModules();
const { runLoud } = await import('./lib/sh.mjs');
await runLoud(process.execPath, [path.join(root, 'scripts/build.mjs'), '--tests'], { cwd: root });
// The webview group opens the workbench with the packaged extension, as a user has it.
if (!only.length || only.some((o) => o.startsWith('webview'))) await runLoud('npm', ['run', '--silent', 'package'], { cwd: root });
const { standUp } = await import('./lib/bench.mjs');
const bench = await standUp();

const dir = path.join(root, 'out/test/bench');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.bench.js')).sort();
const figures = [];
try {
  for (const f of files) {
    const group = f.replace(/\.bench\.js$/, '');
    const mod = await import(path.join(dir, f));
    const wanted = (id) => only.length === 0 || only.some((o) => group === o || id.startsWith(o));
    if (only.length && !only.some((o) => group === o || (mod.ids ?? []).some((id) => id.startsWith(o)))) continue;
    console.log(`\n--- ${group} ---`);
    const report = (fig) => {
      if (!wanted(fig.id)) return;
      const full = { ratio: fig.baselineValue ? fig.value / fig.baselineValue : null, ...fig };
      figures.push(full);
      const r = full.ratio === null ? '' : `  ratio ${full.ratio.toFixed(2)}x`;
      const b = full.baseline ? `  vs ${full.baseline} ${Number(full.baselineValue).toFixed(2)} ${full.unit}` : '';
      console.log(`${full.id.padEnd(36)} ${Number(full.value).toFixed(2)} ${full.unit}${b}${r}${full.target ? `  (target ${full.target})` : ''}`);
    };
    // `wanted` lets a group skip the parts --only did not ask for.
    await (mod.default ?? mod).run(report, wanted);
  }
} finally {
  await bench.engine.stop();
}
fs.mkdirSync(path.join(root, 'test-output'), { recursive: true });
const out = path.join(root, 'test-output/bench.json');
// Keep figures of groups not run this time, so --only does not erase them.
const previous = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : [];
const merged = [...previous.filter((p) => !figures.some((f) => f.id === p.id)), ...figures];
fs.writeFileSync(out, JSON.stringify(merged, null, 2) + '\n');
console.log('\n' + ['id', 'value', 'unit', 'baseline', 'baselineValue', 'ratio'].join('\t'));
for (const f of figures) console.log([f.id, +Number(f.value).toFixed(3), f.unit, f.baseline ?? '', f.baselineValue === undefined ? '' : +Number(f.baselineValue).toFixed(3), f.ratio === null ? '' : f.ratio.toFixed(2) + 'x'].join('\t'));
console.log(`wrote ${figures.length} figures to test-output/bench.json`);
