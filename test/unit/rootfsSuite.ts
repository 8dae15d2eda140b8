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

async function rejectsWith(p: Promise<unknown>, code: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error & { code?: string }) => {
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (re) assert.match(e.message, re);
    return true;
  });
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
      try {
        assert.equal(text(await cfs.readFile(`/app/selfroot${hostDir}/secret`)), 'container-copy\n');
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'ENOENT', String(e));
      }
      assert.equal(text(await cfs.readFile(`/app/pid1root${hostDir}/secret`)), 'container-copy\n');
      assert.equal(text(await cfs.readFile('/app/pid1root/app/sub/hello.txt')), 'hello\n');
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
