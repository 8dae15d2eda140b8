// remote.*: a remote engine (scripts/lib/remote.mjs: a dockerd in its own pid
// namespace, reached over tcp with TLS), where files can only go through the
// helper backend.
//   files.remote.readdir.10k.vs-exec: listing a 10,000-entry directory with the
//   helper backend vs what Container Tools runs, `docker exec ... stat dir/*`,
//   both against the same remote engine over TLS.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseEndpoint } from '../../src/engine/connection';
import { Engine } from '../../src/engine/engine';
import { ContainerAccess } from '../../src/procfs/containerFiles';
import { execIn, IMAGES, runContainer, uniqueName } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';
import { exec, type Report, sideBySide } from './util';

export const ids = ['files.remote.readdir.10k.vs-exec'];

interface Remote { tcp: string; socket: string; certs: { ca: string; cert: string; key: string }; dispose(): Promise<void> }

const SETUP = 'mkdir /d10k && cd /d10k && i=0 && while [ $i -lt 10000 ]; do : > f$i; i=$((i+1)); done && touch /ready && exec sleep 3600';
const EXEC_ROUTE = "stat -c '%f %h %g %u %s %X %Y %Z %n' /d10k/*";

export async function run(report: Report): Promise<void> {
  const lib = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/remote.mjs')).href)) as {
    startRemoteEngine(): Promise<Remote>;
    copyImages(images: string[], socket: string): void;
  };
  const remote = await lib.startRemoteEngine();
  const engine = new Engine(parseEndpoint(remote.tcp, 'bench', { tls: remote.certs }));
  const access = new ContainerAccess(() => engine, { backend: () => 'auto' });
  try {
    lib.copyImages([IMAGES.busybox], remote.socket);
    const c = await runContainer(engine.docker, { name: uniqueName('bench-remote'), cmd: ['sh', '-c', SETUP] });
    for (let i = 0; i < 300; i++) {
      if ((await execIn(engine.docker, c.id, ['test', '-e', '/ready'])).exitCode === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const files = await access.get(c.id);
    if (files.backend !== 'helper') throw new Error(`expected the helper backend on a remote engine, got ${files.backend}`);
    const cli = ['-H', remote.tcp, '--tlsverify', '--tlscacert', remote.certs.ca, '--tlscert', remote.certs.cert, '--tlskey', remote.certs.key];
    const r = await sideBySide(7, async () => {
      const n = (await (await access.get(c.id)).fs.readdir('/d10k')).length;
      if (n !== 10000) throw new Error(`expected 10000 entries, got ${n}`);
    }, () => exec('docker', [...cli, 'exec', c.id, 'sh', '-c', EXEC_ROUTE]));
    report({ id: 'files.remote.readdir.10k.vs-exec', value: r.ours, unit: 'ms', baseline: 'docker exec sh -c "stat ... dir/*" on the same remote engine over TLS', baselineValue: r.theirs, target: '<= 1.0x' });
  } finally {
    await access.dispose();
    engine.dispose();
    await remote.dispose();
  }
}
