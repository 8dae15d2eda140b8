// Engines that are not the local one, for the tests that need them (root, Debian,
// loopback only). Each start function returns what it made and a stop() that
// ends only the processes this module spawned, by the host PIDs it kept.
//
// - startRemoteEngine(): a dockerd in its own pid and mount namespaces, so its
//   containers' PIDs mean nothing in our /proc (as on another host), reached over
//   tcp://127.0.0.1:<port> with TLS (certificates made by openssl here) and over
//   its own unix socket (for the bench itself).
// - startSshd(): an openssh-server on 127.0.0.1:<port>, key auth only, whose
//   sessions talk to a given engine, so `ssh://root@127.0.0.1:<port>` reaches it
//   through `docker system dial-stdio`; with a pinned known_hosts.
// - ensurePodman(): Podman's Docker-compatible service on /run/podman/podman.sock.
//
// DANGER: a dockerd in its own pid namespace writes its pidfile with the PID it
// has there, 1. A PID read from that file is never signalled: `kill $(cat pidfile)`
// from here would signal this machine's PID 1. stop() uses the PID it spawned.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { aptEnsure, isRoot, log, run, which } from './sh.mjs';

/** A free TCP port on loopback (bound and released; the caller binds it right away). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(fn, timeoutMs, what) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').match(/\) Z /);
  } catch {
    return false;
  }
};

function pingSocket(socketPath) {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}

function pingTls(port, tls) {
  return new Promise((resolve) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/_ping', timeout: 2000, ca: tls.ca, cert: tls.cert, key: tls.key }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}

/**
 * A CA, a server certificate for 127.0.0.1 and localhost, and a client
 * certificate, as Docker names them (ca.pem, server-cert.pem, server-key.pem,
 * cert.pem, key.pem). EC keys: made in milliseconds.
 */
export function makeCertificates(dir) {
  if (!which('openssl')) throw new Error('openssl is missing; install it: apt-get install -y openssl');
  fs.mkdirSync(dir, { recursive: true });
  const p = (f) => path.join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('openssl', ['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=container-sidecar test CA', '-keyout', p('ca-key.pem'), '-out', p('ca.pem')]);
  const sign = (name, subject, ext) => {
    fs.writeFileSync(p(`${name}.ext`), ext);
    run('openssl', ['req', ...ec, '-subj', subject, '-keyout', p(`${name}-key.pem`), '-out', p(`${name}.csr`)]);
    run('openssl', ['x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca-key.pem'), '-CAcreateserial', '-days', '2', '-extfile', p(`${name}.ext`), '-out', p(`${name}-cert.pem`)]);
  };
  sign('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  sign('client', '/CN=container-sidecar test client', 'extendedKeyUsage=clientAuth\n');
  // The client pair under the names the docker CLI and DOCKER_CERT_PATH use.
  fs.copyFileSync(p('client-cert.pem'), p('cert.pem'));
  fs.copyFileSync(p('client-key.pem'), p('key.pem'));
  for (const f of fs.readdirSync(dir)) if (f.endsWith('key.pem')) fs.chmodSync(p(f), 0o600);
  return { dir, ca: p('ca.pem'), cert: p('cert.pem'), key: p('key.pem') };
}

/**
 * A Docker Engine that behaves as a remote host: its own pid and mount
 * namespaces (container PIDs it reports are not ours), own data, exec root,
 * containerd and socket; TLS on tcp://127.0.0.1:<port>. `restart()` after
 * `stop()` brings the same engine (same port, certificates and data) back.
 */
