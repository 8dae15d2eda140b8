// The hostile-container suite, shared by both backends (direct /proc and the
// helper container). A busybox container plants absolute, relative, chained
// and looping links, links into its own /proc, FIFOs and devices, and a
// directory it swaps with a symlink to a host path in a tight loop. Host
// canary files must keep their content, and no write may land on the host.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import type { ContainerFs, EntryStat } from '../../src/procfs/rootfs';
import { execIn, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

export interface BackendUnderTest {
  fs: ContainerFs;
  dispose(): Promise<void>;
}

const HOST_SECRET = 'HOST-SECRET-do-not-read';
const HOST_WRITE = 'host-original';

// Runs in the container: plants the links, then swaps /race/d forever.
const SETUP = `
set -e
H="$1"
mkdir -p "$H" /app/sub /race/real /etc/conf
echo container-copy > "$H/secret"
echo container-write > "$H/target"
echo conf-in-container > /etc/conf/app.conf
echo hello > /app/sub/hello.txt
ln -s "$H/secret" /app/abs
ln -s ../etc/conf/app.conf /app/rel
ln -s chain2 /app/chain1
ln -s /app/chain3 /app/chain2
ln -s ../../../../app/abs /app/chain3
ln -s loop2 /app/loop1
ln -s loop1 /app/loop2
ln -s /proc/self/root /app/selfroot
ln -s /proc/1/root /app/pid1root
ln -s "$H" /app/hostdir
ln -s "$H/target" /app/wlink
ln -s /nowhere /app/dangling
ln -s /app/sub /app/sublink
i=0
while [ $i -lt 45 ]; do ln -s deep$((i+1)) /app/deep$i; i=$((i+1)); done
echo deep-end > /app/deep45
mkfifo /app/fifo
echo container > /race/real/f
ln -s "$H" /race/evil
touch /ready
while :; do
  mv /race/real /race/d; mv /race/d /race/real
  mv /race/evil /race/d; mv /race/d /race/evil
done
`;

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

async function rejectsAny(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e: Error) => !(e instanceof assert.AssertionError), `${what} must be refused`);
}

async function rejectsWith(p: Promise<unknown>, code: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error & { code?: string }) => {
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (re) assert.match(e.message, re);
    return true;
  });
}

/** Either the container's own content or a refusal (ELOOP for a /proc magic link); never anything else. */
async function insideOrRefused(p: Promise<Uint8Array>, inside: string): Promise<void> {
  try {
    assert.equal(text(await p), inside);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.ok(['ELOOP', 'ENOENT'].includes((e as { code?: string }).code ?? ''), String(e));
    assert.doesNotMatch(String(e), new RegExp(HOST_SECRET));
  }
}

