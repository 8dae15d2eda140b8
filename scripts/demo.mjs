// `npm run demo`: builds and packages the extension, ensures an engine, sets up
// a demo scene of containers, and serves VS Code (code-server) on 127.0.0.1
// with the extension installed. Ctrl-C stops it and removes the scene.
// Options: --port N (default 8420 or the next free one), --check (start, verify, stop)
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { ensureNodeModules, root } from './lib/deps.mjs';

const argv = process.argv.slice(2);
const portArg = argv.indexOf('--port');
const check = argv.includes('--check');

await ensureNodeModules();
const { runLoud, log } = await import('./lib/sh.mjs');
await runLoud('npm', ['run', '--silent', 'package'], { cwd: root });
const { standUp } = await import('./lib/bench.mjs');
const { codeServerBin, startCodeServer, freePort } = await import('./lib/codeserver.mjs');
const { engine, images } = await standUp({ codeServer: true, browser: false });

const DEMO = 'io.container-sidecar.demo';
const docker = (...args) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
function removeScene() {
  const ids = spawnSync('docker', ['ps', '-aq', '--filter', `label=${DEMO}=true`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  if (ids.length) spawnSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
}

removeScene();
log('creating the demo scene: demo-web, demo-target, demo-web-debugger');
// A web server that listens only on its own loopback (no published ports).
docker('run', '-d', '--name', 'demo-web', '--label', `${DEMO}=true`, '--network', 'none', images.busybox,
  'sh', '-c', 'echo "<h1>hello from demo-web</h1>" > /var/www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /var/www');
// A shell-less, distroless-like target: one static binary.
docker('run', '-d', '--name', 'demo-target', '--label', `${DEMO}=true`, '--network', 'none', images.target);
// A container sharing demo-web's pid and network namespaces, by hand, as users do today.
docker('run', '-d', '--name', 'demo-web-debugger', '--label', `${DEMO}=true`, '--pid', 'container:demo-web', '--network', 'container:demo-web', images.busybox, 'sleep', '1000000');

const cache = path.join(root, '.vscode-test');
const extensionsDir = path.join(cache, 'demo-extensions');
const userDataDir = path.join(cache, 'demo-user');
const workspace = path.join(cache, 'demo-workspace');
fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
fs.writeFileSync(path.join(workspace, '.vscode/settings.json'), JSON.stringify({
  'sidecar.files.helperImage': images.busybox,
  'sidecar.debugger.gdbImage': images.gdb,
  'security.workspace.trust.enabled': false,
}, null, 2));
fs.writeFileSync(path.join(workspace, 'README.md'), '# Container Sidecar demo\n\nOpen the Container Sidecar view in the activity bar.\n');
execFileSync(process.execPath, [codeServerBin, '--extensions-dir', extensionsDir, '--install-extension', path.join(root, 'container-sidecar.vsix'), '--force'], { stdio: 'ignore' });

let port = portArg >= 0 ? Number(argv[portArg + 1]) : 8420;
if (portArg < 0) {
  const net = await import('node:net');
  const free = await new Promise((r) => { const s = net.createServer().once('error', () => r(false)).listen(port, '127.0.0.1', () => s.close(() => r(true))); });
  if (!free) port = await freePort();
}
const server = await startCodeServer({ workspace, port, extensionsDir, userDataDir, logFile: path.join(cache, 'demo-code-server.log') });
const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
console.log(`\nVS Code with Container Sidecar is ready:\n\n  ${url}\n\nPress Ctrl-C to stop and remove the demo containers.`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping: code-server, demo containers' + (engine.started ? ', dockerd' : ''));
  server.stop();
  removeScene();
  await engine.stop();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
if (check) {
  const res = await fetch(url);
  console.log(`check: ${url} answered ${res.status}`);
  await stop();
}
setInterval(() => {}, 1 << 30);
