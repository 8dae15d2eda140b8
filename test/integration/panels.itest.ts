// The webview panels inside the real extension host: the details panel's
// stats stream runs only while the panel is visible, and the map panel
// renders what the model holds.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import * as vscode from 'vscode';
import type { SidecarApi } from '../../src/extension';
import type { DetailsPanel } from '../../src/panels/detailsPanel';
import type { MapPanel } from '../../src/panels/mapPanel';
import { eventually, type HostTest } from '../helpers/hostRunner';
import { removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

async function api(): Promise<SidecarApi> {
  return vscode.extensions.getExtension<SidecarApi>('container-sidecar.container-sidecar')!.activate();
}

/** The HTTP response under a dockerode stream: ended means the engine's connection is gone. */
const closed = (s: IncomingMessage) => s.destroyed && (!s.socket || s.socket.destroyed);

export const panelsTests: HostTest[] = [
  {
    name: 'the details panel streams stats only while visible: hiding it ends the engine connection, showing it opens a new one',
    async fn() {
      const a = await api();
      const docker = testDocker();
      const c = await runContainer(docker, { name: uniqueName('it-details') });
      let panel: DetailsPanel | undefined;
      try {
        await a.containers.refresh();
        panel = (await vscode.commands.executeCommand('sidecar.containers.showDetails', c.id)) as DetailsPanel;
        assert.ok(panel, 'the command returns the panel');
        const first = (await eventually(() => panel!.stats as IncomingMessage | undefined, 'the stats stream to open', 30_000))!;
        // Another editor in the same group hides the panel.
        const doc = await vscode.workspace.openTextDocument({ content: 'hide the panel' });
        await vscode.window.showTextDocument(doc, { viewColumn: panel.panel.viewColumn, preview: false });
        await eventually(() => !panel!.panel.visible, 'the panel to be hidden');
        await eventually(() => panel!.stats === undefined && closed(first), 'the stats stream to end', 10_000);
        panel.panel.reveal();
        const second = (await eventually(() => panel!.stats as IncomingMessage | undefined, 'a new stats stream once shown again', 30_000))!;
        assert.notEqual(second, first);
        panel.dispose();
        await eventually(() => closed(second), 'the stream to end when the panel closes', 10_000);
        // The same container again: one panel per container, a new one after closing.
        const again = (await vscode.commands.executeCommand('sidecar.containers.showDetails', c.id)) as DetailsPanel;
        const same = (await vscode.commands.executeCommand('sidecar.containers.showDetails', { containerId: c.id })) as DetailsPanel;
        assert.equal(again, same, 'a second show reuses the panel');
        again.dispose();
      } finally {
        panel?.dispose();
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
        await removeQuietly(docker, [c]);
      }
    },
  },
  {
    name: 'the map renders the model: a started container appears, with no polling of its own',
    async fn() {
      const a = await api();
      const docker = testDocker();
      const made = [];
      try {
        await a.containers.refresh();
        const map = (await vscode.commands.executeCommand('sidecar.namespaces.showMap')) as MapPanel;
        await map.whenRendered(() => true);
        const c = await runContainer(docker, { name: uniqueName('it-map'), hostConfig: { IpcMode: 'shareable' }, start: false });
        const j = await runContainer(docker, { name: uniqueName('it-map-ipc'), hostConfig: { IpcMode: `container:${c.id}` }, start: false });
        made.push(c, j);
        // Drawn with the shared ipc namespace: the model's namespaces follow the start events.
        const drawn = map.whenRendered((g) => g.namespaces.some((n) => n.type === 'ipc' && n.members.includes(c.id) && n.members.includes(j.id)));
        await c.start();
        await j.start();
        await drawn;
        map.dispose();
      } finally {
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
        await removeQuietly(docker, made);
      }
    },
  },
];