export async function startRemoteEngine({ dir } = {}) {
  if (!isRoot()) throw new Error('the remote engine of the test bench needs root');
  if (!which('dockerd')) await aptEnsure(['docker.io']);
  // A short path: unix socket paths are limited to 108 bytes.
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'cs-remote-'));
  const certs = makeCertificates(path.join(dir, 'certs'));
  const tls = { ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.cert), key: fs.readFileSync(certs.key) };
  const socket = path.join(dir, 'docker.sock');
  const port = await freePort();
  const c = certs.dir;
  const args = [
    '--pid', '--fork', '--mount-proc', '--kill-child=SIGTERM',
    'dockerd',
    '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
    // Holds 1, this engine's own PID: see DANGER above. Never read to signal.
    '--pidfile', path.join(dir, 'dockerd.pid'),
    '--containerd-namespace', 'sidecar-remote', '--containerd-plugins-namespace', 'sidecar-remote-plugins',
    '-H', `unix://${socket}`, '-H', `tcp://127.0.0.1:${port}`,
    '--tlsverify', '--tlscacert', path.join(c, 'ca.pem'), '--tlscert', path.join(c, 'server-cert.pem'), '--tlskey', path.join(c, 'server-key.pem'),
    '--bridge=none', '--iptables=false', '--ip6tables=false',
    // Tests stop this engine on purpose: do not give its containers ten seconds each.
    '--shutdown-timeout', '1',
  ];
  let proc;
  // The host PID of dockerd: the child of the unshare process we spawned (never the pidfile's).
  let dockerdPid;
  const logFile = path.join(dir, 'dockerd.log');
  const start = async () => {
    const out = fs.openSync(logFile, 'a');
    proc = spawn('unshare', args, { detached: true, stdio: ['ignore', out, out] });
    proc.unref();
    fs.closeSync(out);
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`the remote dockerd exited (${proc.exitCode}); see ${logFile}`);
      return (await pingSocket(socket)) && (await pingTls(port, tls));
    }, 60000, `the remote dockerd on ${socket} and tcp://127.0.0.1:${port}`);
    dockerdPid = Number(fs.readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/)[0]) || undefined;
    log(`remote dockerd (host pid ${dockerdPid}, under unshare ${proc.pid}) on tcp://127.0.0.1:${port} with TLS`);
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    // unshare --fork ignores SIGTERM while it waits; killing it makes the kernel
    // send dockerd (its child, --kill-child) SIGTERM, and dockerd, PID 1 of its
    // namespace, takes every process there with it when it exits.
    process.kill(p.pid, 'SIGKILL');
    // Polled, not awaited as an 'exit' event: an unref'd child's event keeps no test process alive.
    await waitFor(() => !alive(p.pid), 10000, 'unshare to end');
    if (dockerdPid) await waitFor(() => !alive(dockerdPid), 60000, 'the remote dockerd to stop');
    await waitFor(async () => !(await pingSocket(socket)), 10000, 'the remote dockerd socket to close');
  };
  await start();
  return {
    dir, socket, port, certs, tls, logFile,
    tcp: `tcp://127.0.0.1:${port}`,
    /** The host PID of the unshare process this module spawned. */
    get pid() { return proc?.pid; },
    stop,
    restart: start,
    /** Stops the engine and removes its folder (data included). */
    async dispose() {
      await stop();
      // Overlay mounts lived in the engine's own mount namespace and went with it.
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Copies images from the engine the docker CLI reaches to another engine, through docker save | load. */
export function copyImages(images, toSocket) {
  const saved = spawnSync('docker', ['save', ...images], { maxBuffer: 2 ** 31 });
  if (saved.status !== 0) throw new Error(`docker save ${images.join(' ')} failed: ${saved.stderr}`);
  run('docker', ['-H', `unix://${toSocket}`, 'load', '-q'], { input: saved.stdout });
}

/**
 * An ssh server on 127.0.0.1 whose sessions run with DOCKER_HOST pointing at
 * `engineSocket`, so `docker system dial-stdio` over ssh reaches that engine.
 * Key auth only, as root (the engine's socket is root's). Makes a client key
 * (`identity`), and a known_hosts (`knownHosts`) that pins the host key.
 * `otherHostKey()` gives a key line for the same host that does not match, for
 * the changed-key test.
 */
export async function startSshd({ dir, engineSocket }) {
  if (!isRoot()) throw new Error('the ssh server of the test bench needs root');
  if (!fs.existsSync('/usr/sbin/sshd')) await aptEnsure(['openssh-server']);
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'cs-sshd-'));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (f) => path.join(dir, f);
  for (const f of ['host_key', 'host_key.pub', 'other_host_key', 'other_host_key.pub', 'id_ed25519', 'id_ed25519.pub']) fs.rmSync(p(f), { force: true });
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cs-test-host', '-f', p('host_key')]);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cs-test-other', '-f', p('other_host_key')]);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cs-test-client', '-f', p('id_ed25519')]);
  fs.copyFileSync(p('id_ed25519.pub'), p('authorized_keys'));
  const port = await freePort();
  const hostPub = fs.readFileSync(p('host_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const otherPub = fs.readFileSync(p('other_host_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const hostName = `[127.0.0.1]:${port}`;
  fs.writeFileSync(p('known_hosts'), `${hostName} ${hostPub}\n`);
  const fingerprint = run('ssh-keygen', ['-l', '-E', 'sha256', '-f', p('host_key.pub')]).stdout.split(/\s+/)[1];
  fs.writeFileSync(p('sshd_config'), [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${p('host_key')}`,
    `PidFile ${p('sshd.pid')}`,
    `AuthorizedKeysFile ${p('authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The test's folder lives in /tmp; its modes are the test's business.
    'StrictModes no',
    'AllowTcpForwarding no',
    'X11Forwarding no',
    // What makes this host "remote": its docker CLI talks to the second engine.
    `SetEnv DOCKER_HOST=unix://${engineSocket}`,
    '',
  ].join('\n'));
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  let proc;
  const start = async () => {
    const out = fs.openSync(p('sshd.log'), 'a');
    proc = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', p('sshd_config')], { detached: true, stdio: ['ignore', out, out] });
    proc.unref();
    fs.closeSync(out);
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`sshd exited (${proc.exitCode}); see ${p('sshd.log')}`);
      return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('data', (b) => { s.destroy(); resolve(b.toString().startsWith('SSH-')); });
        s.once('error', () => resolve(false));
      });
    }, 20000, `sshd on 127.0.0.1:${port}`);
    log(`sshd (pid ${proc.pid}) on 127.0.0.1:${port}`);
  };
  await start();
  return {
    dir, port, user: 'root', hostName,
    url: `ssh://root@127.0.0.1:${port}`,
    identity: p('id_ed25519'),
    knownHosts: p('known_hosts'),
    fingerprint,
    hostKeyLine: `${hostName} ${hostPub}`,
    otherHostKeyLine: `${hostName} ${otherPub}`,
    get pid() { return proc.pid; },
    /** Ends the listener and every session it forked (they are its children, in its process group). */
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const sessions = fs.readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      process.kill(proc.pid, 'SIGTERM');
      for (const s of sessions) try { process.kill(s, 'SIGTERM'); } catch { /* gone */ }
      await waitFor(() => !alive(proc.pid) && sessions.every((s) => !alive(s)), 20000, `sshd ${proc.pid} and its sessions to end`);
    },
    /** Starts sshd again on the same port with the same keys. */
    restart: start,
    /** Stops sshd and removes its folder (keys, config, log). */
    async dispose() {
      await this.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const PODMAN_SOCKET = '/run/podman/podman.sock';

// What Podman needs on these machines (see the test bench notes in docs/architecture.md).
const CONTAINERS_CONF = `# Written by container-sidecar's test bench.
[engine]
# crun refuses the hybrid cgroup layout of these machines.
runtime = "runc"

[containers]
# root lacks CAP_SYS_RESOURCE here, so Podman's default limits cannot be set.
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
`;

/**
 * Podman's Docker-compatible service. Reuses one that answers at
 * /run/podman/podman.sock; otherwise installs Podman if needed, writes
 * containers.conf when there is none, and starts `podman system service`.
 * stop() ends only a service this call started.
 */
export async function ensurePodman({ socket = PODMAN_SOCKET } = {}) {
  if (await pingSocket(socket)) {
    log(`using the Podman service at unix://${socket}`);
    return { socket, started: false, stop: async () => {} };
  }
  if (!isRoot()) throw new Error(`no Podman service answers at ${socket} and starting one needs root`);
  if (!which('podman')) await aptEnsure(['podman']);
  const conf = '/etc/containers/containers.conf';
  if (!fs.existsSync(conf)) {
    fs.mkdirSync(path.dirname(conf), { recursive: true });
    fs.writeFileSync(conf, CONTAINERS_CONF);
  }
  fs.mkdirSync(path.dirname(socket), { recursive: true });
  fs.rmSync(socket, { force: true });
  const logFile = path.join(os.tmpdir(), 'container-sidecar-podman.log');
  const out = fs.openSync(logFile, 'a');
  const proc = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], { detached: true, stdio: ['ignore', out, out] });
  proc.unref();
  fs.closeSync(out);
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`podman system service exited (${proc.exitCode}); see ${logFile}`);
    return pingSocket(socket);
  }, 30000, `Podman on ${socket}`);
  log(`started podman system service (pid ${proc.pid}) on unix://${socket}`);
  return {
    socket, started: true, pid: proc.pid,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      process.kill(proc.pid, 'SIGTERM');
      await waitFor(() => !alive(proc.pid), 20000, `pid ${proc.pid} to end`);
    },
  };
}

/** Copies images from the local Docker engine into Podman's store (docker save | podman load). */
export function copyImagesToPodman(images) {
  const missing = images.filter((i) => run('podman', ['image', 'exists', i], { allowFail: true }).status !== 0);
  if (missing.length === 0) return;
  const saved = spawnSync('docker', ['save', ...missing], { maxBuffer: 2 ** 31 });
  if (saved.status !== 0) throw new Error(`docker save ${missing.join(' ')} failed: ${saved.stderr}`);
  run('podman', ['load', '-q'], { input: saved.stdout });
}

/** A short random suffix for names of things a test makes. */
export const suffix = () => crypto.randomBytes(3).toString('hex');
