// Several engines, measured on three isolated dockerds of our own (own sockets,
// data and exec roots; scripts/lib/engine.mjs startDockerd), each holding 200
// containers of which 40 run (a shim per running container: 600 running would
// not fit this machine next to everyone else's work):
// - engines.tree.3x200: the data of the full tree over the three engines (each
//   engine's ExplorerModel: list, inspect of the running ones, namespaces; the
//   three in parallel, as the Containers view loads its roots) against the CLI
//   route one engine after another: `docker -H <engine> ps -a --format json`
//   plus `docker -H <engine> inspect` of all its containers.
// - engines.hung-one: the same three engines plus a fourth that accepts TCP
//   connections and never answers; time until the three healthy ones have
//   loaded, against the same three without the hung one.
// Both drive the models in plain Node (the tree provider only turns their data
// into items); the hung engine's model is left running in the background, as
// in the view.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { Engine } from '../../src/engine/engine';
import { ExplorerModel } from '../../src/views/model';
import { IMAGES, testDocker } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';
import { exec, type Report, sideBySide } from './util';

export const ids = ['engines.tree.3x200', 'engines.hung-one'];

const PER_ENGINE = 200;
const RUNNING = 40;

type Dockerd = { stop(): Promise<void>; socket: string };

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) await fn(items[i++]);
  }));
}

function model(engine: Engine): ExplorerModel {
  return new ExplorerModel(() => engine, () => engine.endpoint.label);
}

/** Loads every model at once and returns when all have loaded; fails if one could not. */
async function loadAll(engines: Engine[]): Promise<void> {
  const models = engines.map(model);
  try {
    await Promise.all(models.map((m) => m.refresh()));
    for (const m of models) if (!m.status.ok) throw new Error(m.status.error);
  } finally {
    for (const m of models) m.dispose();
  }
}

export async function run(report: Report): Promise<void> {
  const { startDockerd } = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/engine.mjs')).href)) as { startDockerd(o: object): Promise<Dockerd> };
  const roots = [0, 1, 2].map((i) => fs.mkdtempSync(path.join(os.tmpdir(), `cs-bench-engine${i}-`)));
  const dockerds: Dockerd[] = [];
  const hung = net.createServer(() => undefined);
  try {
    for (const root of roots) dockerds.push(await startDockerd({ root, socket: path.join(root, 'docker.sock'), logFile: path.join(root, 'dockerd.log') }));
    const image = await testDocker().getImage(IMAGES.busybox).get();
    const tar = await new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      image.on('data', (b: Buffer) => parts.push(b));
      image.on('end', () => resolve(Buffer.concat(parts)));
      image.on('error', reject);
    });
    await Promise.all(dockerds.map(async (d) => {
      const docker = new Docker({ socketPath: d.socket });
      const { Readable } = await import('node:stream');
      const loading = await docker.loadImage(Readable.from([tar]));
      await new Promise((resolve, reject) => docker.modem.followProgress(loading, (err) => (err ? reject(err) : resolve(undefined))));
      await pool(Array.from({ length: PER_ENGINE }, (_, i) => i), 4, async (i) => {
        const c = await docker.createContainer({ Image: IMAGES.busybox, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none' }, StopTimeout: 1 });
        if (i < RUNNING) await c.start();
      });
    }));
    const engines = dockerds.map((d, i) => new Engine({ label: `unix://${d.socket}`, options: { socketPath: d.socket }, id: `bench${i}`, name: `bench${i}` }));
    for (const e of engines) console.log(`  ${e.name}: ${(await e.listContainers()).length} containers`);

    const cli = async (d: Dockerd) => {
      const ps = await exec('docker', ['-H', `unix://${d.socket}`, 'ps', '-a', '--format', '{{json .}}']);
      const all = ps.trim().split('\n').map((l) => (JSON.parse(l) as { ID: string }).ID);
      await exec('docker', ['-H', `unix://${d.socket}`, 'inspect', ...all]);
    };
    const tree = await sideBySide(7, () => loadAll(engines), async () => {
      for (const d of dockerds) await cli(d);
    });
    report({ id: 'engines.tree.3x200', value: tree.ours, unit: 'ms', baseline: 'docker ps -a + docker inspect of all, per engine, one engine after another', baselineValue: tree.theirs, target: '<= 0.5x' });

    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const port = (hung.address() as net.AddressInfo).port;
    const hungEngine = new Engine({ label: `tcp://127.0.0.1:${port}`, options: { host: '127.0.0.1', port, protocol: 'http' }, id: 'hung', name: 'hung' });
    const withHung = await sideBySide(7, async () => {
      // The hung engine loads beside the others and is not waited for, as in the view.
      const h = model(hungEngine);
      const pending = h.refresh();
      await loadAll(engines);
      void pending.finally(() => h.dispose());
    }, () => loadAll(engines));
    report({ id: 'engines.hung-one', value: withHung.ours, unit: 'ms', baseline: 'the same three engines without the hung one', baselineValue: withHung.theirs, target: '<= 1.2x' });
  } finally {
    hung.close();
    await Promise.all(dockerds.map((d) => d.stop().catch(() => undefined)));
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  }
}

