// Change events for container: URIs. On the direct backend, inotify
// (fs.watch) is bound to the directory inode that the confined walk reached,
// through /proc/self/fd/<fd>: no path is ever re-resolved by the kernel. The
// helper backend (and any fs.watch failure) falls back to polling, one exec
// per container per tick for all watched paths.
//
// A recursive watch (the Explorer asks one per workspace folder) does not
// walk a whole container: it covers the folder itself and every folder under
// it that is listed (expanded) or holds a file that was read.
import * as vscode from 'vscode';
import fs from 'node:fs';
import path from 'node:path';
import type { ContainerAccess, ContainerFiles } from '../procfs/containerFiles';
import { HelperFs } from '../procfs/helperfs';

const BATCH_MS = 50;
const POLL_MS = 700;
const MAX_DIRS_PER_WATCH = 500;

interface Handle {
  /** Container path watched; for a file watch, the file. */
  path: string;
  /** Identity of the backend it was bound to (a restart makes a new one). */
  bound?: unknown;
  inotify?: fs.FSWatcher;
  /** Last poll signature; undefined until the first poll. */
  sig?: string;
  names?: Set<string>;
}

interface Watch {
  authority: string;
  root: string;
  recursive: boolean;
  handles: Map<string, Handle>;
}

export class FileWatchers implements vscode.Disposable {
  private readonly watches = new Set<Watch>();
  private pending = new Map<string, { type: vscode.FileChangeType; uri: vscode.Uri }>();
  private batchTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly access: ContainerAccess,
    private readonly fire: (events: vscode.FileChangeEvent[]) => void,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  watch(uri: vscode.Uri, recursive: boolean): vscode.Disposable {
    const w: Watch = { authority: uri.authority, root: uri.path || '/', recursive, handles: new Map() };
    this.watches.add(w);
    void this.add(w, w.root);
    this.ensurePolling();
    return new vscode.Disposable(() => {
      this.watches.delete(w);
      for (const h of w.handles.values()) h.inotify?.close();
      w.handles.clear();
      if (!this.watches.size && this.pollTimer) {
        clearInterval(this.pollTimer);
        this.pollTimer = undefined;
      }
    });
  }

  /** A folder was listed (or a file in it read): recursive watches above it now cover it. */
  noteListed(dir: vscode.Uri): void {
    for (const w of this.watches) {
      if (!w.recursive || w.authority !== dir.authority || w.handles.has(dir.path)) continue;
      const under = w.root === '/' || dir.path === w.root || dir.path.startsWith(w.root + '/');
      if (under && w.handles.size < MAX_DIRS_PER_WATCH) void this.add(w, dir.path);
    }
  }

  /** Open inotify watches and polled paths, for leak checks. */
  count(): { watches: number; inotify: number; polled: number } {
    let inotify = 0;
    let polled = 0;
    for (const w of this.watches) {
      for (const h of w.handles.values()) {
        if (h.inotify) inotify++;
        else polled++;
      }
    }
    return { watches: this.watches.size, inotify, polled };
  }

  private async add(w: Watch, p: string): Promise<void> {
    const h: Handle = { path: p };
    w.handles.set(p, h);
    try {
      await this.bind(w, h, await this.access.get(w.authority));
    } catch (e) {
      this.log.debug(`watch ${w.authority.slice(0, 12)}:${p}: ${String(e)}; polling`);
    }
  }

  /** Binds inotify on the direct backend; otherwise the handle stays polled. */
  private async bind(w: Watch, h: Handle, f: ContainerFiles): Promise<void> {
    h.bound = f.fs;
    if (!f.rootfs || !this.watches.has(w)) return;
    h.inotify = f.rootfs.watchTarget(h.path, (dirPath, name) => {
      const base = name === undefined ? h.path : path.posix.dirname(h.path);
      const watcher = fs.watch(dirPath, { persistent: false }, (ev, file) => {
        if (file === null || file === undefined) return this.queue(w.authority, base, vscode.FileChangeType.Changed);
        const f2 = file.toString();
        if (name !== undefined && f2 !== name) return;
        // 'rename' is a name that came or went (a stat tells which); 'change' is new content.
        this.queue(w.authority, path.posix.join(base, f2), ev === 'rename' ? vscode.FileChangeType.Created : vscode.FileChangeType.Changed);
      });
      watcher.on('error', () => {
        // The inode went away (container stopped, folder removed): poll from now on.
        watcher.close();
        h.inotify = undefined;
        h.bound = undefined;
      });
      return watcher;
    });
  }

