// The `container:` file system: container://<container id>/<path inside it>.
// Each call looks the container up again (ContainerAccess), so URIs survive
// restarts; the confined backends below do the file work.
import * as vscode from 'vscode';
import path from 'node:path';
import { NoSuchContainerError } from '../engine/engine';
import { splitContainerRef } from '../engine/engines';
import { ContainerAccess, ContainerStoppedError } from '../procfs/containerFiles';
import { ConfinedError, type EntryStat } from '../procfs/rootfs';
import { FileWatchers } from './watch';

export const SCHEME = 'container';

/** `ref` is a container id, or "<id>@<engine id>" for another engine than the default (src/engine/engines.ts). */
export function containerUri(ref: string, p = '/'): vscode.Uri {
  return vscode.Uri.from({ scheme: SCHEME, authority: ref, path: p.startsWith('/') ? p : `/${p}` });
}

function fileType(s: EntryStat): vscode.FileType {
  const t = s.kind === 'file' ? vscode.FileType.File : s.kind === 'dir' ? vscode.FileType.Directory : vscode.FileType.Unknown;
  return s.isLink ? t | vscode.FileType.SymbolicLink : t;
}

export class ContainerFileSystemProvider implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;
  readonly watchers: FileWatchers;

  constructor(readonly access: ContainerAccess, private readonly log: vscode.LogOutputChannel) {
    this.watchers = new FileWatchers(access, (events) => this.emitter.fire(events), log);
  }

  /** Runs fn on the container's files and turns every failure into a FileSystemError naming the container. */
  private async run<T>(uri: vscode.Uri, fn: (f: Awaited<ReturnType<ContainerAccess['get']>>) => Promise<T>): Promise<T> {
    let name = splitContainerRef(uri.authority).container.slice(0, 12);
    try {
      const f = await this.access.get(uri.authority);
      name = f.name;
      return await fn(f);
    } catch (e) {
      throw this.toFsError(e, uri, name);
    }
  }

  private toFsError(e: unknown, uri: vscode.Uri, name: string): Error {
    if (e instanceof vscode.FileSystemError) return e;
    if (e instanceof NoSuchContainerError) {
      const { container, engineId } = splitContainerRef(uri.authority);
      return vscode.FileSystemError.FileNotFound(`Container ${container.slice(0, 12)}${engineId ? ` on engine ${engineId}` : ''} does not exist (it may have been removed): ${uri.path}`);
    }
    if (e instanceof ContainerStoppedError) return vscode.FileSystemError.Unavailable(e.message);
    const raw = e instanceof Error ? e.message : String(e);
    const msg = raw.startsWith('Container ') ? raw : `Container ${name}: ${raw}`;
    const code = (e as { code?: string }).code;
    switch (code) {
      case 'ENOENT': return vscode.FileSystemError.FileNotFound(msg);
      case 'EEXIST': return vscode.FileSystemError.FileExists(msg);
      case 'ENOTDIR': return vscode.FileSystemError.FileNotADirectory(msg);
      case 'EISDIR': return vscode.FileSystemError.FileIsADirectory(msg);
      case 'EACCES': case 'EPERM': case 'EROFS': case 'ENOTREG': return vscode.FileSystemError.NoPermissions(msg);
      default:
        if (!(e instanceof ConfinedError)) this.log.warn(`${uri.toString()}: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
        return vscode.FileSystemError.Unavailable(msg);
    }
  }

  watch(uri: vscode.Uri, options: { readonly recursive: boolean; readonly excludes: readonly string[] }): vscode.Disposable {
    return this.watchers.watch(uri, options.recursive);
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    return this.run(uri, async (f) => {
      const s = await f.fs.stat(uri.path);
      return { type: fileType(s), size: s.size, mtime: s.mtimeMs, ctime: s.ctimeMs };
    });
  }

  async readDirectory(uri: vscode.Uri): Promise<[string, vscode.FileType][]> {
    const entries = await this.run(uri, (f) => f.fs.readdir(uri.path));
    // The Explorer lists what it expands: watch those folders under a recursive watch.
    this.watchers.noteListed(uri);
    return entries.map(([n, s]) => [n, fileType(s)]);
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const data = await this.run(uri, (f) => f.fs.readFile(uri.path));
    this.watchers.noteListed(uri.with({ path: path.posix.dirname(uri.path) }));
    return data;
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array, options: { readonly create: boolean; readonly overwrite: boolean }): Promise<void> {
    let existed = true;
    await this.run(uri, async (f) => {
      existed = await f.fs.stat(uri.path).then(() => true, () => false);
      await f.fs.writeFile(uri.path, content, options);
    });
    this.fire(existed ? vscode.FileChangeType.Changed : vscode.FileChangeType.Created, uri);
  }

  async createDirectory(uri: vscode.Uri): Promise<void> {
    await this.run(uri, (f) => f.fs.mkdir(uri.path));
    this.fire(vscode.FileChangeType.Created, uri);
  }

  async delete(uri: vscode.Uri, options: { readonly recursive: boolean }): Promise<void> {
    await this.run(uri, (f) => f.fs.delete(uri.path, options));
    this.fire(vscode.FileChangeType.Deleted, uri);
  }

  async rename(oldUri: vscode.Uri, newUri: vscode.Uri, options: { readonly overwrite: boolean }): Promise<void> {
    this.sameContainer(oldUri, newUri);
    await this.run(oldUri, (f) => f.fs.rename(oldUri.path, newUri.path, options));
    this.fire(vscode.FileChangeType.Deleted, oldUri);
    this.fire(vscode.FileChangeType.Created, newUri);
  }

  async copy(source: vscode.Uri, destination: vscode.Uri, options: { readonly overwrite: boolean }): Promise<void> {
    this.sameContainer(source, destination);
    await this.run(source, (f) => f.fs.copy(source.path, destination.path, options));
    this.fire(vscode.FileChangeType.Created, destination);
  }

  private sameContainer(a: vscode.Uri, b: vscode.Uri): void {
    // VS Code falls back to read + write for copies between file systems; between
    // two containers we are asked directly, so say plainly what is not supported.
    if (a.authority !== b.authority) {
      throw vscode.FileSystemError.NoPermissions(`Moving or copying between containers (${a.authority.slice(0, 12)} and ${b.authority.slice(0, 12)}) is not supported; copy the file's content instead.`);
    }
  }

  private fire(type: vscode.FileChangeType, uri: vscode.Uri): void {
    this.emitter.fire([{ type, uri }]);
  }

  dispose(): void {
    this.watchers.dispose();
    this.emitter.dispose();
  }
}
