// The engines of this window, by id. The seam where another kind of engine
// (a Kubernetes cluster, see docs/kubernetes.md) would plug in: everything
// above asks this set for "the engine of id X" and talks to an Engine.
import { type Endpoint, SettingsError } from './connection';
import { type Discovery } from './discovery';
import { Engine, type EngineOptions } from './engine';

export class EngineSet {
  readonly all: Engine[];
  readonly problems: string[];

  /**
   * `previous` keeps the Engine objects (and so their models and streams) of
   * engines whose endpoint did not change when the settings did.
   */
  constructor(discovery: Discovery, previous?: EngineSet, opts: EngineOptions = {}) {
    this.problems = discovery.problems;
    this.all = discovery.engines.map((e) => previous?.all.find((p) => sameEndpoint(p.endpoint, e)) ?? new Engine(e, opts));
    // Engines of the previous set that this one does not keep: close what they hold open (ssh connections).
    for (const p of previous?.all ?? []) if (!this.all.includes(p)) p.dispose();
    // Containers of the default engine carry no engine id, as its URIs name none.
    this.all.forEach((e, i) => (e.dataId = i === 0 ? undefined : e.id));
  }

  /** More than one engine: the Containers view shows one root per engine. */
  get multiple(): boolean {
    return this.all.length > 1;
  }

  /** The first engine; what a URI or configuration without an engine means. */
  get default(): Engine {
    const e = this.all[0];
    if (!e) throw new SettingsError(this.problems.join(' ') || 'No engine is configured: the setting sidecar.engines hides them all; add "auto" or an address to it, or empty sidecar.hiddenEngines.');
    return e;
  }

  /** The engine named by an id (or a name); no id means the default one. */
  get(id: string | undefined): Engine {
    // "default" is what an engine outside discovery calls itself (Engine.id).
    if (!id || id === 'default') return this.default;
    const e = this.all.find((x) => x.id === id) ?? this.all.find((x) => x.name.toLowerCase() === id.toLowerCase());
    if (!e) throw new SettingsError(`No engine "${id}" is configured (there ${this.all.length === 1 ? 'is' : 'are'} ${this.all.map((x) => `"${x.id}"`).join(', ') || 'none'}); add it to the setting sidecar.engines or remove it from sidecar.hiddenEngines.`);
    return e;
  }

  /** The id to write into a URI or label: none for the default engine, so today's URIs stay as they were. */
  idFor(engine: Engine): string | undefined {
    return engine === this.all[0] ? undefined : engine.id;
  }
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.id === b.id && a.label === b.label && a.name === b.name && JSON.stringify(a.options) === JSON.stringify(b.options);
}

/**
 * A container reference that names its engine: "<container>@<engine id>", as
 * in the authority of container://web@podman/etc/hosts. Without "@" it is the
 * default engine's, so URIs from before several engines keep working. Container
 * names cannot hold "@", and engine ids are [a-z0-9-].
 */
export function splitContainerRef(ref: string): { container: string; engineId?: string } {
  const at = ref.lastIndexOf('@');
  return at > 0 ? { container: ref.slice(0, at), engineId: ref.slice(at + 1) || undefined } : { container: ref };
}

export function containerRef(container: string, engineId?: string): string {
  return engineId ? `${container}@${engineId}` : container;
}

/** An engine id as discovery makes them (slug): what a restored state or a URI may name. */
export function isEngineId(x: unknown): x is string {
  return typeof x === 'string' && /^[a-z0-9](?:[a-z0-9-]{0,39})$/.test(x);
}
