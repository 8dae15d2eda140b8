// Builds the local test images. No registry can be reached here, so every
// image is made from Debian packages and tagged locally. An image is rebuilt
// only when its recipe hash (a label) changes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { aptEnsure, log, run, runLoud, which } from './sh.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const fixtures = path.resolve(here, '../../test/fixtures');

export const IMAGES = {
  busybox: 'container-sidecar-test/busybox:1',
  target: 'container-sidecar-test/target:1',
  gdb: 'container-sidecar-test/gdb:1',
  node: 'container-sidecar-test/node:1',
  go: 'container-sidecar-test/go:1',
  delve: 'container-sidecar-test/delve:1',
  python: 'container-sidecar-test/python:1',
  debugpy: 'container-sidecar-test/debugpy:1',
};

const RECIPE_LABEL = 'io.container-sidecar.recipe';

function recipeOf(image) {
  return run('docker', ['image', 'inspect', '-f', `{{index .Config.Labels "${RECIPE_LABEL}"}}`, image], { allowFail: true }).stdout?.trim();
}

function hash(...parts) {
  return crypto.createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
}

/** Streams a folder as a tar into `docker import`; tar and docker are given argv arrays. */
function importDir(dir, tag, changes) {
  const tar = spawnSync('tar', ['-C', dir, '-c', '.'], { maxBuffer: 1 << 30 });
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  const args = ['import'];
  for (const c of changes) args.push('-c', c);
  args.push('-', tag);
  run('docker', args, { input: tar.stdout });
}

async function busybox(tag) {
  await aptEnsure(['busybox-static']);
  const recipe = hash('busybox', run('busybox', ['--help'], { allowFail: true }).stdout.split('\n')[0]);
  if (recipeOf(tag) === recipe) return;
  log(`building ${tag}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  for (const d of ['tmp', 'etc', 'root', 'var/www', 'data']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
  fs.copyFileSync(which('busybox'), path.join(dir, 'bin/busybox'));
  fs.chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  for (const applet of run('busybox', ['--list']).stdout.split('\n').filter(Boolean)) {
    if (applet !== 'busybox') fs.symlinkSync('busybox', path.join(dir, 'bin', applet));
  }
  fs.writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  fs.writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  importDir(dir, tag, ['CMD ["/bin/sh"]', 'ENV PATH=/bin', `LABEL ${RECIPE_LABEL}=${recipe}`]);
  fs.rmSync(dir, { recursive: true, force: true });
}

async function target(tag) {
  const src = fs.readFileSync(path.join(fixtures, 'target.c'), 'utf8');
  const recipe = hash('target', src);
  if (recipeOf(tag) === recipe) return;
  if (!which('gcc')) await aptEnsure(['gcc', 'libc6-dev']);
  log(`building ${tag}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'target-'));
  // The binary is built from /src/target.c so debug info names a stable path.
  fs.mkdirSync(path.join(dir, 'app'));
  fs.mkdirSync(path.join(dir, 'src'));
  fs.mkdirSync(path.join(dir, 'tmp'));
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
  fs.writeFileSync(path.join(dir, 'src/target.c'), src);
  fs.writeFileSync(path.join(dir, 'app/config.json'), '{ "name": "target", "port": 7070 }\n');
  run('gcc', ['-g', '-O0', '-static', '-fdebug-prefix-map=' + dir + '=', '-o', path.join(dir, 'app/target'), path.join(dir, 'src/target.c')]);
  importDir(dir, tag, ['CMD ["/app/target"]', `LABEL ${RECIPE_LABEL}=${recipe}`]);
  fs.rmSync(dir, { recursive: true, force: true });
}

