// Container files in the Explorer: the `container:` provider and the two
// commands that open a container (as a workspace folder) or one of its files.
import { createHash, randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { ContainerModel } from '../engine/containers';
import type { SidecarContext } from '../context';
import { ContainerAccess } from '../procfs/containerFiles';
import { containerRef, splitContainerRef } from '../engine/engines';
import { ContainerFileSystemProvider, containerUri, SCHEME } from './provider';
import { filesBackend } from '../trust/settings';

interface Target {
  id: string;
  name: string;
  /** Absent for the default engine (URIs then look as they always did). */
  engineId?: string;
}

export interface FilesApi {
  provider: ContainerFileSystemProvider;
  access: ContainerAccess;
}

/** Next to a workspace file: its window should open on the Explorer once it has loaded. */
const SHOW_EXPLORER = 'show-explorer';

/**
 * A .code-workspace holding the window's folders and the container, written
 * whole (temporary file, then rename) before anything opens it. One file per
 * folder set and container, under the extension's storage, so nothing lands
 * in the user's project and another window's workspace is never rewritten.
 */
export async function writeWorkspaceFile(storage: vscode.Uri, folders: readonly vscode.WorkspaceFolder[], added: { uri: vscode.Uri; name: string }): Promise<vscode.Uri> {
  const entries = [
    ...folders.map((f) => (f.uri.scheme === 'file' ? { path: f.uri.fsPath } : { uri: f.uri.toString(), name: f.name })),
    { uri: added.uri.toString(), name: added.name },
  ];
  const key = createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 16);
  const dir = vscode.Uri.joinPath(storage, 'workspaces', key);
  // The file's name is the window's title: the project's name, as before.
  const base = (folders[0]?.name ?? added.name).replace(/[^\w.() -]+/g, '_');
  const file = vscode.Uri.joinPath(dir, `${base}.code-workspace`);
  const tmp = vscode.Uri.joinPath(dir, `.${base}.${randomBytes(4).toString('hex')}.tmp`);
  await vscode.workspace.fs.createDirectory(dir);
  await vscode.workspace.fs.writeFile(tmp, Buffer.from(`${JSON.stringify({ folders: entries }, null, 2)}\n`));
  await vscode.workspace.fs.rename(tmp, file, { overwrite: true });
  return file;
}

/**
 * Under load, code-server's workbench sometimes opens our workspace file before
 * it can read it and shows the workspace with no folders at all (seen in the
 * files e2e on a fresh clone; the file itself was whole). The extension then
 * activates only through `onStartupFinished`; it puts the file's folders back,
 * so the user never ends up in an empty window.
 */
async function repairEmptyWorkspace(ws: vscode.Uri, log: vscode.LogOutputChannel): Promise<void> {
  if (vscode.workspace.workspaceFolders?.length) return;
  let entries: { path?: string; uri?: string; name?: string }[];
  try {
    const parsed = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(ws)).toString('utf8')) as { folders?: unknown };
    entries = Array.isArray(parsed.folders) ? parsed.folders as typeof entries : [];
  } catch (e) {
    log.warn(`The workspace ${ws.fsPath} could not be read back: ${String(e)}`);
    return;
  }
  const folders = entries.flatMap((f) => (typeof f.path === 'string' ? [{ uri: vscode.Uri.file(f.path) }]
    : typeof f.uri === 'string' ? [{ uri: vscode.Uri.parse(f.uri), name: typeof f.name === 'string' ? f.name : undefined }] : []));
  if (!folders.length || vscode.workspace.workspaceFolders?.length) return;
  log.warn(`The window opened ${ws.fsPath} with no folders; adding its ${folders.length} folder(s) again`);
  if (!vscode.workspace.updateWorkspaceFolders(0, 0, ...folders)) {
    void vscode.window.showWarningMessage(`The workspace opened without its folders. Open ${ws.fsPath} again (File > Open Workspace from File).`);
  }
}

function setting<T>(key: string, fallback: T): T {
  return vscode.workspace.getConfiguration('sidecar.files').get<T>(key) ?? fallback;
}

