// Transports against real servers: a second dockerd in its own pid namespace
// with TLS on tcp://127.0.0.1 (certificates made by openssl for this run), and
// a real openssh-server on 127.0.0.1 whose sessions talk to that engine.
// Started and stopped by scripts/lib/remote.mjs; needs root, like the bench.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { parseEndpoint, SettingsError, closeClient } from '../../src/engine/connection';
import { Engine } from '../../src/engine/engine';
import { checkHostKey, fingerprint, hostMatches, HostKeyError, sshConfigFor } from '../../src/engine/transport';
import { pidBelongsTo } from '../../src/procfs/namespaces';
import { execIn, IMAGES, TEST_LABEL } from '../helpers/docker';
import { eventually } from '../helpers/hostRunner';
import { projectRoot } from '../helpers/paths';

interface Remote { tcp: string; socket: string; certs: { dir: string; ca: string; cert: string; key: string }; dispose(): Promise<void> }
interface Sshd { restart(): Promise<void>; dispose(): Promise<void>; port: number; identity: string; knownHosts: string; fingerprint: string; hostKeyLine: string; otherHostKeyLine: string; hostName: string; stop(): Promise<void> }
interface RemoteLib {
  startRemoteEngine(o?: object): Promise<Remote>;
  startSshd(o: { engineSocket: string }): Promise<Sshd>;
  copyImages(images: string[], socket: string): void;
  makeCertificates(dir: string): { ca: string; cert: string; key: string };
}

/** Calls `fn` until it fails (a kept connection may answer once more while it notices the drop); rethrows that failure. */
async function eventuallyFails(fn: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 50; i++) await fn();
}

const lib = () => import(pathToFileURL(path.join(projectRoot, 'scripts/lib/remote.mjs')).href) as Promise<RemoteLib>;

