// container: URIs through vscode.workspace.fs in the real extension host, on
// the shell-less target. What the container really holds is checked from a
// busybox container that shares the target's pid namespace (/proc/1/root).
// Run as root this covers the direct backend; as sidecar-dev, the helper.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type Docker from 'dockerode';
import type { SidecarApi } from '../../src/extension';
import { eventually, type HostTest } from '../helpers/hostRunner';
import { execIn, IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../helpers/docker';

const EXTENSION_ID = 'container-sidecar.container-sidecar';
const docker = testDocker();

async function api(): Promise<SidecarApi> {
  const ext = vscode.extensions.getExtension<SidecarApi>(EXTENSION_ID);
  assert.ok(ext);
  return ext.activate();
}

interface Scene {
  target: Docker.Container;
  name: string;
  checker: Docker.Container;
  uri(p: string): vscode.Uri;
  /** Runs a command in the checker, which sees the target's files under /proc/1/root. */
  inside(cmd: string[]): Promise<string>;
  dispose(): Promise<void>;
}

async function scene(): Promise<Scene> {
  const name = uniqueName('files-target');
  const target = await runContainer(docker, { name, image: IMAGES.target, cmd: ['/app/target'] });
  const checker = await runContainer(docker, { name: uniqueName('files-check'), hostConfig: { PidMode: `container:${target.id}`, NetworkMode: 'none', CapAdd: ['SYS_PTRACE'] } });
  return {
    target, name, checker,
    uri: (p) => vscode.Uri.from({ scheme: 'container', authority: target.id, path: p }),
    async inside(cmd) {
      const r = await execIn(docker, checker.id, cmd);
      return r.stdout;
    },
    async dispose() {
      await removeQuietly(docker, [checker, target]);
    },
  };
}

async function rejectsFs(p: Thenable<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(Promise.resolve(p), (e: vscode.FileSystemError) => {
    assert.equal(e.code, code, `${e.code}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

const text = (b: Uint8Array) => Buffer.from(b).toString();

export const filesTests: HostTest[] = [
  {
    name: 'the backend is direct as root and a helper container otherwise',
    async fn() {
      const a = await api();
      const s = await scene();
      try {
        const f = await a.files.access.get(s.target.id);
        assert.equal(f.backend, process.getuid?.() === 0 ? 'direct' : 'helper');
        assert.equal(f.name, s.name);
      } finally {
        await s.dispose();
      }
    },
  },
  {
    name: 'read, stat and readDirectory of a shell-less target',
    async fn() {
      await api();
      const s = await scene();
      try {
        const root = await vscode.workspace.fs.readDirectory(s.uri('/'));
        const names = new Map(root);
        assert.equal(names.get('app'), vscode.FileType.Directory);
        assert.ok(!names.has('bin'), 'the target has no /bin (no shell)');
        const app = new Map(await vscode.workspace.fs.readDirectory(s.uri('/app')));
        assert.equal(app.get('target'), vscode.FileType.File);
        const cfg = text(await vscode.workspace.fs.readFile(s.uri('/app/config.json')));
        assert.equal(cfg, await s.inside(['cat', '/proc/1/root/app/config.json']));
        const st = await vscode.workspace.fs.stat(s.uri('/app/target'));
        assert.equal(st.type, vscode.FileType.File);
        assert.equal(String(st.size), (await s.inside(['stat', '-c', '%s', '/proc/1/root/app/target'])).trim());
        await s.inside(['ln', '-s', '/app/config.json', '/proc/1/root/tmp/cfg-link']);
        const ls = await vscode.workspace.fs.stat(s.uri('/tmp/cfg-link'));
        assert.equal(ls.type, vscode.FileType.File | vscode.FileType.SymbolicLink);
      } finally {
        await s.dispose();
      }
    },
  },
  {
    name: 'write, createDirectory, rename, copy and delete land in the container',
    async fn() {
      await api();
      const s = await scene();
      try {
        await vscode.workspace.fs.createDirectory(s.uri('/tmp/work'));
        await vscode.workspace.fs.writeFile(s.uri('/tmp/work/a.txt'), Buffer.from('first\n'));
        assert.equal(await s.inside(['cat', '/proc/1/root/tmp/work/a.txt']), 'first\n');
        await vscode.workspace.fs.writeFile(s.uri('/tmp/work/a.txt'), Buffer.from('second\n'));
        assert.equal(await s.inside(['cat', '/proc/1/root/tmp/work/a.txt']), 'second\n');
        await vscode.workspace.fs.rename(s.uri('/tmp/work/a.txt'), s.uri('/tmp/work/b.txt'));
        await vscode.workspace.fs.copy(s.uri('/tmp/work/b.txt'), s.uri('/tmp/work/c.txt'));
        // The workbench checks existence itself here, so the message is its own.
        await rejectsFs(vscode.workspace.fs.copy(s.uri('/tmp/work/b.txt'), s.uri('/tmp/work/c.txt'), { overwrite: false }), 'FileExists', /exists/i);
        assert.equal(await s.inside(['ls', '/proc/1/root/tmp/work']), 'b.txt\nc.txt\n');
        await vscode.workspace.fs.delete(s.uri('/tmp/work/c.txt'));
        await vscode.workspace.fs.delete(s.uri('/tmp/work'), { recursive: true });
        assert.equal(await s.inside(['sh', '-c', 'test -e /proc/1/root/tmp/work && echo still-there || echo gone']), 'gone\n');
      } finally {
        await s.dispose();
      }
    },
  },
  {
    name: 'errors are FileSystemErrors that name the container',
    async fn() {
      await api();
      const s = await scene();
      try {
        await rejectsFs(vscode.workspace.fs.readFile(s.uri('/nope.txt')), 'FileNotFound', new RegExp(`Container ${s.name}.*/nope.txt does not exist`));
        await rejectsFs(vscode.workspace.fs.readDirectory(s.uri('/app/target')), 'FileNotADirectory', new RegExp(s.name));
        await rejectsFs(vscode.workspace.fs.readFile(s.uri('/app')), 'FileIsADirectory', new RegExp(s.name));
        await s.inside(['mkfifo', '/proc/1/root/tmp/fifo']);
        await rejectsFs(vscode.workspace.fs.readFile(s.uri('/tmp/fifo')), 'NoPermissions', /not a regular file \(a FIFO\)/);
        await rejectsFs(vscode.workspace.fs.delete(s.uri('/app')), 'Unavailable', new RegExp(`${s.name}.*not empty`));
      } finally {
        await s.dispose();
      }
    },
  },
  {
    name: 'a restarted container keeps its URIs; stopped is Unavailable, removed is FileNotFound',
    async fn() {
      await api();
      const s = await scene();
      try {
        await vscode.workspace.fs.writeFile(s.uri('/tmp/keep.txt'), Buffer.from('kept\n'));
        await s.checker.remove({ force: true });
        await s.target.restart({ t: 0 });
        assert.equal(text(await vscode.workspace.fs.readFile(s.uri('/tmp/keep.txt'))), 'kept\n');
        await s.target.stop({ t: 0 });
        await rejectsFs(vscode.workspace.fs.stat(s.uri('/tmp/keep.txt')), 'Unavailable', new RegExp(`Container ${s.name} is stopped`));
        await s.target.remove({ force: true });
        await rejectsFs(vscode.workspace.fs.stat(s.uri('/tmp/keep.txt')), 'FileNotFound', /does not exist/);
      } finally {
        await s.dispose();
      }
    },
  },
  {
    name: 'a change made inside the container reaches an open editor; watchers are released',
    async fn() {
      const a = await api();
      const s = await scene();
      try {
        await s.inside(['sh', '-c', 'echo before > /proc/1/root/tmp/watched.txt']);
        const doc = await vscode.workspace.openTextDocument(s.uri('/tmp/watched.txt'));
        assert.equal(doc.getText(), 'before\n');
        assert.equal(doc.languageId, 'plaintext');
        // The workbench watches files of visible editors that are outside the workspace.
        await vscode.window.showTextDocument(doc);
        await eventually(() => a.files.provider.watchers.count().watches > 0, 'the editor to watch the file');
        if ((await a.files.access.get(s.target.id)).backend === 'direct') {
          assert.ok(a.files.provider.watchers.count().inotify > 0, 'the direct backend watches with inotify');
        }
        await s.inside(['sh', '-c', 'echo after > /proc/1/root/tmp/watched.txt']);
        await eventually(() => doc.getText() === 'after\n', 'the document to show the change', 5000);
        const json = await vscode.workspace.openTextDocument(s.uri('/app/config.json'));
        assert.equal(json.languageId, 'json', 'language comes from the file name');
      } finally {
        await s.dispose();
      }
      // Closing everything must leave no watch behind.
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      await eventually(() => {
        const c = a.files.provider.watchers.count();
        return c.watches === 0 && c.inotify === 0 && c.polled === 0;
      }, 'every watch to be released', 10000);
    },
  },
  {
    name: 'Open File in Container opens a path in an editor, with its language',
    async fn() {
      await api();
      const s = await scene();
      try {
        const uri = await vscode.commands.executeCommand<vscode.Uri>('sidecar.files.openPath', s.target.id, '/app/config.json');
        assert.equal(uri?.toString(), s.uri('/app/config.json').toString());
        const ed = vscode.window.activeTextEditor;
        assert.equal(ed?.document.uri.toString(), s.uri('/app/config.json').toString());
        assert.equal(ed?.document.languageId, 'json');
        assert.equal(ed?.document.getText(), await s.inside(['cat', '/proc/1/root/app/config.json']));
        // A relative path is refused with a message, and nothing opens.
        const none = await vscode.commands.executeCommand('sidecar.files.openPath', s.target.id, 'app/config.json');
        assert.equal(none, undefined);
        await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      } finally {
        await s.dispose();
      }
    },
  },
  {
    name: 'helper containers are labelled role=files, shared per target and removed when unused',
    async fn() {
      const a = await api();
      const s = await scene();
      try {
        const f = await a.files.access.get(s.target.id);
        if (f.backend !== 'helper') return; // as root the direct backend needs no helper
        await Promise.all([vscode.workspace.fs.stat(s.uri('/app')), vscode.workspace.fs.stat(s.uri('/tmp'))]);
        const helpers = await docker.listContainers({ filters: { label: ['io.container-sidecar.role=files', `io.container-sidecar.target=${s.target.id}`] } });
        assert.equal(helpers.length, 1, 'one helper for the target');
        assert.equal(helpers[0].HostConfig.NetworkMode, 'none');
        await a.files.access.helpers.sweep(true);
        const after = await docker.listContainers({ all: true, filters: { label: ['io.container-sidecar.role=files', `io.container-sidecar.target=${s.target.id}`] } });
        assert.equal(after.length, 0, 'the helper was removed');
      } finally {
        await s.dispose();
      }
    },
  },
];
