// Several engines at once in the real extension host: the shared engine, an
// isolated dockerd of our own (own socket, data and exec roots), and a TCP
// listener on loopback that accepts and never answers (a real hung engine).
// Each is a root of the Containers view; each fails and recovers on its own.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as vscode from 'vscode';
import Docker from 'dockerode';
import type { SidecarApi } from '../../src/extension';
import { eventually, type HostTest } from '../helpers/hostRunner';
import { IMAGES, removeQuietly, runContainer, TEST_LABEL, testDocker, uniqueName } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';
import { children, containerUnder, engineRoot } from './engineTree';
import { runningContainers } from '../../src/debug/editorAttach';
import { SidecarConfigurationProvider } from '../../src/debug/register';
import type { MapPanel } from '../../src/panels/mapPanel';
import type { MapGraph } from '../../webviews/protocol';

const EXTENSION_ID = 'container-sidecar.container-sidecar';

async function api(): Promise<SidecarApi> {
  const ext = vscode.extensions.getExtension<SidecarApi>(EXTENSION_ID);
  assert.ok(ext);
  return ext.activate();
}

type Dockerd = { stop(): Promise<void> };
const DETAILS_VIEW_TYPE = 'sidecar.containerDetails';

export const enginesTests: HostTest[] = [
  {
    name: 'two engines are two roots, each lists its own containers; one that hangs is "not answering" while the others list; a stopped one is down alone and comes back by itself',
    async fn() {
      if (process.getuid?.() !== 0) return;
      const { startDockerd } = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/engine.mjs')).href)) as { startDockerd(o: object): Promise<Dockerd> };
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-engines-'));
      const socket = path.join(root, 'docker.sock');
      const logFile = path.join(root, 'dockerd.log');
      const shared = testDocker();
      // A listener that takes the connection and never says a word.
      const hung = net.createServer(() => undefined);
      await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
      const hungPort = (hung.address() as net.AddressInfo).port;
      let dockerd: Dockerd | undefined = await startDockerd({ root, socket, logFile });
      const cfg = vscode.workspace.getConfiguration('sidecar');
      const local = await runContainer(shared, { name: uniqueName('it-engines-local') });
      // What this test made on the shared engine: removed even when an assertion fails.
      const made: Docker.Container[] = [local];
      const a = await api();
      try {
        const iso = new Docker({ socketPath: socket });
        await iso.loadImage((await shared.getImage(IMAGES.busybox).get()) as unknown as NodeJS.ReadableStream);
        // The same name on both engines: each root shows its own.
        const twinName = uniqueName('it-engines-twin');
        const twinHere = await runContainer(shared, { name: twinName });
        made.push(twinHere);
        const twinThere = await iso.createContainer({ name: twinName, Image: IMAGES.busybox, Cmd: ['sleep', '3600'], Labels: { [TEST_LABEL]: 'true' }, HostConfig: { NetworkMode: 'none' } });
        await twinThere.start();
        await cfg.update('engines', ['auto', { host: `unix://${socket}`, name: 'Isolated' }], vscode.ConfigurationTarget.Global);

        const [docker, isolated] = (await eventually(async () => {
          const r = [await engineRoot(a, 'Docker'), await engineRoot(a, 'Isolated')];
          return r.every((x) => x) ? r : undefined;
        }, 'a root per engine'))!;
        assert.equal((await children(a)).length, 2, 'exactly the two engines');
        const inIso = (await eventually(() => containerUnder(a, isolated!, twinThere.id), 'the isolated engine\'s container under its root'))!;
        assert.equal(inIso.container!.engineId, 'isolated');
        assert.ok(!(await containerUnder(a, isolated!, local.id)), 'the shared engine\'s container is not under the isolated root');
        assert.ok(await eventually(() => containerUnder(a, docker!, local.id), 'the shared engine\'s container under its root'));
        assert.ok(await containerUnder(a, docker!, twinHere.id), 'the same name on the default engine is its own item');
        assert.match(String((await engineRoot(a, 'Isolated'))!.description), /^connected · 1 container$/);

        // Commands act on the item's engine: stop the isolated twin, the shared one runs on.
        await vscode.commands.executeCommand('sidecar.containers.stop', inIso);
        assert.equal((await twinThere.inspect()).State.Running, false, 'the isolated engine\'s twin stopped');
        assert.equal((await twinHere.inspect()).State.Running, true, 'the default engine\'s twin still runs');
        await twinThere.start();

        // A container: URI names its engine; without one it means the default engine.
        const hostname = Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.parse(`container://${twinThere.id}@isolated/etc/hostname`))).toString().trim();
        assert.equal(hostname, twinThere.id.slice(0, 12));
        await assert.rejects(Promise.resolve(vscode.workspace.fs.stat(vscode.Uri.parse(`container://${twinThere.id}/etc/hostname`))), /does not exist/);

        // A details panel restored after a reload: its state names the engine; none means the default one.
        const restore = (state: unknown) => a.panels.details.restore(vscode.window.createWebviewPanel(DETAILS_VIEW_TYPE, 'Details', vscode.ViewColumn.Active), state);
        const there = restore({ id: twinThere.id, engine: 'isolated' })!;
        await eventually(() => there.panel.title === `Details: ${twinName}`, 'the restored panel to show the isolated engine\'s container', 30_000);
        assert.equal(there.lastError, undefined);
        const old = restore({ id: twinThere.id })!;
        assert.match((await eventually(() => old.lastError, 'an old state (no engine) to look on the default engine', 30_000))!, /no longer exists/);
        const gone = restore({ id: twinThere.id, engine: 'gone' })!;
        assert.match((await eventually(() => gone.lastError, 'the sentence for an engine no longer configured', 30_000))!, /^Cannot show container [0-9a-f]{12}: No engine "gone" is configured .*sidecar\.engines/);
        const bad = vscode.window.createWebviewPanel(DETAILS_VIEW_TYPE, 'Details', vscode.ViewColumn.Active);
        assert.equal(a.panels.details.restore(bad, { id: twinThere.id, engine: '../x' }), undefined, 'a malformed engine is not used');
        for (const p of [there, old, gone]) p.dispose();
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');

        // Debugging looks at every engine: the file-attach candidates and the Run and Debug view's
        // dynamic configurations hold the isolated twin, and its configuration names its engine.
        const facts = await runningContainers(a.context);
        assert.deepEqual(facts.filter((f) => f.id === twinThere.id).map((f) => [f.name, f.engineId, f.engineName]), [[twinName, 'isolated', 'Isolated']]);
        assert.deepEqual(facts.filter((f) => f.id === twinHere.id).map((f) => [f.engineId, f.engineName]), [[undefined, 'Docker']]);
        const dynamic = await new SidecarConfigurationProvider(a.context).dynamicConfigurations();
        const onIso = dynamic.filter((c) => c.engine === 'isolated');
        assert.deepEqual(onIso.map((c) => [c.name, c.container, c.processId]), [[`Attach to sleep (PID 1) in ${twinName} on Isolated`, twinName, 1]]);

        // The namespace map draws every engine: the twins, each named with its engine, and both engines
        // on this machine's kernel share the one host. It follows the isolated engine's model too.
        const map = (await vscode.commands.executeCommand('sidecar.namespaces.showMap')) as MapPanel;
        let last: MapGraph | undefined;
        const sub = map.rendered.event((r) => (last = r.graph));
        try {
          const member = (id: string) => last?.members.find((m) => m.id === id);
          await eventually(() => member(twinThere.id) && member(twinHere.id), 'both twins drawn on the map', 60_000);
          assert.equal(member(twinThere.id)!.name, `${twinName} (Isolated)`);
          assert.equal(member(twinHere.id)!.name, `${twinName} (Docker)`);
          assert.deepEqual(last!.members.filter((m) => m.kind === 'host').map((m) => m.id), ['host']);
          await twinThere.stop({ t: 0 });
          await eventually(() => member(twinThere.id)?.state === 'exited', 'the isolated twin drawn stopped', 30_000);
          assert.equal(member(twinHere.id)!.state, 'running');
          await twinThere.start();
        } finally {
          sub.dispose();
          map.dispose();
        }

        // A hung engine: its root says so, the others list meanwhile.
        await cfg.update('engines', ['auto', { host: `unix://${socket}`, name: 'Isolated' }, { host: `tcp://127.0.0.1:${hungPort}`, name: 'Hung' }], vscode.ConfigurationTarget.Global);
        await eventually(async () => (await children(a)).length === 3, 'three roots');
        assert.ok(await eventually(async () => containerUnder(a, (await engineRoot(a, 'Isolated'))!, twinThere.id), 'the isolated engine lists while the hung one hangs'));
        const hungRoot = (await eventually(async () => {
          const r = await engineRoot(a, 'Hung');
          return r && /^down · not answering/.test(String(r.description)) ? r : undefined;
        }, 'the hung engine shown as not answering', 30_000))!;
        assert.equal(hungRoot.contextValue, 'engine.down');
        assert.match(String((hungRoot.tooltip as vscode.MarkdownString).value), /plain tcp/);
        const [why] = await children(a, hungRoot);
        assert.match(String(why.description), /No Docker Engine answers at tcp:\/\/127\.0\.0\.1:\d+: not answering/);

        // The isolated engine goes away: only its root is down; then it comes back by itself.
        await dockerd.stop();
        dockerd = undefined;
        await eventually(async () => (await engineRoot(a, 'Isolated'))?.contextValue === 'engine.down', 'the isolated root down', 30_000);
        assert.equal((await engineRoot(a, 'Docker'))?.contextValue, 'engine.connected', 'the default engine stays connected');
        assert.ok(await containerUnder(a, (await engineRoot(a, 'Docker'))!, local.id));
        dockerd = await startDockerd({ root, socket, logFile });
        await eventually(async () => {
          const r = await engineRoot(a, 'Isolated');
          return r?.contextValue === 'engine.connected' && !!(await containerUnder(a, r, twinThere.id));
        }, 'the isolated root back by itself', 60_000);
      } finally {
        await cfg.update('engines', undefined, vscode.ConfigurationTarget.Global);
        hung.close();
        await removeQuietly(shared, made);
        await dockerd?.stop();
        fs.rmSync(root, { recursive: true, force: true });
      }
      // One engine again: the view is as it always was, containers at the top.
      await eventually(async () => (await children(a)).every((r) => !r.contextValue?.startsWith('engine.')), 'the single-engine view back');
    },
  },
];
