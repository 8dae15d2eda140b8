// engine.list.200: listing all containers through the engine layer against
// `docker ps -a --format '{{json .}}'`, with 200 containers present.
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { IMAGES, removeQuietly, testDocker } from '../helpers/docker';
import { exec, type Report, sideBySide } from './util';

export const ids = ['engine.list.200'];

export async function run(report: Report): Promise<void> {
  const docker = testDocker();
  const engine = new Engine(resolveEndpoint(undefined));
  const existing = (await engine.listContainers()).length;
  const created: string[] = [];
  try {
    for (let i = existing; i < 200; i++) {
      const c = await docker.createContainer({ Image: IMAGES.busybox, Cmd: ['true'], Labels: { 'io.container-sidecar.test': 'bench' }, HostConfig: { NetworkMode: 'none' } });
      created.push(c.id);
    }
    const count = (await engine.listContainers()).length;
    if (count < 200) throw new Error(`expected 200 containers, found ${count}`);
    const r = await sideBySide(15, () => engine.listContainers(), () => exec('docker', ['ps', '-a', '--format', '{{json .}}']));
    report({ id: 'engine.list.200', value: r.ours, unit: 'ms', baseline: "docker ps -a --format '{{json .}}'", baselineValue: r.theirs, target: '<= 1.0x' });
  } finally {
    await removeQuietly(docker, created);
  }
}
