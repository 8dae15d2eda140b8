// Namespaces and processes of real containers on the real engine, read from
// the real /proc, plus the HostConfig path that non-root users get.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import type { ContainerDetail } from '../../src/engine/containers';
import { daemonFactsFromInfo, hostNamespaces, namespaceSnapshot, NS_TYPES, readNamespaces, sharingFromHostConfig, sharingFromInodes, type DaemonFacts } from '../../src/procfs/namespaces';
import { containerProcesses, parseStatus } from '../../src/procfs/processes';
import { execIn, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';

describe('namespaces and processes of real containers', () => {
  const docker = testDocker();
  const engine = new Engine(resolveEndpoint(undefined));
  const names = { web: uniqueName('ns-web'), dbg: uniqueName('ns-web-debugger'), hostpid: uniqueName('ns-hostpid'), alone: uniqueName('ns-alone') };
  const ids: string[] = [];
  let details: ContainerDetail[] = [];
  let daemon: DaemonFacts;

  before(async () => {
    const web = await runContainer(docker, { name: names.web, cmd: ['sh', '-c', 'httpd -f -p 127.0.0.1:8080 & sleep 3600'] });
    ids.push(web.id);
    const dbg = await runContainer(docker, { name: names.dbg, hostConfig: { PidMode: `container:${web.id}`, NetworkMode: `container:${web.id}` } });
    ids.push(dbg.id);
    const hp = await runContainer(docker, { name: names.hostpid, hostConfig: { PidMode: 'host' } });
    ids.push(hp.id);
    const alone = await runContainer(docker, { name: names.alone });
    ids.push(alone.id);
    details = await Promise.all(ids.map((id) => engine.inspect(id)));
    daemon = daemonFactsFromInfo(await docker.info());
  });
  after(() => removeQuietly(docker, ids));

  it('web and a --pid=container:web --network=container:web container share exactly the pid and net inodes', async () => {
    const [web, dbg] = await Promise.all([readNamespaces(details[0].pid!), readNamespaces(details[1].pid!)]);
    const shared = NS_TYPES.filter((t) => web[t] === dbg[t]);
    const host = await hostNamespaces();
    // user, time and (on cgroup v1) cgroup are the host's for every container, so
    // compare only the types Docker creates per container.
    const perContainer = NS_TYPES.filter((t) => web[t] !== host[t]);
    assert.deepEqual(perContainer.filter((t) => shared.includes(t)).sort(), ['net', 'pid']);
    assert.ok(perContainer.includes('mnt') && perContainer.includes('uts') && perContainer.includes('ipc'));
    const snap = await namespaceSnapshot(details, daemon);
    assert.equal(snap.source, 'proc');
    const s = snap.containers.get(ids[0])!;
    assert.deepEqual(s.pid.with, [ids[1]]);
    assert.deepEqual(s.net.with, [ids[1]]);
    assert.deepEqual(s.mnt.with, []);
    assert.equal(s.pid.inode, web.pid);
  });

  it('a --pid=host container shares the host pid namespace', async () => {
    const snap = await namespaceSnapshot(details, daemon);
    const hp = snap.containers.get(ids[2])!;
    assert.equal(hp.pid.inode, (await hostNamespaces()).pid);
    assert.equal(hp.pid.host, true);
    assert.equal(hp.net.host, false);
    assert.equal(snap.containers.get(ids[0])!.pid.host, false);
  });

  it('maps host PIDs to in-container PIDs through NSpid', async () => {
    const procs = await containerProcesses(details[0]);
    assert.equal(procs.length, 1, 'one root process');
    // busybox sh runs the last command of `-c` in place, so PID 1 is sleep, parent of httpd.
    const sh = procs[0];
    assert.equal(sh.hostPid, details[0].pid);
    assert.equal(sh.nsPid, 1);
    assert.equal(sh.user, 'root');
    assert.equal(sh.command, 'sleep 3600');
    assert.deepEqual(sh.children.map((c) => c.command), ['httpd -f -p 127.0.0.1:8080']);
    // What the container itself reports for the same processes.
    const ps = await execIn(docker, ids[0], ['sh', '-c', 'for p in /proc/[0-9]*; do echo "${p#/proc/} $(tr "\\0" " " < $p/cmdline)"; done']);
    const inside = new Map(ps.stdout.trim().split('\n').map((l) => [l.slice(l.indexOf(' ') + 1).trim(), Number(l.split(' ')[0])]));
    for (const c of sh.children) {
      assert.equal(c.nsPid, inside.get(c.command), `${c.command}: NSpid ${c.nsPid} matches the container's own /proc`);
      const status = parseStatus(fs.readFileSync(`/proc/${c.hostPid}/status`, 'utf8'));
      assert.deepEqual(status.nspid, [c.hostPid, c.nsPid]);
    }
  });

  it('finds a container by its cgroup even when it shares a pid namespace', async () => {
    const dbg = await containerProcesses(details[1]);
    assert.deepEqual(dbg.map((p) => p.command), ['sleep 3600']);
    assert.equal(dbg[0].nsPid > 1, true, 'the joiner is not PID 1 of the shared namespace');
    const hp = await containerProcesses(details[2]);
    assert.deepEqual(hp.map((p) => [p.command, p.nsPid === p.hostPid]), [['sleep 3600', true]]);
  });

  it('user names come from the container\'s /etc/passwd, its absolute symlinks resolved inside the container', async () => {
    // A naive read of /proc/<pid>/root/etc/passwd would follow this link to the host's /etc/inside-passwd.
    const c = await runContainer(docker, { name: uniqueName('ns-passwd'), cmd: ['sh', '-c', 'echo "inside-root:x:0:0::/:/bin/sh" > /etc/inside-passwd; ln -sf /etc/inside-passwd /etc/passwd; touch /tmp/ready; exec sleep 3600'] });
    ids.push(c.id);
    for (let i = 0; i < 50 && (await execIn(docker, c.id, ['test', '-e', '/tmp/ready'])).exitCode !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(fs.existsSync('/etc/inside-passwd'), false, 'the host has no such file');
    const procs = await containerProcesses(await engine.inspect(c.id));
    assert.equal(procs[0].user, 'inside-root');
  });

  it('the HostConfig fallback gives the same sharing as the inode path', async () => {
    const snap = await namespaceSnapshot(details, daemon);
    const fromConfig = sharingFromHostConfig(details, daemon);
    for (const d of details) {
      for (const t of NS_TYPES) {
        const a = snap.containers.get(d.id)![t];
        const b = fromConfig.get(d.id)![t];
        assert.deepEqual({ host: b.host, with: [...b.with].sort() }, { host: a.host, with: [...a.with].sort() }, `${d.name} ${t}`);
      }
    }
  });

  it('sharing from inodes is symmetric and ignores unknown inodes', () => {
    const m = sharingFromInodes(new Map([['a', { pid: 5, net: 7 }], ['b', { pid: 5, net: 8 }]]), { pid: 9 });
    assert.deepEqual(m.get('a')!.pid.with, ['b']);
    assert.deepEqual(m.get('b')!.pid.with, ['a']);
    assert.deepEqual(m.get('a')!.net.with, []);
    assert.deepEqual(m.get('a')!.mnt, { inode: undefined, host: false, with: [] });
  });

  it('as the non-root user sidecar-dev: /proc is refused and the HostConfig path gives the same sharing', { timeout: 60_000 }, async () => {
    const users = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/users.mjs')).href)) as { ensureTestUser(): { uid: number; gid: number } };
    const { uid, gid } = users.ensureTestUser();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-nonroot-'));
    fs.chmodSync(dir, 0o755);
    const input = path.join(dir, 'details.json');
    fs.writeFileSync(input, JSON.stringify({ details, daemon }));
    const script = path.join(dir, 'probe.js');
    // A real child process as sidecar-dev runs the same snapshot code.
    fs.writeFileSync(script, `
      const { namespaceSnapshot } = require(${JSON.stringify(path.join(projectRoot, 'out/src/procfs/namespaces.js'))});
      const { details, daemon } = require(${JSON.stringify(input)});
      namespaceSnapshot(details, daemon).then((s) => {
        const c = {};
        for (const [id, v] of s.containers) c[id] = v;
        console.log(JSON.stringify({ uid: process.getuid(), source: s.source, reason: s.reason, containers: c }));
      }, (e) => { console.error(e.stack); process.exit(1); });
    `);
    const r = spawnSync(process.execPath, [script], { uid, gid, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { uid: number; source: string; reason: string; containers: Record<string, Record<string, { inode?: number; host: boolean; with: string[] }>> };
    assert.equal(out.uid, uid);
    assert.equal(out.source, 'hostconfig');
    assert.match(out.reason, /not root, so sharing comes from the containers' HostConfig/);
    const rootSnap = await namespaceSnapshot(details, daemon);
    for (const d of details) {
      for (const t of NS_TYPES) {
        const a = rootSnap.containers.get(d.id)![t];
        const b = out.containers[d.id][t];
        assert.equal(b.inode, undefined);
        assert.deepEqual({ host: b.host, with: [...b.with].sort() }, { host: a.host, with: [...a.with].sort() }, `${d.name} ${t}`);
      }
    }
  });
});
