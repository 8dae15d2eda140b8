// Picks the file backend for a container on every call: the direct one over
// /proc/<pid>/root when this process can read it, else a helper container.
// The PID is looked up from the container id each time (cheaply validated
// from a cache), so a restarted container keeps working under the same URI.
import fs from 'node:fs';
import type { Engine } from '../engine/engine';
import { splitContainerRef } from '../engine/engines';
import { type ContainerFs, directAccess, RootFs } from './rootfs';
import { HelperPool, type HelperPoolOptions } from './helperfs';

/** The container exists but is not running, so its files cannot be reached. */
export class ContainerStoppedError extends Error {
  constructor(readonly containerName: string, readonly state: string) {
    super(`Container ${containerName} is ${state === 'exited' || state === 'dead' ? 'stopped' : state}; start it to see its files.`);
  }
}

export type BackendKind = 'direct' | 'helper';

export interface ContainerFiles {
  fs: ContainerFs;
  /** Present for the direct backend: lets a watcher bind inotify to the confined directory. */
  rootfs?: RootFs;
  backend: BackendKind;
  name: string;
  id: string;
}

interface Cached {
  id: string;
  name: string;
  pid: number;
  startTime: string;
  backend: BackendKind;
  /** The setting it was chosen under: a changed setting chooses again. */
  setting: string;
  rootfs?: RootFs;
  engineId?: string;
}

export interface AccessOptions {
  /** 'auto' picks direct when /proc/<pid>/root is readable. */
  backend: () => 'auto' | BackendKind;
  /** sidecar.files.maxFileSizeMB in bytes: larger files are refused with a sentence. */
  maxReadBytes?: () => number;
  log?: (msg: string) => void;
  progress?: HelperPoolOptions['progress'];
  onProgress?: (msg: string) => void;
}

/** Field 22 of /proc/<pid>/stat: tells a PID apart from a later process that reuses it. */
function startTime(pid: number): string | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export class ContainerAccess {
  private readonly cache = new Map<string, Cached>();
  /** Helpers run on their target's engine: one pool per engine id ("" for the default). */
  private readonly pools = new Map<string, HelperPool>();

  /** `engine(id)` is the engine a reference names ("<container>@<engine id>"); no id is the default engine. */
  constructor(private readonly engine: (engineId?: string) => Engine, private readonly opts: AccessOptions) {}

  /** The default engine's helpers. */
  get helpers(): HelperPool {
    return this.pool(undefined);
  }

  private pool(engineId: string | undefined): HelperPool {
    let p = this.pools.get(engineId ?? '');
    if (!p) this.pools.set(engineId ?? '', (p = new HelperPool(() => this.engine(engineId), { log: this.opts.log, progress: this.opts.progress, maxReadBytes: this.opts.maxReadBytes })));
    return p;
  }

  /** The files of container `ref` (id or name, with "@<engine id>" for another engine than the default) as they are now. Throws NoSuchContainerError or ContainerStoppedError. */
  async get(ref: string): Promise<ContainerFiles> {
    const hit = this.cache.get(ref);
    const setting = this.opts.backend();
    if (hit && hit.setting === setting && hit.backend === 'direct' && startTime(hit.pid) === hit.startTime) return this.files(hit);
    const { container, engineId } = splitContainerRef(ref);
    const d = await this.engine(engineId).inspect(container);
    if (d.state !== 'running' && d.state !== 'paused') throw new ContainerStoppedError(d.name, d.state);
    if (!d.pid) throw new ContainerStoppedError(d.name, d.state);
    const pid = d.pid;
    let backend: BackendKind = setting === 'helper' ? 'helper' : 'direct';
    if (backend === 'direct') {
      const ok = directAccess(pid, d.id);
      if (!ok.ok) {
        if (setting === 'direct') throw new Error(`Container ${d.name}: ${ok.reason}; set sidecar.files.backend to "auto" to use a helper container.`);
        if (!hit || hit.backend !== 'helper') this.opts.log?.(`Files of ${d.name}: ${ok.reason}; using a helper container.`);
        backend = 'helper';
      }
    }
    // A restarted target killed its helper with its pid namespace: start afresh.
    if (backend === 'helper' && hit && hit.pid !== pid) this.pool(engineId).forget(d.id);
    if (backend === 'helper') {
      // The helper reaches the target as PID 1 of the shared pid namespace. In the host's
      // namespace, or another container's, PID 1 is someone else: its root is not the target's.
      const mode = d.hostConfig.pidMode;
      if (mode === 'host') {
        throw new Error(`Container ${d.name} uses the host's PID namespace (--pid=host), so a helper container cannot reach its files without reaching the host's; open its files as root (direct backend) instead.`);
      }
      if (mode.startsWith('container:')) {
        throw new Error(`Container ${d.name} shares the PID namespace of ${mode.slice('container:'.length)} (--pid=${mode}), so a helper container would see that container's files instead; open them as root (direct backend) or open ${mode.slice('container:'.length)} itself.`);
      }
    }
    const c: Cached = { id: d.id, name: d.name, pid, startTime: startTime(pid) ?? '', backend, setting, engineId };
    if (backend === 'direct') {
      c.rootfs = new RootFs(() => `/proc/${pid}/root`, () => {
        // The root fd is open: if the PID still has its start time, it is the container's root.
        if (startTime(pid) !== c.startTime) {
          this.cache.delete(ref);
          throw new ContainerStoppedError(d.name, 'restarting');
        }
      }, { name: d.name, maxReadBytes: this.opts.maxReadBytes });
    }
    this.cache.set(ref, c);
    return this.files(c);
  }

  private files(c: Cached): ContainerFiles {
    if (c.backend === 'direct') return { fs: c.rootfs!, rootfs: c.rootfs, backend: 'direct', name: c.name, id: c.id };
    return { fs: this.pool(c.engineId).fsFor(c.id, c.name, this.opts.onProgress), backend: 'helper', name: c.name, id: c.id };
  }

  async dispose(): Promise<void> {
    this.cache.clear();
    await Promise.all([...this.pools.values()].map((p) => p.dispose()));
    this.pools.clear();
  }
}