/** Never the host's secret: content from the container, or an error. */
async function neverHost(p: Promise<Uint8Array>, what: string): Promise<void> {
  try {
    const got = text(await p);
    assert.ok(!got.includes(HOST_SECRET), `${what} read the host's file`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.ok(!String(e).includes(HOST_SECRET), String(e));
  }
}

export function hostileSuite(label: string, makeBackend: (c: Docker.ContainerInspectInfo) => Promise<BackendUnderTest>): void {
  describe(`rootfs confinement (${label}) against a hostile container`, () => {
    const docker = testDocker();
    // The host side: a canary to read, a canary to write, in a path the container names.
    const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-canary-'));
    let container: Docker.Container;
    let backend: BackendUnderTest;
    let cfs: ContainerFs;

    before(async () => {
      fs.writeFileSync(path.join(hostDir, 'secret'), HOST_SECRET);
      fs.writeFileSync(path.join(hostDir, 'target'), HOST_WRITE);
      container = await runContainer(docker, { name: uniqueName('cs-hostile'), cmd: ['sh', '-c', SETUP, 'sh', hostDir] });
      for (let i = 0; i < 100; i++) {
        if ((await execIn(docker, container.id, ['test', '-e', '/ready'])).exitCode === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      backend = await makeBackend(await container.inspect());
      cfs = backend.fs;
    });

    after(async () => {
      await backend?.dispose();
      await removeQuietly(docker, [container]);
      // Every test leaves the host canaries as they were; check once more at the end.
      assertHostUntouched();
      fs.rmSync(hostDir, { recursive: true, force: true });
    });

    function assertHostUntouched(): void {
      assert.equal(fs.readFileSync(path.join(hostDir, 'secret'), 'utf8'), HOST_SECRET);
      assert.equal(fs.readFileSync(path.join(hostDir, 'target'), 'utf8'), HOST_WRITE);
      assert.deepEqual(fs.readdirSync(hostDir).sort(), ['secret', 'target'], 'nothing was created in the host directory');
    }

    it('reads a plain file', async () => {
      assert.equal(text(await cfs.readFile('/app/sub/hello.txt')), 'hello\n');
    });

    it('an absolute link resolves against the container root, not the host', async () => {
      assert.equal(text(await cfs.readFile('/app/abs')), 'container-copy\n');
      const st = await cfs.stat('/app/abs');
      assert.equal(st.isLink, true);
      assert.equal(st.kind, 'file');
    });

    it('relative and chained links resolve inside the container, with .. clamped at its root', async () => {
      assert.equal(text(await cfs.readFile('/app/rel')), 'conf-in-container\n');
      assert.equal(text(await cfs.readFile('/app/chain1')), 'container-copy\n');
      assert.equal(text(await cfs.readFile(`/../../..${hostDir}/secret`)), 'container-copy\n');
      assert.equal(text(await cfs.readFile(`/app/sub/../../../../..${hostDir}/secret`)), 'container-copy\n');
      assert.equal(text(await cfs.readFile('/app/sublink/../sub/hello.txt')), 'hello\n');
    });

    it('a link loop and a chain deeper than 40 links give a clear error', async () => {
      await rejectsWith(cfs.readFile('/app/loop1'), 'ELOOP', /symbolic links.*loop/);
      await rejectsWith(cfs.readFile('/app/deep0'), 'ELOOP', /more than 40 symbolic links/);
      assert.equal(text(await cfs.readFile('/app/deep10')), 'deep-end\n');
    });

    it('links to /proc/self/root and /proc/1/root stay inside the container', async () => {
      // The host's procfs answers "no such process" for a reader outside the
      // container's pid namespace; a reader inside it sees its own, confined root.
      await insideOrRefused(cfs.readFile(`/app/selfroot${hostDir}/secret`), 'container-copy\n');
      // The direct backend resolves the link's text (`/`) inside the container;
      // the helper refuses to follow a /proc magic link at all. Either is safe.
      await insideOrRefused(cfs.readFile(`/app/pid1root${hostDir}/secret`), 'container-copy\n');
      await insideOrRefused(cfs.readFile('/app/pid1root/app/sub/hello.txt'), 'hello\n');
    });

    it('a dangling link is listed as a link to nothing; directories list their entries', async () => {
      const entries = new Map<string, EntryStat>(await cfs.readdir('/app'));
      assert.equal(entries.get('dangling')?.isLink, true);
      assert.equal(entries.get('dangling')?.kind, 'missing');
      assert.equal(entries.get('sub')?.kind, 'dir');
      assert.equal(entries.get('sublink')?.kind, 'dir');
      assert.equal(entries.get('sublink')?.isLink, true);
      assert.equal(entries.get('abs')?.kind, 'file');
      assert.equal(entries.get('fifo')?.kind, 'other');
      const hostList = await cfs.readdir('/app/hostdir');
      assert.deepEqual(hostList.map(([n]) => n).sort(), ['secret', 'target'], 'the listing is the container directory');
      await rejectsWith(cfs.readdir('/app/sub/hello.txt'), 'ENOTDIR');
      await rejectsWith(cfs.stat('/app/nope'), 'ENOENT');
    });

    it('refuses FIFOs and devices at once instead of hanging', async () => {
      await rejectsWith(cfs.readFile('/app/fifo'), 'ENOTREG', /\/app\/fifo is not a regular file \(a FIFO\)/);
      await rejectsWith(cfs.readFile('/dev/null'), 'ENOTREG', /character device/);
      await rejectsWith(cfs.readFile('/app/sub'), 'EISDIR');
    });

    it('writes through absolute links land in the container, never on the host', async () => {
      await cfs.writeFile('/app/wlink', Buffer.from('written-by-test\n'), { create: true, overwrite: true });
      await cfs.writeFile('/app/hostdir/new-file', Buffer.from('new\n'), { create: true, overwrite: false });
      await cfs.mkdir('/app/hostdir/new-dir');
      const inside = await execIn(docker, container.id, ['cat', `${hostDir}/target`, `${hostDir}/new-file`]);
      assert.equal(inside.stdout, 'written-by-test\nnew\n');
      assert.equal((await execIn(docker, container.id, ['test', '-d', `${hostDir}/new-dir`])).exitCode, 0);
      assert.equal((await execIn(docker, container.id, ['test', '-L', '/app/wlink'])).exitCode, 0, 'the link itself is kept');
      await cfs.rename('/app/hostdir/new-file', '/app/hostdir/renamed', { overwrite: false });
      await cfs.delete('/app/hostdir/renamed', { recursive: false });
      await cfs.delete('/app/hostdir/new-dir', { recursive: true });
      assertHostUntouched();
    });

    it('writes are atomic and keep mode and owner; new files take the directory owner', async () => {
      await execIn(docker, container.id, ['sh', '-c', 'mkdir -p /own && chown 1234:2345 /own && echo a > /own/f && chown 4321:5432 /own/f && chmod 0640 /own/f']);
      await cfs.writeFile('/own/f', Buffer.from('b\n'), { create: false, overwrite: true });
      await cfs.writeFile('/own/g', Buffer.from('c\n'), { create: true, overwrite: false });
      await cfs.mkdir('/own/d');
      const r = await execIn(docker, container.id, ['stat', '-c', '%n %u %g %a', '/own/f', '/own/g', '/own/d']);
      assert.equal(r.stdout, '/own/f 4321 5432 640\n/own/g 1234 2345 644\n/own/d 1234 2345 755\n');
      const ls = await execIn(docker, container.id, ['ls', '-a', '/own']);
      assert.deepEqual(ls.stdout.split('\n').filter(Boolean).sort(), ['.', '..', 'd', 'f', 'g'], 'no temporary file is left');
      await rejectsWith(cfs.writeFile('/own/f', Buffer.from('x'), { create: true, overwrite: false }), 'EEXIST');
      await rejectsWith(cfs.writeFile('/own/none', Buffer.from('x'), { create: false, overwrite: true }), 'ENOENT');
      await rejectsWith(cfs.writeFile('/own/d', Buffer.from('x'), { create: true, overwrite: true }), 'EISDIR');
      await rejectsWith(cfs.writeFile('/app/fifo', Buffer.from('x'), { create: true, overwrite: true }), 'ENOTREG');
    });

    it('delete, rename and copy work inside the container and respect overwrite', async () => {
      await execIn(docker, container.id, ['sh', '-c', 'mkdir -p /ops/a/b && echo 1 > /ops/a/b/one && echo 2 > /ops/two && ln -s /app /ops/a/applink']);
      await cfs.copy('/ops/a', '/ops/c', { overwrite: false });
      await cfs.copy('/ops/two', '/ops/three', { overwrite: false });
      await rejectsWith(cfs.copy('/ops/two', '/ops/three', { overwrite: false }), 'EEXIST');
      await rejectsWith(cfs.rename('/ops/two', '/ops/three', { overwrite: false }), 'EEXIST');
      await cfs.rename('/ops/two', '/ops/three', { overwrite: true });
      await rejectsWith(cfs.delete('/ops/a', { recursive: false }), 'ENOTEMPTY');
      await cfs.delete('/ops/a', { recursive: true });
      const r = await execIn(docker, container.id, ['sh', '-c', 'cat /ops/c/b/one /ops/three; readlink /ops/c/applink; ls /ops']);
      assert.equal(r.stdout, '1\n2\n/app\nc\nthree\n');
      // A recursive delete through a link to the host directory removes the link, not the host files.
      await cfs.delete('/app/hostdir', { recursive: true });
      assertHostUntouched();
      await rejectsWith(cfs.delete('/', { recursive: true }), 'EPERM');
    });

    it('a privileged peer with a host mount in the same pid namespace is never reached through /proc/<pid>/root, cwd or fd', async () => {
      // The peer may ptrace and holds the host directory; the target links to its /proc entries.
      const peer = await runContainer(docker, {
        name: uniqueName('cs-peer'),
        cmd: ['sh', '-c', 'cd /hostmnt && exec 3</hostmnt/secret && exec sleep 2147481'],
        hostConfig: { PidMode: `container:${container.id}`, CapAdd: ['SYS_PTRACE'], Binds: [`${hostDir}:/hostmnt`] },
      });
      try {
        let pid = '';
        for (let i = 0; i < 100 && !pid; i++) {
          pid = (await execIn(docker, container.id, ['sh', '-c', 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = sleep ] && grep -q 2147481 $p/cmdline && echo ${p#/proc/}; done'])).stdout.trim();
          if (!pid) await new Promise((r) => setTimeout(r, 100));
        }
        assert.match(pid, /^\d+$/, 'the peer runs in the target\'s pid namespace');
        await execIn(docker, container.id, ['sh', '-c', `ln -sfn /proc/${pid}/root /app/peerroot; ln -sfn /proc/${pid}/cwd /app/peercwd; ln -sfn /proc/${pid}/fd/3 /app/peerfd`]);
        for (const p of ['/app/peerroot/hostmnt/secret', '/app/peercwd/secret', '/app/peerfd', `/proc/${pid}/root/hostmnt/secret`, `/proc/${pid}/cwd/secret`, `/proc/${pid}/fd/3`]) {
          await neverHost(cfs.readFile(p), p);
        }
        const names = await cfs.readdir('/app/peercwd').catch(() => []);
        assert.ok(!names.some(([n]) => n === 'secret'), 'the host directory is not listed');
        for (const p of ['/app/peerroot/hostmnt/new', '/app/peercwd/new', '/app/peercwd/target', '/app/peerfd', `/proc/${pid}/cwd/target`]) {
          await cfs.writeFile(p, Buffer.from('written'), { create: true, overwrite: true }).catch(() => undefined);
          await cfs.mkdir(`${p}-dir`).catch(() => undefined);
        }
        await cfs.delete('/app/peercwd/secret', { recursive: false }).catch(() => undefined);
        await cfs.rename('/app/peercwd/target', '/app/peercwd/moved', { overwrite: true }).catch(() => undefined);
        assertHostUntouched();
      } finally {
        await removeQuietly(docker, [peer]);
      }
    });

    it("no process's own root is reachable, the files helper's included", async () => {
      await cfs.stat('/');
      // Whatever runs in the target's pid namespace (the helper, if this backend has one).
      const pids = (await execIn(docker, container.id, ['sh', '-c', 'for p in /proc/[0-9]*; do echo ${p#/proc/}; done'])).stdout.split('\n').filter(Boolean);
      for (const pid of pids) {
        await neverHost(cfs.readFile(`/proc/${pid}/root${hostDir}/secret`), `/proc/${pid}/root`);
        await rejectsAny(cfs.readFile(`/proc/${pid}/root/resolver`), `the helper's own program through /proc/${pid}/root`);
      }
    });

    it('a file swapped with a device or a FIFO is never read as one, in 100 tries each', async () => {
      // Each kind in a folder of its own, set up in full before its swap loop starts.
      const swap = 'cd /swap-$1 && while [ ! -e stop ]; do mv f r2; mv $1 f; mv f $1; mv r2 f; done';
      for (const kind of ['zero', 'fifo']) {
        const dir = `/swap-${kind}`;
        await execIn(docker, container.id, ['sh', '-c', `mkdir ${dir} && cd ${dir} && echo regular > f && ${kind === 'zero' ? 'mknod zero c 1 5' : 'mkfifo fifo'}`]);
        const ex = await docker.getContainer(container.id).exec({ Cmd: ['sh', '-c', swap, 'sh', kind] });
        await ex.start({ Detach: true });
        try {
          for (let i = 0; i < 100; i++) {
            try {
              assert.equal(text(await cfs.readFile(`${dir}/f`)), 'regular\n');
            } catch (e) {
              if (e instanceof assert.AssertionError) throw e;
              assert.ok(['ENOTREG', 'ENOENT'].includes((e as { code?: string }).code ?? ''), String(e));
            }
          }
          // The backend still answers after the race.
          assert.equal(text(await cfs.readFile('/app/sub/hello.txt')), 'hello\n');
        } finally {
          await execIn(docker, container.id, ['touch', `${dir}/stop`]);
        }
      }
    });

    it('a 1 GiB sparse file reads whole while a stat of another file is answered', async () => {
      await execIn(docker, container.id, ['sh', '-c', 'dd if=/dev/zero of=/big bs=1 count=0 seek=1073741824 2>/dev/null; echo tail >> /big']);
      try {
        const read = cfs.readFile('/big');
        const st = await cfs.stat('/app/sub/hello.txt');
        assert.equal(st.size, 6);
        const b = await read;
        assert.equal(b.length, 1024 ** 3 + 5);
        assert.equal(b[0], 0);
        assert.equal(text(b.subarray(b.length - 5)), 'tail\n');
      } finally {
        await execIn(docker, container.id, ['rm', '-f', '/big']);
      }
    });

    it('names with newlines and other odd bytes list, read and write as they are', async () => {
      const names = ['a\nb', '\nlead', 'tab\there', 'back\\slash', ' space ', '-dash', 'q\'"', 'ünï'];
      await execIn(docker, container.id, ['mkdir', '-p', '/names']);
      for (const n of names) await cfs.writeFile(`/names/${n}`, Buffer.from(n), { create: true, overwrite: false });
      assert.deepEqual((await cfs.readdir('/names')).map(([n]) => n).sort(), [...names].sort());
      for (const n of names) assert.equal(text(await cfs.readFile(`/names/${n}`)), n);
      const inside = await execIn(docker, container.id, ['cat', '/names/a\nb']);
      assert.equal(inside.stdout, 'a\nb');
    });

    it("/proc and /sys files are unavailable, never the reader's values shown as the container's", async () => {
      const containerHost = (await execIn(docker, container.id, ['hostname'])).stdout.trim();
      assert.notEqual(containerHost, os.hostname());
      for (const p of ['/proc/sys/kernel/hostname', '/proc/1/status', '/sys/kernel/uevent_seqnum']) {
        await assert.rejects(cfs.readFile(p), (e: Error & { code?: string }) => {
          assert.equal(e.code, 'Unavailable', e.message);
          assert.match(e.message, new RegExp(`${p} is on (procfs|sysfs), a pseudo file system`));
          assert.ok(!e.message.includes(os.hostname()));
          return true;
        });
      }
      // Listing stays possible: only the values are refused.
      assert.ok((await cfs.readdir('/proc/sys/kernel')).some(([n]) => n === 'hostname'));
    });

    it('a directory swapped with a host symlink in a tight loop never redirects 1000 reads and writes', async () => {
      let okReads = 0;
      let okWrites = 0;
      for (let i = 0; i < 1000; i++) {
        try {
          const got = text(await cfs.readFile('/race/d/f'));
          assert.ok(got === 'container\n' || got === 'container-copy\n' || got === '', `read ${JSON.stringify(got)}`);
          assert.ok(!got.includes('HOST'));
          okReads++;
        } catch (e) {
          if ((e as Error).message.includes('HOST')) throw e;
        }
        try {
          await cfs.writeFile('/race/d/target', Buffer.from(`race ${i}\n`), { create: true, overwrite: true });
          okWrites++;
        } catch {
          // The directory was mid-swap: an error is fine, a redirect is not.
        }
        if (i % 100 === 0) assertHostUntouched();
      }
      assertHostUntouched();
      assert.ok(okReads > 0 && okWrites > 0, `some operations succeeded (${okReads} reads, ${okWrites} writes)`);
    });
  });
}
