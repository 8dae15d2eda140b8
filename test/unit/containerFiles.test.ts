// Choosing the file backend per call against the real engine: the PID follows
// restarts, stopped and removed containers say so, and the helper backend
// refuses targets whose pid namespace is not their own.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, NoSuchContainerError } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { ContainerAccess, ContainerStoppedError } from '../../src/procfs/containerFiles';
import { removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

describe('container files: backend per call', () => {
  const docker = testDocker();
  const engine = new Engine(resolveEndpoint(undefined));
  const ids: string[] = [];
  const direct = new ContainerAccess(() => engine, { backend: () => 'direct' });
  const helper = new ContainerAccess(() => engine, { backend: () => 'helper' });
  after(async () => {
    await helper.dispose();
    await direct.dispose();
    await removeQuietly(docker, ids);
  });

  it('follows a restart to the new PID, then reports stopped and removed', async () => {
    const c = await runContainer(docker, { name: uniqueName('cf-restart') });
    ids.push(c.id);
    await (await direct.get(c.id)).fs.writeFile('/tmp/x', Buffer.from('1'), { create: true, overwrite: true });
    const pid1 = (await c.inspect()).State.Pid;
    await c.restart({ t: 0 });
    assert.notEqual((await c.inspect()).State.Pid, pid1);
    assert.equal(Buffer.from(await (await direct.get(c.id)).fs.readFile('/tmp/x')).toString(), '1');
    await c.stop({ t: 0 });
    await assert.rejects(direct.get(c.id), (e: Error) => e instanceof ContainerStoppedError && /is stopped; start it/.test(e.message));
    await c.remove({ force: true });
    await assert.rejects(direct.get(c.id), NoSuchContainerError);
  });

  it('the helper backend follows a restart too (the old helper died with the pid namespace)', async () => {
    const c = await runContainer(docker, { name: uniqueName('cf-hrestart') });
    ids.push(c.id);
    await (await helper.get(c.id)).fs.writeFile('/tmp/x', Buffer.from('2'), { create: true, overwrite: true });
    const first = helper.helpers.active();
    await c.restart({ t: 0 });
    assert.equal(Buffer.from(await (await helper.get(c.id)).fs.readFile('/tmp/x')).toString(), '2');
    assert.notDeepEqual(helper.helpers.active(), first, 'a new helper serves the restarted target');
  });

  it('the helper backend refuses targets in the host or another container\'s pid namespace', async () => {
    const host = await runContainer(docker, { name: uniqueName('cf-pidhost'), hostConfig: { PidMode: 'host', NetworkMode: 'none' } });
    ids.push(host.id);
    await assert.rejects(helper.get(host.id), /uses the host's PID namespace \(--pid=host\)/);
    const web = await runContainer(docker, { name: uniqueName('cf-web') });
    const joined = await runContainer(docker, { name: uniqueName('cf-joined'), hostConfig: { PidMode: `container:${web.id}`, NetworkMode: 'none' } });
    ids.push(joined.id, web.id);
    await assert.rejects(helper.get(joined.id), /shares the PID namespace of/);
    assert.equal((await helper.get(web.id)).backend, 'helper');
  });

  it('a changed sidecar.files.backend takes effect at the next operation on an opened container', async () => {
    let setting: 'direct' | 'helper' = 'direct';
    const switching = new ContainerAccess(() => engine, { backend: () => setting });
    const c = await runContainer(docker, { name: uniqueName('cf-switch') });
    ids.push(c.id);
    try {
      assert.equal((await switching.get(c.id)).backend, 'direct');
      setting = 'helper';
      const f = await switching.get(c.id);
      assert.equal(f.backend, 'helper');
      assert.equal((await f.fs.stat('/')).kind, 'dir');
      setting = 'direct';
      assert.equal((await switching.get(c.id)).backend, 'direct');
    } finally {
      await switching.dispose();
    }
  });
  it('a file above sidecar.files.maxFileSizeMB is refused on both backends with its name, size and the setting', async () => {
    const c = await runContainer(docker, { name: uniqueName('cf-big') });
    ids.push(c.id);
    for (const backend of ['direct', 'helper'] as const) {
      const small = new ContainerAccess(() => engine, { backend: () => backend, maxReadBytes: () => 1024 ** 2 });
      try {
        const f = (await small.get(c.id)).fs;
        await f.writeFile('/big', Buffer.alloc(3 * 1024 ** 2), { create: true, overwrite: true });
        await assert.rejects(f.readFile('/big'), (e: Error & { code?: string }) => {
          assert.equal(e.code, 'EFBIG');
          assert.match(e.message, /\/big is 3\.0 MiB, more than the 1 MiB that sidecar\.files\.maxFileSizeMB allows/);
          return true;
        });
      } finally {
        await small.dispose();
      }
    }
  });
});