  /** Queues an event; at flush, a stat turns created/changed into deleted when the entry is gone. */
  private queue(authority: string, p: string, type: vscode.FileChangeType): void {
    const uri = vscode.Uri.from({ scheme: 'container', authority, path: p });
    const key = uri.toString();
    const prev = this.pending.get(key);
    // Keep "created" over "changed" within one batch, so a new file is added to the Explorer.
    if (prev?.type === vscode.FileChangeType.Created && type === vscode.FileChangeType.Changed) return;
    this.pending.set(key, { type, uri });
    this.batchTimer ??= setTimeout(() => void this.flush(), BATCH_MS);
  }

  private async flush(): Promise<void> {
    this.batchTimer = undefined;
    const events = [...this.pending.values()];
    this.pending = new Map();
    for (const e of events) {
      if (e.type === vscode.FileChangeType.Deleted) continue;
      try {
        const f = await this.access.get(e.uri.authority);
        await f.fs.stat(e.uri.path);
      } catch {
        e.type = vscode.FileChangeType.Deleted;
      }
    }
    // An open editor reloads on "changed"; the Explorer adds entries on "created": a replaced file gets both.
    const extra = events.filter((e) => e.type === vscode.FileChangeType.Created).map((e) => ({ type: vscode.FileChangeType.Changed, uri: e.uri }));
    if (events.length) this.fire([...events, ...extra]);
  }

  private ensurePolling(): void {
    this.pollTimer ??= setInterval(() => void this.pollOnce(), POLL_MS);
  }

  /** Polls every handle that has no inotify watch, and rebinds handles after a restart. */
  private async pollOnce(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const byContainer = new Map<string, { w: Watch; h: Handle }[]>();
      for (const w of this.watches) {
        for (const h of w.handles.values()) {
          const list = byContainer.get(w.authority) ?? [];
          list.push({ w, h });
          byContainer.set(w.authority, list);
        }
      }
      for (const [authority, list] of byContainer) {
        let f: ContainerFiles;
        try {
          f = await this.access.get(authority);
        } catch {
          continue; // stopped or removed: nothing to watch until it is back
        }
        const todo: { w: Watch; h: Handle }[] = [];
        for (const x of list) {
          if (x.h.bound !== f.fs) {
            // A new backend (the container restarted): rebind, and report the folder as changed.
            x.h.inotify?.close();
            x.h.inotify = undefined;
            const wasBound = x.h.bound !== undefined;
            await this.bind(x.w, x.h, f).catch(() => undefined);
            if (wasBound) this.queue(authority, x.h.path, vscode.FileChangeType.Changed);
          }
          if (!x.h.inotify) todo.push(x);
        }
        if (todo.length) await this.poll(authority, f, todo.map((x) => x.h));
      }
    } finally {
      this.polling = false;
    }
  }

  private async poll(authority: string, f: ContainerFiles, handles: Handle[]): Promise<void> {
    const paths = handles.map((h) => h.path);
    let sigs: string[];
    if (f.fs instanceof HelperFs) {
      sigs = await f.fs.poll(paths).catch(() => []);
    } else {
      sigs = await Promise.all(paths.map(async (p) => {
        try {
          const s = await f.fs.stat(p);
          const names = s.kind === 'dir' ? (await f.fs.readdir(p)).map(([n]) => n).sort().join('/') : '';
          return `${s.mtimeMs} ${s.ctimeMs} ${s.size} ${names}`;
        } catch {
          return 'gone';
        }
      }));
    }
    for (let i = 0; i < handles.length; i++) {
      const h = handles[i];
      const sig = sigs[i];
      if (sig === undefined) continue;
      const before = h.sig;
      h.sig = sig;
      if (before === undefined || before === sig) continue;
      if (sig === 'gone') {
        this.queue(authority, h.path, vscode.FileChangeType.Deleted);
        continue;
      }
      this.queue(authority, h.path, vscode.FileChangeType.Changed);
      // A folder changed: name the children that came and went, so the Explorer updates them.
      try {
        const names = new Set((await f.fs.readdir(h.path)).map(([n]) => n));
        if (h.names) {
          for (const n of names) if (!h.names.has(n)) this.queue(authority, path.posix.join(h.path, n), vscode.FileChangeType.Created);
          for (const n of h.names) if (!names.has(n)) this.queue(authority, path.posix.join(h.path, n), vscode.FileChangeType.Deleted);
        }
        h.names = names;
      } catch {
        // a file, not a folder
      }
    }
  }

  dispose(): void {
    for (const w of this.watches) for (const h of w.handles.values()) h.inotify?.close();
    this.watches.clear();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.pollTimer = undefined;
    this.batchTimer = undefined;
  }
}
