// Finds a Docker Engine that answers, or installs and starts one (root, Debian).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { aptEnsure, isRoot, log, which } from './sh.mjs';

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Parses DOCKER_HOST into http request options (unix socket or tcp). */
export function endpointOptions(dockerHost = process.env.DOCKER_HOST) {
  if (!dockerHost) return { socketPath: DEFAULT_SOCKET };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const u = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return { host: u.hostname, port: Number(u.port || 2375) };
}

export function ping(opts = endpointOptions(), timeoutMs = 2000) {
  return new Promise((resolve) => {
    const req = http.request({ ...opts, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}

async function waitFor(fn, timeoutMs, what) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Starts a dockerd with the workplace's network rules: no bridge, no iptables.
 * `opts.root` gives an isolated engine (own socket, data and exec roots), used
 * by tests that stop and restart the engine.
 */
export async function startDockerd({ root, socket = DEFAULT_SOCKET, logFile } = {}) {
  if (!which('dockerd')) await aptEnsure(['docker.io']);
  if (!isRoot()) throw new Error('no Docker Engine answers and starting one needs root');
  const args = ['--bridge=none', '--iptables=false', '--ip6tables=false', '-H', `unix://${socket}`];
  if (root) {
    fs.mkdirSync(root, { recursive: true });
    args.push('--data-root', path.join(root, 'data'), '--exec-root', path.join(root, 'exec'),
      '--pidfile', path.join(root, 'dockerd.pid'), '--containerd-namespace', 'sidecar-iso', '--containerd-plugins-namespace', 'sidecar-iso-plugins');
  } else {
    args.push('--pidfile', '/var/run/docker.pid');
  }
  const out = fs.openSync(logFile ?? '/tmp/container-sidecar-dockerd.log', 'a');
  const p = spawn('dockerd', args, { detached: true, stdio: ['ignore', out, out] });
  p.unref();
  fs.closeSync(out);
  log(`started dockerd (pid ${p.pid}) on unix://${socket}`);
  await waitFor(() => ping({ socketPath: socket }), 60000, `dockerd on ${socket}`);
  return {
    pid: p.pid,
    socket,
    async stop() {
      try { process.kill(p.pid, 'SIGTERM'); } catch { return; }
      await waitFor(async () => { try { process.kill(p.pid, 0); return false; } catch { return true; } }, 30000, 'dockerd to stop');
    },
  };
}

/** Uses the engine at DOCKER_HOST or the default socket; starts one if none answers. */
export async function ensureEngine() {
  if (await ping()) {
    log(`using the engine at ${process.env.DOCKER_HOST ?? 'unix://' + DEFAULT_SOCKET}`);
    return { started: false, stop: async () => {} };
  }
  if (process.env.DOCKER_HOST && process.env.DOCKER_HOST !== `unix://${DEFAULT_SOCKET}`) {
    throw new Error(`DOCKER_HOST=${process.env.DOCKER_HOST} does not answer; start that engine or unset DOCKER_HOST`);
  }
  const d = await startDockerd();
  return { started: true, stop: d.stop, pid: d.pid };
}
