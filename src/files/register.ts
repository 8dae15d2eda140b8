// Container files in the Explorer: the `container:` provider and the two
// commands that open a container (as a workspace folder) or one of its files.
import * as vscode from 'vscode';
import type { ContainerModel } from '../engine/containers';
import type { SidecarContext } from '../context';
import { ContainerAccess } from '../procfs/containerFiles';
import { ContainerFileSystemProvider, containerUri, SCHEME } from './provider';

interface Target {
  id: string;
  name: string;
}

export interface FilesApi {
  provider: ContainerFileSystemProvider;
  access: ContainerAccess;
}

function setting<T>(key: string, fallback: T): T {
  return vscode.workspace.getConfiguration('sidecar.files').get<T>(key) ?? fallback;
}

export function registerFiles(ctx: SidecarContext): FilesApi {
  const access = new ContainerAccess(() => ctx.engine, {
    backend: () => setting<'auto' | 'direct' | 'helper'>('backend', 'auto'),
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

  /** The container a command is about: a tree item, an id or name, or a quick pick. */
  async function target(arg: unknown): Promise<Target | undefined> {
    const a = arg as { container?: ContainerModel; containerId?: string } | string | undefined;
    if (a && typeof a === 'object' && a.container?.id) return { id: a.container.id, name: a.container.name };
    const ref = typeof a === 'string' ? a : a && typeof a === 'object' ? a.containerId : undefined;
    if (ref) {
      const d = await ctx.engine.inspect(ref);
      return { id: d.id, name: d.name };
    }
    const running = (await ctx.engine.listContainers()).filter((c) => c.state === 'running' || c.state === 'paused');
    if (!running.length) {
      void vscode.window.showInformationMessage('No container is running. Start one, then open its files.');
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(
      running.map((c) => ({ label: c.name, description: `${c.image} · ${c.shortId}`, id: c.id })),
      { placeHolder: 'Container whose files to open', matchOnDescription: true },
    );
    return pick && { id: pick.id, name: pick.label };
  }

  ctx.registerCommand('sidecar.files.open', async (arg?: unknown) => {
    const t = await target(arg);
    if (!t) return undefined;
    const uri = containerUri(t.id);
    // Check now, so a stopped container gets a message instead of an empty folder.
    await vscode.workspace.fs.stat(uri);
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (!folders.some((f) => f.uri.toString() === uri.toString())) {
      ctx.log.info(`Opening ${t.name} (${t.id.slice(0, 12)}) in the Explorer`);
      const ok = vscode.workspace.updateWorkspaceFolders(folders.length, 0, { uri, name: `${t.name} (container)` });
      if (!ok) throw new Error(`Could not add ${t.name} to the workspace; another workspace change may be in progress. Try again.`);
    }
    await vscode.commands.executeCommand('workbench.view.explorer');
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
    const uri = containerUri(t.id, p);
    await vscode.window.showTextDocument(uri, { preview: false });
    return uri;
  });

  return { provider, access };
}