export function registerFiles(ctx: SidecarContext): FilesApi {
  const access = new ContainerAccess((engineId) => ctx.engineFor(engineId), {
    backend: filesBackend,
    maxReadBytes: () => {
      const mb = setting<number>('maxFileSizeMB', 2048);
      return (typeof mb === 'number' && mb > 0 ? mb : 2048) * 1024 ** 2;
    },
    log: (m) => ctx.log.info(m),
    // Starting a helper (and importing its image the first time) takes seconds: say so.
    progress: (title, task) => Promise.resolve(vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title },
      (p) => task((message) => p.report({ message })),
    )),
  });
  const provider = new ContainerFileSystemProvider(access, ctx.log);
  ctx.extension.subscriptions.push(
    vscode.workspace.registerFileSystemProvider(SCHEME, provider, { isCaseSensitive: true }),
    provider,
    { dispose: () => void access.dispose() },
  );

  /** The container a command is about: a tree item, an id or name ("<name>@<engine id>" for another engine), or a quick pick. */
  async function target(arg: unknown): Promise<Target | undefined> {
    const a = arg as { container?: ContainerModel; containerId?: string } | string | undefined;
    const idFor = (engineId: string | undefined) => ctx.engines.idFor(ctx.engineFor(engineId));
    if (a && typeof a === 'object' && a.container?.id) return { id: a.container.id, name: a.container.name, engineId: idFor(a.container.engineId) };
    const ref = typeof a === 'string' ? a : a && typeof a === 'object' ? a.containerId : undefined;
    if (ref) {
      const { container, engineId } = splitContainerRef(ref);
      const engine = ctx.engineFor(engineId ?? ctx.engineIdOf(a));
      const d = await engine.inspect(container);
      return { id: d.id, name: d.name, engineId: ctx.engines.idFor(engine) };
    }
    const engines = ctx.engines.all;
    const lists = await Promise.all(engines.map((e) => e.listContainers().catch(() => [])));
    const running = lists.flat().filter((c) => c.state === 'running' || c.state === 'paused');
    if (!running.length) {
      void vscode.window.showInformationMessage('No container is running. Start one, then open its files.');
      return undefined;
    }
    const engineName = (c: ContainerModel) => (engines.length > 1 ? ` · ${ctx.engineFor(c.engineId).name}` : '');
    const pick = await vscode.window.showQuickPick(
      running.map((c) => ({ label: c.name, description: `${c.image} · ${c.shortId}${engineName(c)}`, id: c.id, engineId: c.engineId })),
      { placeHolder: 'Container whose files to open', matchOnDescription: true },
    );
    return pick && { id: pick.id, name: pick.label, engineId: idFor(pick.engineId) };
  }

  // This window was opened by the command below: finish its job, once.
  const ws = vscode.workspace.workspaceFile;
  if (ws?.scheme === 'file' && ws.path.startsWith(`${vscode.Uri.joinPath(ctx.extension.globalStorageUri, 'workspaces').path}/`)) {
    const marker = vscode.Uri.joinPath(ws, '..', SHOW_EXPLORER);
    void repairEmptyWorkspace(ws, ctx.log);
    void Promise.resolve(vscode.workspace.fs.delete(marker)).then(
      () => vscode.commands.executeCommand('workbench.view.explorer'),
      () => undefined, // no marker: the user reopened it later; leave the views as they were
    );
  }

  ctx.registerCommand('sidecar.files.open', async (arg?: unknown) => {
    const t = await target(arg);
    if (!t) return undefined;
    const uri = containerUri(containerRef(t.id, t.engineId));
    // Check now, so a stopped container gets a message instead of an empty folder.
    await vscode.workspace.fs.stat(uri);
    const folders = vscode.workspace.workspaceFolders ?? [];
    const name = t.engineId ? `${t.name} (container on ${ctx.engineFor(t.engineId).name})` : `${t.name} (container)`;
    if (folders.some((f) => f.uri.toString() === uri.toString())) {
      await vscode.commands.executeCommand('workbench.view.explorer');
      return uri;
    }
    if (vscode.workspace.workspaceFile) {
      // A workspace (saved or untitled) takes one more folder in place.
      ctx.log.info(`Opening ${t.name} (${t.id.slice(0, 12)}) in the Explorer`);
      const ok = vscode.workspace.updateWorkspaceFolders(folders.length, 0, { uri, name });
      if (!ok) throw new Error(`Could not add ${t.name} to the workspace; another workspace change may be in progress. Try again.`);
      await vscode.commands.executeCommand('workbench.view.explorer');
      return uri;
    }
    // A single-folder or empty window has to become a workspace, which reloads it.
    // Left to VS Code (an untitled workspace), that reload sometimes came back
    // with no folders at all; a workspace file written whole beforehand cannot.
    let newWindow = false;
    if (folders.length) {
      const here = 'Reload as Workspace';
      const there = 'Open in New Window';
      const choice = await vscode.window.showInformationMessage(
        `Open ${t.name}'s files next to ${folders[0].name}?`,
        { modal: true, detail: `This window shows a single folder, so it reloads as a workspace of ${folders[0].name} and ${name}; open editors come back, debug sessions end. A new window leaves this one as it is.` },
        here, there,
      );
      if (!choice) return undefined;
      newWindow = choice === there;
    }
    const file = await writeWorkspaceFile(ctx.extension.globalStorageUri, folders, { uri, name });
    ctx.log.info(`Opening ${t.name} (${t.id.slice(0, 12)}) in the Explorer through the workspace ${file.fsPath}${newWindow ? ', in a new window' : ''}`);
    await vscode.workspace.fs.writeFile(vscode.Uri.joinPath(file, '..', SHOW_EXPLORER), new Uint8Array());
    await vscode.commands.executeCommand('vscode.openFolder', file, newWindow ? { forceNewWindow: true } : { forceReuseWindow: true });
    return uri;
  });

  ctx.registerCommand('sidecar.files.openPath', async (arg?: unknown, pathArg?: string) => {
    const t = await target(arg);
    if (!t) return undefined;
    const p = pathArg ?? await vscode.window.showInputBox({
      title: `Open a file in ${t.name}`,
      prompt: 'Absolute path inside the container',
      placeHolder: '/etc/hostname',
      validateInput: (v) => (v.startsWith('/') ? undefined : 'Enter an absolute path, starting with /'),
    });
    if (!p) return undefined;
    if (!p.startsWith('/')) throw new Error(`"${p}" is not an absolute path inside ${t.name}; start it with /.`);
    const uri = containerUri(containerRef(t.id, t.engineId), p);
    await vscode.window.showTextDocument(uri, { preview: false });
    return uri;
  });

  return { provider, access };
}
