// files.*: the container file backends against the tools people use today,
// in the same run on the same container.
//   readdir of a 10,000-entry directory: vs `ls -f` (the physical limit) and
//   vs Container Tools' route (docker exec ... sh -c "stat ... dir/*");
//   readFile of 100 MB vs `cat file > /dev/null`;
//   the helper backend's readdir vs the exec route;
//   the helper backend's read of a sparse 1 GiB file vs the direct backend's.
import fsp from 'node:fs/promises';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { ContainerAccess } from '../../src/procfs/containerFiles';
import { HelperPool } from '../../src/procfs/helperfs';
import { execIn, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';
import { exec, type Report, sideBySide } from './util';

export const ids = ['files.readdir.10k.vs-ls', 'files.readdir.10k.vs-exec', 'files.readfile.100mb', 'files.readfile.100mb.vs-node', 'files.helper.readdir.10k.vs-exec', 'files.helper.readfile.1gb', 'files.helper.readfile.100mb.vs-direct'];

const SETUP = 'mkdir /d10k /big && cd /d10k && i=0 && while [ $i -lt 10000 ]; do : > f$i; i=$((i+1)); done && dd if=/dev/urandom of=/big/file bs=1M count=100 2>/dev/null && dd if=/dev/zero of=/big/sparse bs=1 count=0 seek=1073741824 2>/dev/null && touch /ready && exec sleep 3600';
// What Container Tools runs to list a folder (the stat format is theirs).
const EXEC_ROUTE = "stat -c '%f %h %g %u %s %X %Y %Z %n' /d10k/*";

export async function run(report: Report): Promise<void> {
  const docker = testDocker();
  const engine = new Engine(resolveEndpoint(undefined));
  const c = await runContainer(docker, { name: uniqueName('bench-files'), cmd: ['sh', '-c', SETUP] });
  const direct = new ContainerAccess(() => engine, { backend: () => 'direct' });
  const pool = new HelperPool(() => engine);
  try {
    for (let i = 0; i < 300; i++) {
      if ((await execIn(docker, c.id, ['test', '-e', '/ready'])).exitCode === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const pid = (await c.inspect()).State.Pid;
    const ours = async () => {
      const n = (await (await direct.get(c.id)).fs.readdir('/d10k')).length;
      if (n !== 10000) throw new Error(`expected 10000 entries, got ${n}`);
    };
    const ls = await sideBySide(15, ours, () => exec('ls', ['-f', `/proc/${pid}/root/d10k`]));
    report({ id: 'files.readdir.10k.vs-ls', value: ls.ours, unit: 'ms', baseline: 'ls -f through /proc/<pid>/root', baselineValue: ls.theirs, target: '<= 2.0x' });

    const viaExec = () => exec('docker', ['exec', c.id, 'sh', '-c', EXEC_ROUTE]);
    const ex = await sideBySide(7, ours, viaExec);
    report({ id: 'files.readdir.10k.vs-exec', value: ex.ours, unit: 'ms', baseline: 'docker exec sh -c "stat ... dir/*" (Container Tools)', baselineValue: ex.theirs, target: '<= 0.2x' });

    const MB = 100;
    const rf = await sideBySide(5, async () => {
      const b = await (await direct.get(c.id)).fs.readFile('/big/file');
      if (b.length !== MB * 1024 * 1024) throw new Error(`read ${b.length} bytes`);
    }, () => exec('sh', ['-c', 'cat "$1" > /dev/null', 'sh', `/proc/${pid}/root/big/file`]));
    // Throughputs, so the ratio reads as "ours / cat" (higher is better).
    report({ id: 'files.readfile.100mb', value: MB / (rf.ours / 1000), unit: 'MB/s', baseline: 'cat file > /dev/null', baselineValue: MB / (rf.theirs / 1000), target: '>= 0.7x' });

    // Context for the figure above: cat to /dev/null never copies the data into new
    // memory, while any readFile must. Node's own readFile of the same (unconfined)
    // path is the realistic limit for an extension.
    const nodeRead = await sideBySide(5, async () => {
      await (await direct.get(c.id)).fs.readFile('/big/file');
    }, () => fsp.readFile(`/proc/${pid}/root/big/file`));
    report({ id: 'files.readfile.100mb.vs-node', value: MB / (nodeRead.ours / 1000), unit: 'MB/s', baseline: 'Node fs.promises.readFile of /proc/<pid>/root/... (unconfined)', baselineValue: MB / (nodeRead.theirs / 1000), target: '>= 0.9x' });

    const hfs = pool.fsFor(c.id, 'bench');
    const hl = await sideBySide(7, async () => {
      const n = (await hfs.readdir('/d10k')).length;
      if (n !== 10000) throw new Error(`helper: expected 10000 entries, got ${n}`);
    }, viaExec);
    report({ id: 'files.helper.readdir.10k.vs-exec', value: hl.ours, unit: 'ms', baseline: 'docker exec sh -c "stat ... dir/*" (Container Tools)', baselineValue: hl.theirs, target: '<= 1.0x' });

    // A sparse 1 GiB file: the resolver sends holes as counts, the direct backend reads zeros.
    const GIB = 1024 ** 3;
    const big = await sideBySide(3, async () => {
      const b = await hfs.readFile('/big/sparse');
      if (b.length !== GIB) throw new Error(`helper: read ${b.length} bytes`);
    }, async () => {
      const b = await (await direct.get(c.id)).fs.readFile('/big/sparse');
      if (b.length !== GIB) throw new Error(`direct: read ${b.length} bytes`);
    });
    report({ id: 'files.helper.readfile.1gb', value: big.ours, unit: 'ms', baseline: 'the direct backend reading the same file', baselineValue: big.theirs, target: '<= 3.0x' });

    // Dense data has no holes to skip: every byte crosses the exec stream.
    const dense = await sideBySide(3, async () => {
      const b = await hfs.readFile('/big/file');
      if (b.length !== MB * 1024 * 1024) throw new Error(`helper: read ${b.length} bytes`);
    }, async () => {
      await (await direct.get(c.id)).fs.readFile('/big/file');
    });
    report({ id: 'files.helper.readfile.100mb.vs-direct', value: MB / (dense.ours / 1000), unit: 'MB/s', baseline: 'the direct backend reading the same file', baselineValue: MB / (dense.theirs / 1000), target: '>= 0.33x' });
  } finally {
    await pool.dispose();
    await direct.dispose();
    await removeQuietly(docker, [c]);
  }
}