async function gdb(tag) {
  const recipe = hash('gdb', 'bookworm', 'gdb,procps,iproute2');
  if (recipeOf(tag) === recipe) return;
  await aptEnsure(['mmdebstrap']);
  log(`building ${tag} with mmdebstrap (about half a minute)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gdbimg-'));
  const tar = path.join(dir, 'rootfs.tar');
  await runLoud('mmdebstrap', ['--quiet', '--variant=apt', '--include=gdb,procps,iproute2', 'bookworm', tar]);
  const args = ['import', '-c', 'CMD ["/bin/bash"]', '-c', `LABEL ${RECIPE_LABEL}=${recipe}`, tar, tag];
  run('docker', args);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Debian's nodejs with test/fixtures/node-target/app.js as /app/app.js; no inspector is opened at start. */
async function node(tag) {
  const app = path.join(fixtures, 'node-target/app.js');
  const recipe = hash('node', 'bookworm', 'nodejs', fs.readFileSync(app, 'utf8'));
  if (recipeOf(tag) === recipe) return;
  await aptEnsure(['mmdebstrap']);
  log(`building ${tag} with mmdebstrap (about a minute)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeimg-'));
  const tar = path.join(dir, 'rootfs.tar');
  await runLoud('mmdebstrap', ['--quiet', '--variant=apt', '--include=nodejs', '--customize-hook=mkdir -p "$1/app"', `--customize-hook=copy-in ${app} /app`, 'bookworm', tar]);
  run('docker', ['import', '-c', 'CMD ["/usr/bin/node", "/app/app.js"]', '-c', `LABEL ${RECIPE_LABEL}=${recipe}`, tar, tag]);
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * test/fixtures/go-target built by Debian's golang-go as a static binary with
 * optimisations and inlining off (what a debugger needs), alone in a scratch
 * image: no shell, no libc. It is built in a fixed folder, so the paths the
 * binary records (the "build machine's" paths a debugger sees) are stable.
 */
const checkoutRecipe = 'checkout/go-target';
async function go(tag) {
  const srcDir = path.join(fixtures, 'go-target');
  const files = ['go.mod', 'main.go'];
  await aptEnsure(['golang-go']);
  const version = run('go', ['version']).stdout.trim();
  const recipe = hash('go', checkoutRecipe, version, ...files.map((f) => fs.readFileSync(path.join(srcDir, f), 'utf8')));
  if (recipeOf(tag) === recipe) return;
  log(`building ${tag} with ${version} (about a minute the first time)`);
  // Like a repository checked out on a build machine: <checkout>/go-target/main.go.
  const checkout = path.join(os.tmpdir(), 'container-sidecar-go-build');
  const build = path.join(checkout, 'go-target');
  fs.rmSync(checkout, { recursive: true, force: true });
  fs.mkdirSync(build, { recursive: true });
  for (const f of files) fs.copyFileSync(path.join(srcDir, f), path.join(build, f));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'goimg-'));
  fs.mkdirSync(path.join(root, 'app'));
  // Caches of their own: a fresh machine's root may have no HOME for go's defaults.
  const env = {
    ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GOPROXY: 'off',
    GOCACHE: path.join(os.tmpdir(), 'container-sidecar-go-cache'), GOPATH: path.join(os.tmpdir(), 'container-sidecar-gopath'),
  };
  run('go', ['build', '-gcflags=all=-N -l', '-o', path.join(root, 'app/go-target'), '.'], { cwd: build, env });
  importDir(root, tag, ['CMD ["/app/go-target"]', `LABEL ${RECIPE_LABEL}=${recipe}`]);
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(checkout, { recursive: true, force: true });
}

/** Debian's delve: the base the tests build images/delve/Dockerfile from (no registry here). */
async function delve(tag) {
  const recipe = hash('delve', 'bookworm', 'delve');
  if (recipeOf(tag) === recipe) return;
  await aptEnsure(['mmdebstrap']);
  log(`building ${tag} with mmdebstrap (about half a minute)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delveimg-'));
  const tar = path.join(dir, 'rootfs.tar');
  await runLoud('mmdebstrap', ['--quiet', '--variant=apt', '--include=delve', 'bookworm', tar]);
  run('docker', ['import', '-c', 'CMD ["/usr/bin/dlv", "version"]', '-c', `LABEL ${RECIPE_LABEL}=${recipe}`, tar, tag]);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Debian's python3 only, with test/fixtures/python-target/app.py as /app/app.py. */
async function python(tag) {
  const app = path.join(fixtures, 'python-target/app.py');
  const recipe = hash('python', 'bookworm', 'python3', fs.readFileSync(app, 'utf8'));
  if (recipeOf(tag) === recipe) return;
  await aptEnsure(['mmdebstrap']);
  log(`building ${tag} with mmdebstrap (about a minute)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyimg-'));
  const tar = path.join(dir, 'rootfs.tar');
  await runLoud('mmdebstrap', ['--quiet', '--variant=apt', '--include=python3', '--customize-hook=mkdir -p "$1/app"', `--customize-hook=copy-in ${app} /app`, 'bookworm', tar]);
  run('docker', ['import', '-c', 'CMD ["/usr/bin/python3", "/app/app.py"]', '-c', `LABEL ${RECIPE_LABEL}=${recipe}`, tar, tag]);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The base of the debugpy image in tests (images/debugpy/Dockerfile skips its install on it): trixie's gdb and debugpy. */
async function debugpy(tag) {
  const recipe = hash('debugpy', 'trixie', 'gdb,python3-debugpy');
  if (recipeOf(tag) === recipe) return;
  await aptEnsure(['mmdebstrap']);
  log(`building ${tag} with mmdebstrap (about a minute)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'debugpyimg-'));
  const tar = path.join(dir, 'rootfs.tar');
  await runLoud('mmdebstrap', ['--quiet', '--variant=apt', '--include=gdb,python3-debugpy', 'trixie', tar]);
  run('docker', ['import', '-c', 'CMD ["/bin/bash"]', '-c', `LABEL ${RECIPE_LABEL}=${recipe}`, tar, tag]);
  fs.rmSync(dir, { recursive: true, force: true });
}

export async function ensureImages(which = Object.keys(IMAGES)) {
  const builders = { busybox, target, gdb, node, go, delve, python, debugpy };
  for (const name of which) await builders[name](IMAGES[name]);
  return IMAGES;
}
