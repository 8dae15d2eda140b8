// Engine discovery against a real Docker CLI context store (written by the
// real docker CLI into a temporary DOCKER_CONFIG), real TLS files made by
// openssl, and real unix sockets standing in for the Docker and Podman sockets.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { contextDirName, discoverEngines, type DiscoveryInput } from '../../src/engine/discovery';

describe('engine discovery', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-discovery-'));
  const cfg = path.join(tmp, 'docker-config');
  const certs = path.join(tmp, 'certs');
  const dockerSock = path.join(tmp, 'docker.sock');
  const podmanSock = path.join(tmp, 'podman.sock');
  const xdg = path.join(tmp, 'xdg');
  const servers: net.Server[] = [];
  // Every case runs with a clean environment: nothing of this machine's own engines leaks in.
  const base = (extra: Partial<DiscoveryInput> = {}, env: NodeJS.ProcessEnv = {}): DiscoveryInput => ({
    env: { DOCKER_CONFIG: cfg, ...env },
    defaultSocket: dockerSock,
    podmanSocket: path.join(tmp, 'no-podman.sock'),
    ...extra,
  });
  const docker = (...args: string[]) => execFileSync('docker', args, { env: { ...process.env, DOCKER_CONFIG: cfg }, stdio: 'pipe' }).toString();
  const listen = (p: string) => new Promise<void>((resolve) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const s = net.createServer().listen(p, () => resolve());
    servers.push(s);
  });

  before(async () => {
    fs.mkdirSync(certs, { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(certs, 'key.pem'), '-out', path.join(certs, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'pipe' });
    fs.copyFileSync(path.join(certs, 'cert.pem'), path.join(certs, 'ca.pem'));
    await listen(dockerSock);
    await listen(podmanSock);
    await listen(path.join(xdg, 'podman', 'podman.sock'));
    docker('context', 'create', 'tlsbox', '--docker', `host=tcp://127.0.0.1:2399,ca=${certs}/ca.pem,cert=${certs}/cert.pem,key=${certs}/key.pem`);
    docker('context', 'create', 'plainbox', '--docker', 'host=tcp://127.0.0.1:2398');
    // A context for the default socket itself: the same engine, listed once.
    docker('context', 'create', 'local-again', '--docker', `host=unix://${dockerSock}`);
  });
  after(() => {
    for (const s of servers) s.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('reads the CLI\'s own context store: every context, TLS material, and the default socket once', () => {
    const { engines, problems } = discoverEngines(base());
    assert.deepEqual(problems, []);
    assert.deepEqual(engines.map((e) => [e.id, e.name, e.source, e.label]), [
      ['local-again', 'local-again', 'context', `unix://${dockerSock}`],
      ['plainbox', 'plainbox', 'context', 'tcp://127.0.0.1:2398'],
      ['tlsbox', 'tlsbox', 'context', 'https://127.0.0.1:2399'],
    ]);
    const tls = engines.find((e) => e.id === 'tlsbox')!.options;
    assert.equal(tls.protocol, 'https');
    assert.equal(tls.port, 2399);
    const stored = path.join(cfg, 'contexts', 'tls', contextDirName('tlsbox'), 'docker');
    assert.ok(fs.existsSync(stored), 'the CLI stored the TLS material where we read it');
    assert.deepEqual(tls.ca, fs.readFileSync(path.join(certs, 'ca.pem')));
    assert.deepEqual(tls.cert, fs.readFileSync(path.join(certs, 'cert.pem')));
    assert.deepEqual(tls.key, fs.readFileSync(path.join(certs, 'key.pem')));
  });

  it('the current context is the default engine (config.json, then DOCKER_CONTEXT, then DOCKER_HOST)', () => {
    docker('context', 'use', 'plainbox');
    try {
      assert.equal(discoverEngines(base()).engines[0].id, 'plainbox');
      assert.equal(discoverEngines(base({}, { DOCKER_CONTEXT: 'tlsbox' })).engines[0].id, 'tlsbox');
      const withHost = discoverEngines(base({}, { DOCKER_CONTEXT: 'tlsbox', DOCKER_HOST: 'tcp://127.0.0.1:2397' })).engines;
      assert.deepEqual(withHost.map((e) => e.id), ['docker-host', 'local-again', 'plainbox', 'tlsbox']);
      assert.equal(withHost[0].name, '127.0.0.1:2397');
      assert.equal(withHost[0].source, 'environment');
      const missing = discoverEngines(base({}, { DOCKER_CONTEXT: 'gone' }));
      assert.match(missing.problems[0], /The current Docker context "gone" \(DOCKER_CONTEXT\) is not in .*contexts; choose another with docker context use\./);
    } finally {
      docker('context', 'use', 'default');
    }
  });

  it('DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH is an https engine with the client certificate', () => {
    const { engines, problems } = discoverEngines(base({ engines: ['auto'] }, { DOCKER_HOST: 'tcp://127.0.0.1', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }));
    assert.deepEqual(problems, []);
    const e = engines[0];
    assert.equal(e.label, 'https://127.0.0.1');
    assert.equal(e.options.port, 2376, 'TLS without a port means 2376, as for the CLI');
    assert.deepEqual(e.options.cert, fs.readFileSync(path.join(certs, 'cert.pem')));
    const half = path.join(tmp, 'half');
    fs.mkdirSync(half, { recursive: true });
    fs.copyFileSync(path.join(certs, 'cert.pem'), path.join(half, 'cert.pem'));
    const p = discoverEngines(base({}, { DOCKER_HOST: 'tcp://127.0.0.1:2376', DOCKER_CERT_PATH: half })).problems;
    assert.match(p[0], /^DOCKER_CERT_PATH: .*half holds cert\.pem but no key\.pem; a client certificate needs both\.$/);
  });

  it('Podman sockets, rootful and rootless, when they are there', () => {
    const { engines } = discoverEngines(base({ podmanSocket: podmanSock }, { XDG_RUNTIME_DIR: xdg }));
    assert.deepEqual(engines.filter((e) => e.source === 'podman').map((e) => [e.id, e.name, e.label]), [
      ['podman', 'Podman', `unix://${podmanSock}`],
      ['podman-user', 'Podman (rootless)', `unix://${path.join(xdg, 'podman', 'podman.sock')}`],
    ]);
    assert.ok(!discoverEngines(base()).engines.some((e) => e.source === 'podman'), 'no socket, no Podman root');
  });

  it('every entry of sidecar.engines counts, "auto" merges what was found, and one endpoint shows once', () => {
    const link = path.join(tmp, 'docker-link.sock');
    fs.symlinkSync(dockerSock, link);
    const { engines, problems } = discoverEngines(base({ engines: [{ host: `unix://${link}`, name: 'Laptop' }, 'tcp://build:2375', 'auto'] }));
    assert.deepEqual(problems, []);
    assert.deepEqual(engines.map((e) => [e.id, e.name, e.source]), [
      ['laptop', 'Laptop', 'setting'],
      ['build-2375', 'build:2375', 'setting'],
      ['plainbox', 'plainbox', 'context'],
      ['tlsbox', 'tlsbox', 'context'],
    ], 'local-again and the default socket are the Laptop engine');
    // Without "auto", exactly the list.
    assert.deepEqual(discoverEngines(base({ engines: ['tcp://build:2375'] })).engines.map((e) => e.label), ['tcp://build:2375']);
  });

  it('malformed settings give a sentence naming the setting and the fix; the good entries still count', () => {
    const bad = discoverEngines(base({ engines: ['ftp://nowhere'] }));
    assert.deepEqual(bad.engines, []);
    assert.match(bad.problems[0], /^The setting sidecar\.engines: "ftp:\/\/nowhere" is not a Docker endpoint; use unix:\/\/\/path/);
    const mixed = discoverEngines(base({ engines: ['tcp://a:1', 42, { host: 'tcp://b:2', name: '' }, { host: 'tcp://c:3', certPath: 'rel' }, 'tcp://d:4'] }));
    assert.deepEqual(mixed.engines.map((e) => e.label), ['tcp://a:1', 'tcp://d:4']);
    assert.match(mixed.problems[0], /^The setting sidecar\.engines \(entry 2\) is 42; use an address such as/);
    assert.match(mixed.problems[1], /entry 3\): "name" must be a non-empty text/);
    assert.match(mixed.problems[2], /entry 4\): "certPath" must be an absolute folder path holding ca\.pem, cert\.pem and key\.pem/);
    assert.match(discoverEngines(base({ engines: 'tcp://a:1' })).problems[0], /sidecar\.engines must be a list, such as \["auto"/);
    assert.match(discoverEngines(base({ hidden: 'Podman' })).problems[0], /sidecar\.hiddenEngines must be a list of engine names, ids or addresses/);
  });

  it('sidecar.hiddenEngines hides by name, id, address or kind', () => {
    const all = base({ podmanSocket: podmanSock }, { XDG_RUNTIME_DIR: xdg });
    const ids = (hidden: string[]) => discoverEngines({ ...all, hidden }).engines.map((e) => e.id);
    assert.deepEqual(ids(['podman']), ['local-again', 'plainbox', 'tlsbox']);
    assert.deepEqual(ids(['contexts', 'Podman (rootless)']), ['docker', 'podman']);
    assert.deepEqual(ids([`unix://${dockerSock}`, 'TLSBOX', 'podman-user', 'podman']), ['plainbox']);
  });

  it('an unreadable context is named with its file; the others still load', () => {
    const dir = path.join(cfg, 'contexts', 'meta', contextDirName('broken'));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'meta.json'), '{"Name": "broken", ');
    try {
      const { engines, problems } = discoverEngines(base());
      assert.equal(engines.length, 3);
      assert.match(problems[0], /^The Docker context in .*meta\.json cannot be read \(not valid JSON\); fix it or remove it with docker context rm\.$/);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('with nothing found, the default socket stays so the view can name what it tried', () => {
    const { engines } = discoverEngines({ env: { DOCKER_CONFIG: path.join(tmp, 'empty') }, defaultSocket: path.join(tmp, 'none.sock'), podmanSocket: path.join(tmp, 'none2.sock') });
    assert.deepEqual(engines.map((e) => [e.id, e.label]), [['docker', `unix://${path.join(tmp, 'none.sock')}`]]);
  });
});
