// "The engine is gone mid-session": a sidecar terminal on an isolated dockerd
// of its own (never the shared one), which the test then stops. The session
// must end with a message that names the endpoint, not hang or throw.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { Engine } from '../../src/engine/engine';
import { parseEndpoint } from '../../src/engine/connection';
import { DEFAULT_PROFILES, profileSpec } from '../../src/engine/profiles';
import { describeEnd, SidecarTerminalSession } from '../../src/engine/terminalSession';
import { launchSidecar } from '../../src/engine/sidecars';
import { projectRoot } from '../helpers/paths';
import { IMAGES, runContainer, testDocker } from '../helpers/docker';

interface Dockerd { stop(): Promise<void> }

describe('engine gone mid-session (isolated dockerd)', { skip: process.getuid?.() !== 0 ? 'starting a dockerd needs root' : false }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-iso-'));
  const socket = path.join(root, 'docker.sock');
  let dockerd: Dockerd | undefined;
  let engine: Engine;
  let iso: Docker;

  before(async () => {
    const lib = await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/engine.mjs')).href) as { startDockerd(o: object): Promise<Dockerd> };
    dockerd = await lib.startDockerd({ root, socket, logFile: path.join(root, 'dockerd.log') });
    iso = new Docker({ socketPath: socket });
    // The isolated engine has no images: copy busybox over the API (no registry here).
    const tar = await testDocker().getImage(IMAGES.busybox).get();
    await new Promise<void>((resolve, reject) => {
      void iso.loadImage(tar).then((s) => iso.modem.followProgress(s, (err: Error | null) => (err ? reject(err) : resolve())), reject);
    });
    engine = new Engine(parseEndpoint(`unix://${socket}`, 'test'));
  });

  after(async () => {
    await dockerd?.stop().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('the terminal session ends with "The Docker Engine stopped answering" naming the endpoint, and new attaches say so too', async () => {
    // A target that exits promptly on SIGTERM, so the engine's shutdown is quick.
    const t = await runContainer(iso, { cmd: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'] });
    const s = await SidecarTerminalSession.open(engine, profileSpec({ ...DEFAULT_PROFILES[0], image: IMAGES.busybox }, t.id));
    s.write('echo attached\n');
    await dockerd!.stop();
    dockerd = undefined;
    const end = await s.ended;
    assert.equal(end.kind, 'engine-lost', JSON.stringify(end));
    const msg = describeEnd(end, 'x');
    assert.match(msg, /The Docker Engine stopped answering/);
    assert.ok(msg.includes(`unix://${socket}`), msg);
    await assert.rejects(launchSidecar(engine, { target: t.id, role: 'debugger', image: IMAGES.busybox }), new RegExp(`No Docker Engine answers at unix://${socket.replace(/[.]/g, '\\.')}: the (socket does not exist|connection was refused)`));
  });
});
