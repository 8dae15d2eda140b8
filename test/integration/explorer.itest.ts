// The explorer inside the real extension host: a web container and a
// debugger-like container joined to its pid and network namespaces, as the
// tree and the Namespaces view show them. Runs as root (inodes from /proc) and
// as the non-root user sidecar-dev (HostConfig path, inodes unknown).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as vscode from 'vscode';
import type Docker from 'dockerode';
import type { SidecarApi } from '../../src/extension';
import { actionError, ExecTerminal, findShell, LogsTerminal } from '../../src/commands/containers';
import { eventually, type HostTest } from '../helpers/hostRunner';
import { IMAGES, removeQuietly, runContainer, TEST_LABEL, testDocker, uniqueName } from '../helpers/docker';
import { projectRoot } from '../helpers/paths';

type Item = vscode.TreeItem & { container?: { id: string; name: string; state: string }; containerId?: string; process?: { hostPid: number; nsPid: number; command: string } };

const EXTENSION_ID = 'container-sidecar.container-sidecar';
const nonRoot = () => process.getuid?.() !== 0;

async function api(): Promise<SidecarApi> {
  const ext = vscode.extensions.getExtension<SidecarApi>(EXTENSION_ID);
  assert.ok(ext);
  return ext.activate();
}

const label = (i: vscode.TreeItem) => (typeof i.label === 'string' ? i.label : i.label?.label ?? '');

async function children(a: SidecarApi, parent?: Item): Promise<Item[]> {
  return (await a.containers.getChildren(parent as never)) as Item[];
}

/** The container's item, wherever grouping put it. */
async function containerItem(a: SidecarApi, id: string): Promise<Item | undefined> {
  for (const r of await children(a)) {
    if (r.container?.id === id) return r;
    if (!r.container) {
      const inGroup = (await children(a, r)).find((i) => i.container?.id === id);
      if (inGroup) return inGroup;
    }
  }
  return undefined;
}

async function section(a: SidecarApi, item: Item, name: string): Promise<Item> {
  const s = (await children(a, item)).find((i) => label(i) === name);
  assert.ok(s, `${item.label} has a ${name} child`);
  return s;
}

const docker = testDocker();
const made: Docker.Container[] = [];
const names = { web: uniqueName('it-web'), dbg: uniqueName('it-web-debugger') };
let web: Docker.Container;
let dbg: Docker.Container;

async function setUp(): Promise<void> {
  if (web) return;
  web = await runContainer(docker, { name: names.web, cmd: ['sh', '-c', 'httpd -f -p 127.0.0.1:8080 & sleep 3600'] });
  made.push(web);
  dbg = await runContainer(docker, { name: names.dbg, hostConfig: { PidMode: `container:${web.id}`, NetworkMode: `container:${web.id}` }, labels: { 'io.container-sidecar.target': web.id, 'io.container-sidecar.role': 'debugger' } });
  made.push(dbg);
  // Started is not yet serving: wait until sh has forked httpd and become `sleep`,
  // the two processes the tests below count.
  await eventually(async () => {
    const top = (await web.top()) as { Processes?: string[][] };
    const cmds = (top.Processes ?? []).map((p) => p[p.length - 1]);
    return cmds.includes('sleep 3600') && cmds.some((c) => c.startsWith('httpd')) && cmds.length === 2;
  }, 'web to run httpd and sleep');
  const a = await api();
  await a.containers.refresh();
}

/** Removes what the explorer suite started; safe to call twice. */
async function explorerCleanup(): Promise<void> {
  await removeQuietly(docker, made.splice(0));
  web = dbg = undefined as unknown as Docker.Container;
}

const CLEANUP = 'clean up the explorer containers';

/** A filtered run may skip the clean-up test; then every test cleans up after itself. */
function cleanupRuns(): boolean {
  const f = process.env.SIDECAR_TEST_FILTER;
  return !f || `explorer: ${CLEANUP}`.includes(f);
}