describe('transports', () => {
  let remote: Remote;
  let sshd: Sshd;
  let tmp: string;
  let containerId: string;
  const engines: Engine[] = [];
  const engineFor = (address: string, extras?: Parameters<typeof parseEndpoint>[2]) => {
    const e = new Engine(parseEndpoint(address, 'test', extras));
    engines.push(e);
    return e;
  };

  /** A home folder with .ssh/config naming the test's host, key and known_hosts. */
  const sshHome = (knownHosts: string) => {
    const home = fs.mkdtempSync(path.join(tmp, 'home-'));
    fs.mkdirSync(path.join(home, '.ssh'));
    fs.writeFileSync(path.join(home, '.ssh/config'), [
      'Host remote-test',
      '  HostName 127.0.0.1',
      `  Port ${sshd.port}`,
      '  User root',
      `  IdentityFile ${sshd.identity}`,
      `  UserKnownHostsFile ${knownHosts}`,
      '',
    ].join('\n'));
    return home;
  };

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-transport-'));
    const l = await lib();
    remote = await l.startRemoteEngine();
    l.copyImages([IMAGES.busybox], remote.socket);
    sshd = await l.startSshd({ engineSocket: remote.socket });
    // One container on the remote engine, made through its unix socket: the thing every transport must see.
    const c = await engineFor(`unix://${remote.socket}`).docker.createContainer({
      Image: IMAGES.busybox, Cmd: ['sleep', '3600'], Labels: { [TEST_LABEL]: 'true' }, HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
    containerId = c.id;
  });

  after(async () => {
    for (const e of engines) closeClient(e.docker);
    await sshd?.dispose();
    await remote?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('reaches the engine over tcp with TLS and client certificates; its PIDs are not ours', async () => {
    const e = engineFor(remote.tcp, { tls: remote.certs });
    assert.equal(e.endpoint.warning, undefined);
    const list = await e.listContainers();
    assert.ok(list.some((c) => c.id === containerId));
    const d = await e.inspect(containerId);
    assert.ok(d.pid, 'the container runs');
    // As on another host: the PID it reports is not this container in our /proc.
    assert.equal(await pidBelongsTo(d.pid!, containerId), false);
  });

  it('refuses an engine whose certificate is not signed by the given CA, and says what to do', async () => {
    const other = (await lib()).makeCertificates(path.join(tmp, 'other-ca'));
    const e = engineFor(remote.tcp, { tls: { ca: other.ca, cert: remote.certs.cert, key: remote.certs.key } });
    await assert.rejects(e.ping(), (err: Error) => {
      assert.match(err.message, /TLS certificate was not accepted/);
      assert.match(err.message, /CA that signed/);
      return true;
    });
  });

  it('explains a TLS engine that wants a client certificate', async () => {
    const e = engineFor(remote.tcp, { tls: { ca: remote.certs.ca } });
    await assert.rejects(e.ping(), (err: Error) => {
      assert.match(err.message, new RegExp(`${remote.tcp.replace(/[.]/g, '\\.')}`));
      assert.match(err.message, /client certificate/);
      return true;
    });
  });

  it('names the file and the fix for bad TLS input', () => {
    const missing = path.join(tmp, 'nope/ca.pem');
    assert.throws(() => parseEndpoint(remote.tcp, 'The setting sidecar.engines', { tls: { ca: missing } }),
      (e: Error) => e instanceof SettingsError && e.message.includes(missing) && /does not exist/.test(e.message));
    assert.throws(() => parseEndpoint(remote.tcp, 'test', { tls: { cert: remote.certs.cert } }), /needs its key/);
    const notPem = path.join(tmp, 'not.pem');
    fs.writeFileSync(notPem, 'hello');
    assert.throws(() => parseEndpoint(remote.tcp, 'test', { tls: { ca: notPem } }), /not a PEM file/);
    assert.throws(() => parseEndpoint(remote.tcp, 'test', { tls: { ca: tmp } }), /is a folder/);
    assert.throws(() => parseEndpoint('http://127.0.0.1:2376', 'test', { tls: remote.certs }), /says http:\/\/ but TLS files/);
  });

  it('warns about plain tcp', () => {
    const e = parseEndpoint('tcp://127.0.0.1:2375', 'test');
    assert.match(e.warning ?? '', /plain tcp/);
    assert.equal(e.options.protocol, 'http');
  });

  it('reaches the engine over ssh with ~/.ssh/config and a pinned known_hosts; exec works through the channel', async () => {
    const home = sshHome(sshd.knownHosts);
    const e = engineFor('ssh://remote-test', { ssh: { home, agent: '' } });
    assert.equal(e.endpoint.ssh?.port, sshd.port);
    const list = await e.listContainers();
    assert.ok(list.some((c) => c.id === containerId));
    // A hijacked stream (exec attach) over the same ssh connection.
    const r = await execIn(e.docker, containerId, ['echo', 'over-ssh']);
    assert.equal(r.stdout.trim(), 'over-ssh');
    // More calls at once than sshd allows sessions per connection: a second connection takes the rest.
    // (Through call(), without the per-call deadline: twelve dial-stdio starts at once are slow on a busy machine.)
    const many = await Promise.all(Array.from({ length: 12 }, () => e.call((d) => d.getContainer(containerId).inspect())));
    assert.ok(many.every((d) => d.Id === containerId));
  });

  it('re-establishes a dropped ssh connection by itself, with a backoff meanwhile', async () => {
    const e = engineFor('ssh://remote-test', { ssh: { home: sshHome(sshd.knownHosts), agent: '' } });
    await e.ping();
    await sshd.stop();
    // The kept connection is gone with the server; calls fail with a reason, not a hang.
    await assert.rejects(eventuallyFails(() => e.ping()));
    await sshd.restart();
    await eventually(async () => (await e.ping(), true), 'the engine over ssh again', 30_000);
    const list = await e.listContainers();
    assert.ok(list.some((c) => c.id === containerId));
  });

  it('refuses an unknown host key with the host, the SHA256 fingerprint and how to trust it', async () => {
    const empty = path.join(tmp, 'known_hosts.empty');
    fs.writeFileSync(empty, '');
    const e = engineFor('ssh://remote-test', { ssh: { home: sshHome(empty), agent: '' } });
    await assert.rejects(e.ping(), (err: Error) => {
      assert.ok(err instanceof HostKeyError, String(err));
      assert.ok(err.message.includes(sshd.hostName), err.message);
      // The fingerprint ssh-keygen prints for the server's key.
      assert.ok(err.message.includes(sshd.fingerprint), err.message);
      assert.match(err.message, /not known/);
      assert.ok(err.message.includes(`ssh -p ${sshd.port} root@127.0.0.1`), err.message);
      return true;
    });
  });

  it('checks the host key before anything else, and names a missing login key after', async () => {
    const keyless = (knownHosts: string) => {
      const home = fs.mkdtempSync(path.join(tmp, 'keyless-'));
      fs.mkdirSync(path.join(home, '.ssh'));
      fs.writeFileSync(path.join(home, '.ssh/config'), `Host remote-test\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User root\n  UserKnownHostsFile ${knownHosts}\n`);
      return home;
    };
    const empty = path.join(tmp, 'known_hosts.empty2');
    fs.writeFileSync(empty, '');
    await assert.rejects(engineFor('ssh://remote-test', { ssh: { home: keyless(empty), agent: '' } }).ping(), (err: Error) => err instanceof HostKeyError && err.message.includes(sshd.fingerprint));
    await assert.rejects(engineFor('ssh://remote-test', { ssh: { home: keyless(sshd.knownHosts), agent: '' } }).ping(), /no ssh key to log in to 127\.0\.0\.1:\d+ with/);
  });

  it('refuses a changed host key and says how to remove the old one', async () => {
    const changed = path.join(tmp, 'known_hosts.changed');
    fs.writeFileSync(changed, sshd.otherHostKeyLine + '\n');
    const e = engineFor('ssh://remote-test', { ssh: { home: sshHome(changed), agent: '' } });
    await assert.rejects(e.ping(), (err: Error) => {
      assert.ok(err instanceof HostKeyError, String(err));
      assert.match(err.message, /has CHANGED/);
      assert.ok(err.message.includes(sshd.fingerprint), err.message);
      assert.ok(err.message.includes(`ssh-keygen -R '${sshd.hostName}'`), err.message);
      return true;
    });
  });

  it('accepts a hashed known_hosts entry (ssh-keygen -H) and matches patterns as ssh does', () => {
    const hashed = path.join(tmp, 'known_hosts.hashed');
    fs.writeFileSync(hashed, sshd.hostKeyLine + '\n');
    assert.equal(spawnSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' }).status, 0);
    assert.match(fs.readFileSync(hashed, 'utf8'), /^\|1\|/);
    const key = Buffer.from(sshd.hostKeyLine.split(' ')[2], 'base64');
    assert.equal(fingerprint(key), sshd.fingerprint);
    const target = { host: '127.0.0.1', port: sshd.port, user: 'root', knownHostsFiles: [hashed] };
    assert.deepEqual(checkHostKey(target, key), { ok: true });
    assert.equal(checkHostKey({ ...target, port: 22 }, key).ok, false, 'the port is part of the name');
    assert.ok(hostMatches('build.example.org', ['*.example.org']));
    assert.ok(!hostMatches('bad.example.org', ['*.example.org', '!bad.*']));
  });

  it('reads ~/.ssh/config as ssh does: first value wins, Match blocks are not applied', () => {
    const conf = sshConfigFor('Host box\n  Port 2200\n  IdentityFile ~/.ssh/a\nMatch exec "true"\n  Port 9\nHost *\n  Port 22\n  User me\n  IdentityFile ~/.ssh/b\n', 'box');
    assert.deepEqual(conf.get('port'), ['2200']);
    assert.deepEqual(conf.get('user'), ['me']);
    assert.deepEqual(conf.get('identityfile'), ['~/.ssh/a', '~/.ssh/b']);
  });

  it('names the problem and the fix for bad ssh input', () => {
    const home = fs.mkdtempSync(path.join(tmp, 'nokeys-'));
    assert.throws(() => parseEndpoint('ssh://', 'test', { ssh: { home } }), /not a valid ssh address|names no host/);
    assert.throws(() => parseEndpoint('ssh://u:secret@host', 'test', { ssh: { home } }), /contains a password/);
    assert.throws(() => parseEndpoint('ssh://u@host:99999', 'test', { ssh: { home } }), /not a valid ssh address|not a port number/);
    fs.mkdirSync(path.join(home, '.ssh'));
    fs.writeFileSync(path.join(home, '.ssh/config'), 'Host h\n  IdentityFile ~/.ssh/missing_key\n');
    assert.throws(() => parseEndpoint('ssh://u@h', 'test', { ssh: { home } }), (e: Error) => e instanceof SettingsError && e.message.includes(path.join(home, '.ssh/missing_key')) && /does not exist/.test(e.message));
    fs.writeFileSync(path.join(home, '.ssh/garbage'), 'not a key');
    fs.writeFileSync(path.join(home, '.ssh/config'), 'Host h\n  IdentityFile ~/.ssh/garbage\n');
    assert.throws(() => parseEndpoint('ssh://u@h', 'test', { ssh: { home } }), /not an ssh private key/);
    // A key with a passphrase and no agent to hold it.
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'pass phrase', '-f', path.join(home, '.ssh/locked')]);
    fs.writeFileSync(path.join(home, '.ssh/config'), 'Host h\n  IdentityFile ~/.ssh/locked\n');
    assert.throws(() => parseEndpoint('ssh://u@h', 'test', { ssh: { home, agent: '' } }), /protected by a passphrase; add it to ssh-agent/);
  });
});
