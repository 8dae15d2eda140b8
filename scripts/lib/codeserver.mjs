// Installs code-server (VS Code 1.99.3 with a Node extension host) into a
// cache folder of the bench, and starts it on loopback.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { aptEnsure, log, run, runLoud, which } from './sh.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
export const projectRoot = path.resolve(here, '../..');
export const CODE_SERVER_VERSION = '4.99.4';
const RIPGREP_VERSION = '1.15.11'; // the @vscode/ripgrep that code-server 4.99.4 pins
const cacheDir = path.join(projectRoot, '.vscode-test', `code-server-${CODE_SERVER_VERSION}`);
export const codeServerBin = path.join(cacheDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** @vscode/ripgrep downloads rg at install time; seed its cache with Debian's rg instead. */
function seedRipgrepCache() {
  const dir = path.join(os.tmpdir(), `vscode-ripgrep-cache-${RIPGREP_VERSION}`);
  const tarball = path.join(dir, 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz');
  if (fs.existsSync(tarball)) return;
  fs.mkdirSync(dir, { recursive: true });
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-'));
  fs.copyFileSync(which('rg'), path.join(stage, 'rg'));
  fs.chmodSync(path.join(stage, 'rg'), 0o755);
  run('tar', ['-C', stage, '-czf', tarball, 'rg']);
  fs.rmSync(stage, { recursive: true, force: true });
}

export async function ensureCodeServer() {
  const stamp = path.join(cacheDir, '.installed');
  if (fs.existsSync(stamp) && fs.existsSync(codeServerBin)) return codeServerBin;
  await aptEnsure(['libkrb5-dev', 'libx11-dev', 'libxkbfile-dev', 'libsecret-1-dev', 'pkg-config', 'ripgrep']);
  seedRipgrepCache();
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(path.join(cacheDir, 'package.json'), JSON.stringify({ name: 'code-server-cache', private: true }));
  log(`installing code-server ${CODE_SERVER_VERSION} into ${cacheDir} (about a minute)`);
  const env = { ...process.env, npm_config_unsafe_perm: 'true', npm_config_yes: 'true', npm_config_fund: 'false', npm_config_audit: 'false' };
  // npm 11 blocks dependency install scripts, and code-server's native
  // modules need theirs. Install with npm 10, which runs them, kept in the cache.
  const npm10 = path.join(cacheDir, 'npm10');
  if (!fs.existsSync(path.join(npm10, 'node_modules', 'npm', 'bin', 'npm-cli.js'))) {
    fs.mkdirSync(npm10, { recursive: true });
    await runLoud('npm', ['install', '--prefix', npm10, '--no-save', 'npm@10'], { env });
  }
  const npm10cli = path.join(npm10, 'node_modules', 'npm', 'bin', 'npm-cli.js');
  await runLoud(process.execPath, [npm10cli, 'install', '--no-save', '--unsafe-perm', `code-server@${CODE_SERVER_VERSION}`], {
    cwd: cacheDir,
    env: { ...env, PATH: `${path.join(npm10, 'node_modules', '.bin')}:${process.env.PATH}` },
  });
  fs.writeFileSync(stamp, new Date().toISOString());
  return codeServerBin;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

/**
 * Starts code-server on 127.0.0.1 with throwaway profile folders.
 * `pidNamespace` runs it as PID 1 of a PID namespace of its own (with its own
 * /proc): whatever a debugger inside signals can reach only that namespace.
 * Returns { port, url(payload), stop() }.
 */
export async function startCodeServer({ workspace, port, userDataDir, extensionsDir, extraArgs = [], logFile, env = {}, uid, gid, workspaceTrust = false, pidNamespace = false } = {}) {
  port ??= await freePort();
  userDataDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'cs-user-'));
  extensionsDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'cs-ext-'));
  const args = [codeServerBin, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
    // workspaceTrust: true keeps VS Code's Restricted Mode for the trust tests; the others run trusted.
    ...(workspaceTrust ? [] : ['--disable-workspace-trust']), '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, ...extraArgs, workspace];
  const out = logFile ? fs.openSync(logFile, 'a') : 'ignore';
  // --kill-child: when unshare is stopped, the namespace's PID 1 (and with it everything in the namespace) goes too.
  const [cmd, argv] = pidNamespace ? ['unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, ...args]] : [process.execPath, args];
  const p = spawn(cmd, argv, { stdio: ['ignore', out, out], env: { ...process.env, ...env }, uid, gid, detached: true });
  if (typeof out === 'number') fs.closeSync(out);
  const until = Date.now() + 60000;
  for (;;) {
    if (await new Promise((r) => { const s = net.connect(port, '127.0.0.1', () => { s.end(); r(true); }); s.on('error', () => r(false)); })) break;
    if (p.exitCode !== null) throw new Error(`code-server exited with ${p.exitCode}; see ${logFile}`);
    if (Date.now() > until) throw new Error('code-server did not start within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    port, userDataDir, extensionsDir, process: p,
    base: `http://127.0.0.1:${port}`,
    stop() { try { process.kill(-p.pid, 'SIGTERM'); } catch { /* already gone */ } },
  };
}

/** The URL that runs a test module inside the real extension host. */
export function payloadUrl(port, { workspace, extensionDir, testsDir }) {
  const payload = [['skipWelcome', 'true']];
  if (extensionDir) payload.push(['extensionDevelopmentPath', `vscode-remote://localhost:${port}${extensionDir}`]);
  if (testsDir) payload.push(['extensionTestsPath', `vscode-remote://localhost:${port}${testsDir}`]);
  return `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}
