// `npm run demo`: builds and packages the extension, ensures an engine, sets up
// a demo scene of containers, and serves VS Code (code-server) on 127.0.0.1
// with the extension installed. Ctrl-C stops it and removes the scene.
// The workspace and VS Code profile live outside the clone (scripts/lib/demo.mjs).
// Options: --port N (default 8420 or the next free one), --check (start, verify, stop)
import path from 'node:path';
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

const { createScene, demoUrl, prepareProfile, removeScene, SCENE } = await import('./lib/demo.mjs');
// The profile first: the scene mounts a folder of its workspace (demo-node's /app).
const demo = prepareProfile({ images, vsix: path.join(root, 'container-sidecar.vsix'), codeServerBin });
const { workspace, userDataDir, extensionsDir } = demo;
log(`creating the demo scene: ${SCENE.map((s) => `demo-${s.name}`).join(', ')}`);
createScene({ images, workspace });

let port = portArg >= 0 ? Number(argv[portArg + 1]) : 8420;
if (portArg < 0) {
  const net = await import('node:net');
  const free = await new Promise((r) => { const s = net.createServer().once('error', () => r(false)).listen(port, '127.0.0.1', () => s.close(() => r(true))); });
  if (!free) port = await freePort();
}
const server = await startCodeServer({ workspace, port, extensionsDir, userDataDir, logFile: path.join(demo.dir, 'code-server.log') });
const url = demoUrl(server.base, workspace);
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
