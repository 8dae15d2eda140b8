// Bundles the extension (and the webviews entry) with esbuild, and transpiles
// sources and tests one-to-one into out/ for the test runners.
// Usage: node scripts/build.mjs [--production] [--tests]
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const production = process.argv.includes('--production');
const withTests = process.argv.includes('--tests');

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: production,
  sourcemap: !production,
  logLevel: 'warning',
  // ssh2 (through dockerode) loads optional native add-ons inside try/catch;
  // leave them out so the bundle falls back to pure JavaScript.
  external: ['vscode', 'cpu-features', '*.node'],
};

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : /\.ts$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

// No clean step: several builds may run at once on a shared checkout, and
// esbuild overwrites every output it owns.
await esbuild.build({
  ...common,
  entryPoints: { extension: path.join(root, 'src/extension.ts'), debugAdapter: path.join(root, 'src/debug/adapterMain.ts') },
  outdir: path.join(root, 'dist'),
});
// The files helper's resolver (native/resolver.c): a static binary the
// extension imports as a one-file image, so it runs on any engine.
execFileSync('gcc', ['-static', '-O2', '-s', '-Wall', '-o', path.join(root, 'dist/resolver'), path.join(root, 'native/resolver.c')], { stdio: 'inherit' });
// The webview pages: one bundle per panel (the map alone carries cytoscape) and one style sheet.
// Always minified: every load of a page fetches its bundle through the webview's service worker
// and parses it again (cytoscape is a megabyte unminified), so tests and benchmarks should see what ships.
await esbuild.build({
  ...common,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  minify: true,
  entryPoints: { map: path.join(root, 'webviews/map.ts'), details: path.join(root, 'webviews/details.ts'), panels: path.join(root, 'webviews/panels.css') },
  outdir: path.join(root, 'dist/webviews'),
});

if (withTests) {
  await esbuild.build({
    entryPoints: [...walk(path.join(root, 'src')), ...walk(path.join(root, 'test')), path.join(root, 'webviews/protocol.ts')],
    outdir: path.join(root, 'out'),
    outbase: root,
    bundle: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
}
console.log(`built dist/${withTests ? ' and out/' : ''}${production ? ' (production)' : ''}`);