const tests: HostTest[] = [
  {
    name: 'a running container has Namespaces, Processes, Files and Sidecars',
    async fn() {
      // The non-root run says which user it expects the extension host to be.
      if (process.env.SIDECAR_EXPECT_UID) assert.equal(process.getuid?.(), Number(process.env.SIDECAR_EXPECT_UID));
      await setUp();
      const a = await api();
      const item = await containerItem(a, web.id);
      assert.ok(item, 'web is in the tree');
      assert.match(String(item.contextValue), /^running/);
      assert.match(String(item.description), /^Up /);
      assert.deepEqual((await children(a, item)).map(label), ['Namespaces', 'Processes', 'Files', 'Sidecars']);
      const files = await section(a, item, 'Files');
      assert.equal(files.contextValue, 'files');
      assert.equal(files.containerId, web.id);
      assert.equal(files.command?.command, 'sidecar.files.open');
    },
  },
  {
    name: 'Namespaces: pid and net are shared with the joined container, the rest are not',
    async fn() {
      await setUp();
      const a = await api();
      const ns = await children(a, await section(a, (await containerItem(a, web.id))!, 'Namespaces'));
      assert.deepEqual(ns.map(label), ['mnt', 'pid', 'net', 'ipc', 'uts', 'user', 'cgroup', 'time']);
      const d = (t: string) => String(ns.find((i) => label(i) === t)!.description);
      // What a person looks for leads the row (a narrow side bar cuts the tail); the inode ends it.
      assert.match(d('pid'), new RegExp(`^shared with ${names.dbg} · `));
      assert.match(d('net'), new RegExp(`^shared with ${names.dbg} · `));
      for (const t of ['mnt', 'uts', 'ipc']) assert.match(d(t), /^private · /, t);
      // Docker leaves user and time namespaces with the host.
      assert.match(d('user'), /^shared with host/);
      if (nonRoot()) {
        assert.match(d('pid'), / · inode unknown$/);
        const tip = ns[1].tooltip as vscode.MarkdownString;
        assert.match(tip.value, /not root, so sharing comes from the containers' HostConfig/);
      } else {
        assert.match(d('pid'), / · inode \d+$/);
        const inode = /(\d+)$/.exec(d('pid'))![1];
        assert.match((ns[1].tooltip as vscode.MarkdownString).value, new RegExp(`Inode: ${inode}`));
      }
    },
  },
  {
    name: 'Processes: host PID, PID in the container, user and command, as a tree',
    async fn() {
      await setUp();
      const a = await api();
      const procs = await children(a, await section(a, (await containerItem(a, web.id))!, 'Processes'));
      assert.equal(procs.length, 1);
      const init = procs[0];
      assert.equal(init.contextValue, 'process');
      assert.equal(init.containerId, web.id);
      assert.equal(init.process!.nsPid, 1);
      assert.equal(init.process!.hostPid, (await web.inspect()).State.Pid);
      assert.equal(init.process!.command, 'sleep 3600');
      const kids = await children(a, init);
      assert.deepEqual(kids.map((k) => k.process!.command), ['httpd -f -p 127.0.0.1:8080']);
      assert.match(String(kids[0].description), /^PID \d+ · host \d+ · (root|uid 0)$/);
      // The joined container's process is its own, not web's, though the pid namespace is shared.
      const dbgProcs = await children(a, await section(a, (await containerItem(a, dbg.id))!, 'Processes'));
      assert.deepEqual(dbgProcs.map((p) => p.process!.command), ['sleep 3600']);
      assert.ok(dbgProcs[0].process!.nsPid > 1);
    },
  },
  {
    name: 'Sidecars: containers labelled with the target id, as sidecar items',
    async fn() {
      await setUp();
      const a = await api();
      const side = await children(a, await section(a, (await containerItem(a, web.id))!, 'Sidecars'));
      assert.deepEqual(side.map((s) => s.container?.id), [dbg.id]);
      assert.match(String(side[0].contextValue), /^sidecar\.running/);
      assert.match(String(side[0].description), /^debugger · Up /);
    },
  },
  {
    name: 'Namespaces view: the shared pid and net namespaces stand out and list both containers',
    async fn() {
      await setUp();
      const a = await api();
      const types = (await a.namespaces.getChildren()) as Item[];
      assert.deepEqual(types.map(label), ['mnt', 'pid', 'net', 'ipc', 'uts', 'user', 'cgroup', 'time']);
      for (const t of ['pid', 'net']) {
        const nss = (await a.namespaces.getChildren(types.find((x) => label(x) === t) as never)) as Item[];
        const shared = nss.find((n) => String(n.description).includes(names.web));
        assert.ok(shared, `${t}: a namespace lists ${names.web}`);
        assert.ok([`shared by ${names.web}, ${names.dbg}`, `shared by ${names.dbg}, ${names.web}`].includes(String(shared.description)), String(shared.description));
        assert.equal(shared.contextValue, 'namespace.shared');
        assert.equal((shared.iconPath as vscode.ThemeIcon).id, 'link');
        if (nonRoot()) assert.equal(label(shared), `${t} (inode unknown)`);
        else assert.match(label(shared), new RegExp(`^${t}:\\[\\d+\\]$`));
        const members = (await a.namespaces.getChildren(shared as never)) as Item[];
        assert.deepEqual(members.map(label).sort(), [names.web, names.dbg].sort());
        const webMember = members.find((m) => label(m) === names.web)!;
        assert.equal(webMember.description, '2 processes');
        assert.equal(webMember.command?.command, 'sidecar.containers.reveal');
      }
      const mnt = (await a.namespaces.getChildren(types[0] as never)) as Item[];
      const own = mnt.find((n) => String(n.description) === `private to ${names.web}`);
      assert.ok(own, 'web has a private mount namespace');
    },
  },
  {
    name: 'clicking a member reveals the container in the Containers view',
    async fn() {
      await setUp();
      const a = await api();
      await vscode.commands.executeCommand('sidecar.containers.reveal', dbg.id);
      // The workbench reports the new selection back to the extension host on its own time.
      const view = a.containers.explorer!.containersView;
      await eventually(() => (view.selection as unknown as Item[])[0]?.container?.id === dbg.id, `${names.dbg} to be selected in the Containers view`);
    },
  },
  {
    name: 'live: a stop fires a change for that item only, and a removed container disappears quietly',
    async fn() {
      await setUp();
      const a = await api();
      const c = await runContainer(docker, { name: uniqueName('it-live') });
      made.push(c);
      // The create event may show it before its start: wait for the state we stop from.
      const item = (await eventually(async () => {
        const i = await containerItem(a, c.id);
        return i?.contextValue === 'running' ? i : undefined;
      }, 'the new container to appear running without a refresh'))!;
      await children(a, item); // expanded, as a user would have it
      const fired: (Item | undefined)[] = [];
      const sub = a.containers.onDidChangeTreeData((e) => fired.push(e as Item | undefined));
      const changes: { all?: boolean; updated: string[] }[] = [];
      const onModel = (ch: { all?: boolean; updated: string[] }) => changes.push(ch);
      a.containers.model.on('change', onModel);
      try {
        await vscode.commands.executeCommand('sidecar.containers.stop', item);
        await eventually(() => fired.some((f) => f?.container?.id === c.id && f.contextValue === 'exited'), 'a change for the stopped item');
        // Other tests on this machine add containers (root changes); ours is an item update.
        assert.ok(changes.some((ch) => ch.updated.includes(c.id)) && !changes.some((ch) => ch.all), JSON.stringify(changes));
        assert.match(String(item.description), /^Exited \(\d+\) /);
        const info = await children(a, item);
        assert.match(label(info[0]), /^Exited with code \d+$/);
        await c.remove({ force: true });
        await eventually(async () => !(await containerItem(a, c.id)), 'the removed container to leave the tree');
      } finally {
        sub.dispose();
        a.containers.model.off('change', onModel);
      }
    },
  },
  {
    name: 'actions: copy id, copy host PID, inspect in a read-only editor',
    async fn() {
      await setUp();
      const a = await api();
      const item = (await containerItem(a, web.id))!;
      await vscode.commands.executeCommand('sidecar.containers.copyId', item);
      assert.equal(await vscode.env.clipboard.readText(), web.id);
      await vscode.commands.executeCommand('sidecar.containers.copyPid', item);
      assert.equal(await vscode.env.clipboard.readText(), String((await web.inspect()).State.Pid));
      await vscode.commands.executeCommand('sidecar.containers.inspect', item);
      const ed = (await eventually(() => (vscode.window.activeTextEditor?.document.uri.scheme === 'sidecar-inspect' ? vscode.window.activeTextEditor : undefined), 'the inspect editor'))!;
      const text = ed.document.getText();
      assert.equal(JSON.parse(text).Id, web.id);
      assert.equal(ed.document.languageId, 'json');
      // Typing, as a person would, changes nothing: the editor is read-only.
      await vscode.commands.executeCommand('type', { text: 'x' });
      assert.equal(ed.document.getText(), text, 'the inspect document is read-only');
      assert.equal(ed.document.isDirty, false);
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    },
  },
  {
    name: 'open shell finds a shell in busybox and none in the shell-less target image',
    async fn() {
      await setUp();
      const t = await runContainer(docker, { name: uniqueName('it-noshell'), image: IMAGES.target, cmd: ['/app/target'] });
      made.push(t);
      assert.equal(await findShell(docker, web.id), '/bin/sh');
      assert.equal(await findShell(docker, t.id), undefined);
    },
  },
  {
    name: 'compose projects group their containers; the setting turns grouping off',
    async fn() {
      await setUp();
      const a = await api();
      const project = uniqueName('itproj');
      const c = await runContainer(docker, { name: uniqueName('it-composed'), labels: { 'com.docker.compose.project': project } });
      made.push(c);
      // The group can first appear on the create event ("0/1 running"); the
      // start then updates the same item without a reload of the root.
      const group = (await eventually(async () => (await children(a)).find((r) => label(r) === project), 'the project group'))!;
      assert.equal(group.container, undefined);
      await eventually(() => group.description === '1/1 running', `the group to count its started member (it says ${String(group.description)})`);
      assert.deepEqual((await children(a, group)).map((i) => i.container?.id), [c.id]);
      assert.ok(!(await children(a)).some((r) => r.container?.id === c.id), 'not also at the top level');
      const cfg = vscode.workspace.getConfiguration('sidecar');
      await cfg.update('containers.groupByComposeProject', false, vscode.ConfigurationTarget.Global);
      try {
        await eventually(async () => (await children(a)).some((r) => r.container?.id === c.id), 'the container at the top level');
        assert.ok(!(await children(a)).some((r) => label(r) === project), 'no group');
      } finally {
        await cfg.update('containers.groupByComposeProject', undefined, vscode.ConfigurationTarget.Global);
      }
    },
  },
  {
    name: 'status descriptions stay fresh: a tick fires only the items whose text changed',
    async fn() {
      await setUp();
      const a = await api();
      const c = await runContainer(docker, { name: uniqueName('it-fresh') });
      made.push(c);
      const item = (await eventually(async () => {
        const i = await containerItem(a, c.id);
        return i?.contextValue === 'running' ? i : undefined;
      }, 'the new container, running'))!;
      // The view may be visible (an earlier test revealed an item), so a load
      // could refresh the text before our tick; make it stale to be sure.
      item.description = 'stale';
      const fired: (Item | undefined)[] = [];
      const sub = a.containers.onDidChangeTreeData((e) => fired.push(e as Item | undefined));
      // A clock a few seconds ahead instead of a sleep; both ticks use it, so
      // the second cannot cross a second's boundary.
      const now = Date.now() + 3000;
      a.containers.tick(now);
      sub.dispose();
      assert.match(String(item.description), /^Up \d+ seconds · /);
      assert.ok(fired.includes(item), 'the item itself is fired');
      assert.ok(!fired.includes(undefined), 'never the whole tree');
      assert.ok(fired.every((f) => f?.container), 'only container items');
      // A second tick right away changes nothing, so fires nothing for this item.
      const again: (Item | undefined)[] = [];
      const sub2 = a.containers.onDidChangeTreeData((e) => again.push(e as Item | undefined));
      a.containers.tick(now);
      sub2.dispose();
      assert.ok(!again.includes(item));
    },
  },
  {
    name: 'health: healthy, unhealthy and starting from the engine\'s HEALTHCHECK, in the description, icon colour and tooltip',
    async fn() {
      await setUp();
      const a = await api();
      const SECOND = 1_000_000_000; // the API counts in nanoseconds
      const withCheck = async (prefix: string, Healthcheck: Docker.HealthConfig) => {
        const c = await docker.createContainer({
          name: uniqueName(prefix), Image: IMAGES.busybox, Cmd: ['sleep', '3600'], Healthcheck,
          Labels: { [TEST_LABEL]: 'true' }, HostConfig: { NetworkMode: 'none' },
        });
        made.push(c);
        await c.start();
        return c;
      };
      const ok = await withCheck('it-healthy', { Test: ['CMD', 'true'], Interval: SECOND, Retries: 1 });
      const bad = await withCheck('it-unhealthy', { Test: ['CMD-SHELL', 'echo probe says no; exit 3'], Interval: SECOND, Retries: 2 });
      // The first probe runs after one interval: an hour keeps this one starting.
      const waiting = await withCheck('it-starting', { Test: ['CMD', 'true'], Interval: 3600 * SECOND, Retries: 1 });
      try {
        const shown = async (c: Docker.Container, text: string) => eventually(async () => {
          const i = await containerItem(a, c.id);
          return i && String(i.description).includes(text) ? i : undefined;
        }, `${text} in the description of ${c.id.slice(0, 12)}`, 30_000);
        const color = (i: Item) => (i.iconPath as vscode.ThemeIcon).color?.id;
        const tip = (i: Item) => (i.tooltip as vscode.MarkdownString).value;

        const good = (await shown(ok, '(healthy)'))!;
        assert.match(String(good.description), /^Up .* \(healthy\) · /);
        assert.equal(color(good), 'testing.iconPassed');
        assert.match(tip(good), /Health: healthy {2}\n/);

        const sick = (await shown(bad, '(unhealthy)'))!;
        assert.equal(color(sick), 'errorForeground');
        assert.match(String(sick.contextValue), /^running/, 'still a running container for menus');
        assert.match(tip(sick), /Health: unhealthy, \d+ failed probes in a row/);
        assert.match(tip(sick), /Last probe: exit code 3 at .*: probe says no/);
        // The model carries it for other views (a details panel).
        const h = a.containers.model.containers.get(bad.id)?.detail?.health;
        assert.equal(h?.status, 'unhealthy');
        assert.ok((h?.failingStreak ?? 0) >= 2, JSON.stringify(h));
        assert.equal(h?.lastProbe?.output.trim(), 'probe says no');

        const early = (await shown(waiting, '(health: starting)'))!;
        assert.equal(color(early), 'charts.yellow');
        assert.match(tip(early), /Health: starting/);
        assert.doesNotMatch(tip(early), /Last probe/, 'no probe has run yet');
      } finally {
        // Probes are execs every second: stop them now rather than at the end of the suite.
        await removeQuietly(docker, [ok, bad, waiting]);
      }
    },
  },
  {
    name: 'open shell: a docker exec terminal over the Engine API runs commands and closes with the shell',
    async fn() {
      await setUp();
      const a = await api();
      const term = new ExecTerminal(docker, web.id, ['/bin/sh'], a.context.log);
      let out = '';
      term.onDidWrite((s) => (out += s));
      const closed = new Promise<number | void>((r) => term.onDidClose((c) => r(c)));
      await term.open({ columns: 80, rows: 24 });
      term.handleInput('echo sum-$((40+2)); hostname\r');
      await eventually(() => out.includes('sum-42'), `the shell's answer in ${JSON.stringify(out)}`);
      term.handleInput('exit 0\r');
      assert.equal(await closed, 0);
    },
  },
  {
    name: 'view logs: follows the output and ends cleanly when the container goes away',
    async fn() {
      await setUp();
      const c = await runContainer(docker, { name: uniqueName('it-logs'), cmd: ['sh', '-c', 'echo first-line; sleep 2; echo second-line; sleep 3600'] });
      made.push(c);
      const model = { id: c.id, name: 'it-logs' } as never;
      const term = new LogsTerminal(docker, model, false);
      let out = '';
      term.onDidWrite((s) => (out += s));
      await term.open();
      await eventually(() => out.includes('first-line'), 'the first line');
      await eventually(() => out.includes('second-line'), 'a line written later (follow)');
      assert.ok(out.includes('first-line\r\n'), 'lines end with CRLF for the terminal');
      await c.remove({ force: true });
      await eventually(() => out.includes('-- end of log: it-logs stopped or was removed --'), 'the end-of-log line');
      term.close();
    },
  },
  {
    name: 'bad input: an action the engine refuses gives a sentence naming the container and the reason',
    async fn() {
      await setUp();
      const c = await runContainer(docker, { name: uniqueName('it-refuse'), cmd: ['true'] });
      made.push(c);
      await c.wait();
      const err = await c.pause().then(() => undefined, (e: unknown) => e);
      assert.ok(err, 'the engine refuses to pause a stopped container');
      const msg = actionError('pause', 'it-refuse', err).message;
      assert.match(msg, /^Cannot pause it-refuse: Container [0-9a-f]+ is not running$/);
    },
  },
  {
    name: 'engine down: the view says so, then recovers by itself when dockerd starts again',
    async fn() {
      // Stopping an engine needs root, and never the shared one: an isolated dockerd of our own.
      if (nonRoot()) return;
      const { startDockerd } = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/engine.mjs')).href)) as { startDockerd(o: object): Promise<{ stop(): Promise<void> }> };
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-iso-view-'));
      const socket = path.join(root, 'docker.sock');
      const logFile = path.join(root, 'dockerd.log');
      let dockerd: { stop(): Promise<void> } | undefined = await startDockerd({ root, socket, logFile });
      const a = await api();
      const cfg = vscode.workspace.getConfiguration('sidecar');
      try {
        const iso = new (docker.constructor as typeof Docker)({ socketPath: socket });
        await iso.loadImage((await docker.getImage(IMAGES.busybox).get()) as unknown as NodeJS.ReadableStream);
        const c = await iso.createContainer({ name: 'iso-web', Image: IMAGES.busybox, Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none' } });
        await c.start();
        await cfg.update('engines', [`unix://${socket}`], vscode.ConfigurationTarget.Global);
        await eventually(async () => (await containerItem(a, c.id))?.contextValue === 'running', 'the isolated engine\'s container');
        await dockerd.stop();
        dockerd = undefined;
        await eventually(() => !a.containers.engineStatus.ok, 'the view to notice the engine is gone', 30_000);
        const st = a.containers.engineStatus;
        assert.ok(!st.ok && st.endpoint === `unix://${socket}` && /No Docker Engine answers/.test(st.error), JSON.stringify(st));
        assert.match(String(a.containers.explorer!.containersView.message), /No Docker Engine answers .* Retrying automatically\./);
        assert.deepEqual(await children(a), []);
        dockerd = await startDockerd({ root, socket, logFile });
        // No refresh command: the event stream's reconnect brings the view back.
        await eventually(async () => a.containers.engineStatus.ok && !!(await containerItem(a, c.id)), 'the view to recover by itself', 60_000);
        assert.equal(a.containers.explorer!.containersView.message, undefined);
      } finally {
        await cfg.update('engines', undefined, vscode.ConfigurationTarget.Global);
        await dockerd?.stop();
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
  },
  {
    name: CLEANUP,
    async fn() {
      await explorerCleanup();
    },
  },
];

export const explorerTests: HostTest[] = tests.map((t) => ({
  name: t.name,
  async fn() {
    try {
      await t.fn();
    } finally {
      if (!cleanupRuns()) await explorerCleanup();
    }
  },
}));
