import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { SidecarApi } from '../../src/extension';
import type { ContainerItem } from '../../src/views/containersView';
import type { ModelChange } from '../../src/views/model';
import { eventually, type HostTest } from '../helpers/hostRunner';
import { removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

const EXTENSION_ID = 'container-sidecar.container-sidecar';

async function api(): Promise<SidecarApi> {
  const ext = vscode.extensions.getExtension<SidecarApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is installed`);
  return ext.activate();
}

/** Container items at the top level and inside compose project groups. */
async function rootItems(a: SidecarApi): Promise<ContainerItem[]> {
  const out: ContainerItem[] = [];
  for (const r of await a.containers.getChildren()) {
    if ('container' in r) out.push(r as ContainerItem);
    else out.push(...((await a.containers.getChildren(r)) as ContainerItem[]).filter((i) => 'container' in i));
  }
  return out;
}

export const containersViewTests: HostTest[] = [
  {
    name: 'the extension activates in the real extension host',
    async fn() {
      const a = await api();
      assert.ok(vscode.extensions.getExtension(EXTENSION_ID)!.isActive);
      assert.ok(a.containers);
      const cmds = await vscode.commands.getCommands(true);
      assert.ok(cmds.includes('sidecar.containers.refresh'));
    },
  },
  {
    name: 'the tree lists the containers the test started, with their states',
    async fn() {
      const docker = testDocker();
      const running = await runContainer(docker, { name: uniqueName('it-running') });
      const stopped = await runContainer(docker, { name: uniqueName('it-stopped'), cmd: ['true'] });
      await stopped.wait();
      try {
        const a = await api();
        // Events may have shown them only as created so far: wait for the states they reached.
        const [r, s] = (await eventually(async () => {
          const items = await rootItems(a);
          const both = [running, stopped].map((c) => items.find((i) => i.container.id === c.id));
          return both[0]?.contextValue === 'running' && both[1]?.contextValue === 'exited' ? both : undefined;
        }, 'both containers in the tree, one running and one exited'))!;
        assert.ok(r && s, 'both containers are in the tree');
        assert.equal((r.iconPath as vscode.ThemeIcon).id, 'vm-running');
        assert.equal((s.iconPath as vscode.ThemeIcon).id, 'vm-outline');
        assert.match(String(r.description), new RegExp(running.id.slice(0, 12)));
      } finally {
        await removeQuietly(docker, [running, stopped]);
      }
    },
  },
  {
    name: 'after a container starts, the refresh command shows it',
    async fn() {
      const a = await api();
      const docker = testDocker();
      const name = uniqueName('it-refresh');
      assert.ok(!(await rootItems(a)).some((i) => i.container.name === name));
      const c = await runContainer(docker, { name });
      try {
        let fired = false;
        const sub = a.containers.onDidChangeTreeData(() => (fired = true));
        await vscode.commands.executeCommand('sidecar.containers.refresh');
        sub.dispose();
        assert.ok(fired, 'refresh fires a tree change');
        const item = (await rootItems(a)).find((i) => i.container.name === name);
        assert.equal(item?.contextValue, 'running');
      } finally {
        await removeQuietly(docker, [c]);
      }
    },
  },
  {
    name: 'an event of container B fires changes for B\'s row (and its group when the count changes) only: never the whole tree or container A',
    async fn() {
      const a = await api();
      const docker = testDocker();
      const project = uniqueName('it-churn');
      const labels = { 'com.docker.compose.project': project };
      const ca = await runContainer(docker, { name: uniqueName('it-churn-a'), labels });
      const cb = await runContainer(docker, { name: uniqueName('it-churn-b'), labels });
      // Each model change is recorded after the tree changes it caused: the tree listens first and fires at once.
      const log: { fired: (vscode.TreeItem | undefined)[]; change?: ModelChange }[] = [{ fired: [] }];
      const sub = a.containers.onDidChangeTreeData((n) => log[log.length - 1].fired.push(n ?? undefined));
      const onChange = (c: ModelChange) => {
        log[log.length - 1].change = c;
        log.push({ fired: [] });
      };
      a.containers.model.on('change', onChange);
      // The engine is shared: other containers' changes may fire anything; only changes naming B alone are judged.
      const ofB = (from = 0) => log.slice(from).filter((l) => l.change && !l.change.all && [...l.change.updated, ...l.change.added, ...l.change.removed, ...l.change.namespaces, ...l.change.sidecarsOf].every((id) => id === cb.id));
      const isRow = (n: vscode.TreeItem | undefined, id: string) => !!n?.id?.endsWith(`container:${id}`);
      const isGroup = (n: vscode.TreeItem | undefined) => !!n?.id?.endsWith(`group:${project}`);
      const isWhole = (n: vscode.TreeItem | undefined) => n === undefined || !!n.id?.startsWith('engine:');
      const group = async () => (await a.containers.getChildren()).find(isGroup);
      try {
        await eventually(async () => {
          const items = await rootItems(a);
          return [ca, cb].every((c) => items.find((i) => i.container.id === c.id)?.contextValue === 'running');
        }, 'A and B running in the tree');
        const start = log.length - 1;
        // An event that changes no count: B's row at most, not its group (a group's refresh re-renders A's row too).
        let from = log.length - 1;
        await docker.getContainer(cb.id).kill({ signal: 'SIGWINCH' });
        await eventually(() => ofB(from).some((l) => l.change!.updated.includes(cb.id)), 'the model to take in B\'s kill event');
        for (const l of ofB(from)) assert.ok(!l.fired.some(isGroup), `B's change ${JSON.stringify(l.change)} fired the group though its count stayed`);
        for (const [act, state, count] of [['pause', 'paused', '1/2 running'], ['unpause', 'running', '2/2 running']] as const) {
          from = log.length - 1;
          await docker.getContainer(cb.id)[act]();
          await eventually(async () => (await rootItems(a)).find((i) => i.container.id === cb.id)?.contextValue === state, `B ${state} in the tree`);
          await eventually(() => ofB(from).some((l) => l.fired.some((n) => isRow(n, cb.id)) && l.fired.some(isGroup)), `a change that fires B's row and its group after ${act}`);
          assert.equal((await group())?.description, count, 'the group counts B');
        }
        // A member leaving a group that stays: the group's rows change, not the top level.
        from = log.length - 1;
        await docker.getContainer(cb.id).remove({ force: true });
        await eventually(() => ofB(from).some((l) => l.change!.removed.includes(cb.id) && l.fired.some(isGroup)), 'B\'s removal to fire its group');
        assert.equal((await group())?.description, '1/1 running');
        assert.ok(!(await rootItems(a)).some((i) => i.container.id === cb.id), 'B is gone from the tree');
        for (const l of ofB(start)) {
          assert.ok(!l.fired.some(isWhole), `B's change ${JSON.stringify(l.change)} fired the whole tree`);
          assert.ok(!l.fired.some((n) => isRow(n, ca.id)), `B's change ${JSON.stringify(l.change)} fired A's row`);
        }
      } finally {
        sub.dispose();
        a.containers.model.off('change', onChange);
        await removeQuietly(docker, [ca, cb]);
      }
    },
  },
  {
    name: 'a malformed sidecar.engines setting gives a clear message in the view, not a crash',
    async fn() {
      const a = await api();
      const cfg = vscode.workspace.getConfiguration('sidecar');
      await cfg.update('engines', ['ftp://nowhere'], vscode.ConfigurationTarget.Global);
      try {
        await eventually(async () => (await rootItems(a)).length === 0 && !a.containers.engineStatus.ok, 'the view to report the bad setting');
        const st = a.containers.engineStatus;
        assert.ok(!st.ok && /sidecar\.engines/.test(st.error) && /not a Docker endpoint/.test(st.error), JSON.stringify(st));
      } finally {
        await cfg.update('engines', undefined, vscode.ConfigurationTarget.Global);
      }
      await eventually(async () => (await rootItems(a)).length > 0 || a.containers.engineStatus.ok, 'the view to recover');
    },
  },
  {
    name: 'an engine that does not answer: the view names the endpoint and the error',
    async fn() {
      const a = await api();
      const cfg = vscode.workspace.getConfiguration('sidecar');
      await cfg.update('engines', ['unix:///tmp/cs-no-engine.sock'], vscode.ConfigurationTarget.Global);
      try {
        await eventually(async () => { await rootItems(a); return !a.containers.engineStatus.ok; }, 'the view to report the engine');
        const st = a.containers.engineStatus;
        assert.ok(!st.ok);
        assert.equal(st.endpoint, 'unix:///tmp/cs-no-engine.sock');
        assert.match(st.error, /No Docker Engine answers at unix:\/\/\/tmp\/cs-no-engine\.sock: the socket does not exist/);
      } finally {
        await cfg.update('engines', undefined, vscode.ConfigurationTarget.Global);
      }
    },
  },
];
