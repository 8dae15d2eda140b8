// Container actions: thin handlers over the engine, each usable from a tree
// item's context menu or from the palette (then a quick pick of containers).
import * as vscode from 'vscode';
import { PassThrough, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { SidecarContext } from '../context';
import type { ContainerModel, ContainerState } from '../engine/containers';
import type { Explorer } from '../views/containersView';
import { describeStatus } from '../views/model';
import { EngineUnavailableError } from '../engine/connection';

type Arg = { container?: ContainerModel; containerId?: string; engineId?: string; process?: { hostPid: number } } | string | undefined;

const LIVE: ContainerState[] = ['running', 'paused', 'restarting'];

/** The engine's own sentence from a dockerode error, without the HTTP prefix. */
export function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string; reason?: string };
  return e?.json?.message ?? e?.message?.replace(/^\(HTTP code \d+\) [a-z ]+- /, '') ?? String(err);
}

/** A clear sentence for a failed action, naming the container and what to do. */
export function actionError(verb: string, name: string, err: unknown): Error {
  // Already names the endpoint, the cause and the fix.
  if (err instanceof EngineUnavailableError) return err;
  const e = err as { statusCode?: number; code?: string };
  const msg = engineMessage(err);
  if (e?.statusCode === 403 || e?.statusCode === 401 || e?.code === 'EACCES' || /permission denied/i.test(msg)) {
    return new Error(`Permission denied: cannot ${verb} ${name}: ${msg}. Use an account that may reach the Docker socket (the docker group), or ask the engine's administrator.`);
  }
  if (e?.statusCode === 404) return new Error(`Cannot ${verb} ${name}: the container no longer exists.`);
  return new Error(`Cannot ${verb} ${name}: ${msg}`);
}

/** The Pseudoterminal for `docker exec -it <c> <shell>` over the Engine API. */
export class ExecTerminal implements vscode.Pseudoterminal {
  private readonly writer = new vscode.EventEmitter<string>();
  private readonly closer = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writer.event;
  readonly onDidClose = this.closer.event;
  private stream: Duplex | undefined;
  private exec: Docker.Exec | undefined;

  constructor(private readonly docker: Docker, private readonly id: string, private readonly cmd: string[], private readonly log: vscode.LogOutputChannel) {}

  async open(dims: vscode.TerminalDimensions | undefined): Promise<void> {
    try {
      this.exec = await this.docker.getContainer(this.id).exec({
        Cmd: this.cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true, Env: ['TERM=xterm-256color'],
      });
      const stream = (await this.exec.start({ hijack: true, stdin: true, Tty: true } as Docker.ExecStartOptions)) as Duplex;
      this.stream = stream;
      stream.on('data', (b: Buffer) => this.writer.fire(b.toString('utf8')));
      stream.on('end', () => void this.finish());
      stream.on('error', (e) => this.log.warn(`shell stream: ${e.message}`));
      if (dims) this.setDimensions(dims);
    } catch (err) {
      this.writer.fire(`\r\n${engineMessage(err)}\r\n`);
      this.closer.fire(1);
    }
  }

  private async finish(): Promise<void> {
    let code = 0;
    try {
      code = (await this.exec?.inspect())?.ExitCode ?? 0;
    } catch {
      // the container went away with the shell
    }
    this.closer.fire(code);
  }

  handleInput(data: string): void {
    this.stream?.write(data);
  }

  setDimensions(d: vscode.TerminalDimensions): void {
    void this.exec?.resize({ h: d.rows, w: d.columns }).catch(() => undefined);
  }

  /** The user closed the terminal: end the exec session. */
  close(): void {
    this.stream?.end();
    this.writer.dispose();
    this.closer.dispose();
  }
}

/** A read-only log follower; the stream ends when the container stops or goes away. */
export class LogsTerminal implements vscode.Pseudoterminal {
  private readonly emitter = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.emitter.event;
  private stream: NodeJS.ReadableStream | undefined;
  private closed = false;

  constructor(private readonly docker: Docker, private readonly c: ContainerModel, private readonly tty: boolean) {}

  private out(s: string): void {
    if (!this.closed) this.emitter.fire(s.replace(/\r?\n/g, '\r\n'));
  }

  async open(): Promise<void> {
    try {
      const stream = (await this.docker.getContainer(this.c.id).logs({ follow: true, stdout: true, stderr: true, tail: 1000 })) as unknown as NodeJS.ReadableStream;
      this.stream = stream;
      if (this.tty) {
        stream.on('data', (b: Buffer) => this.out(b.toString('utf8')));
      } else {
        const o = new PassThrough();
        const e = new PassThrough();
        o.on('data', (b: Buffer) => this.out(b.toString('utf8')));
        e.on('data', (b: Buffer) => this.out(`\x1b[31m${b.toString('utf8')}\x1b[0m`));
        this.docker.modem.demuxStream(stream, o, e);
      }
      const done = () => this.out(`\r\n\x1b[2m-- end of log: ${this.c.name} stopped or was removed --\x1b[0m\r\n`);
      let ended = false;
      const once = () => { if (!ended) { ended = true; done(); } };
      stream.on('end', once);
      stream.on('close', once);
      stream.on('error', once);
    } catch (err) {
      this.out(`${actionError('show the logs of', this.c.name, err).message}\n`);
    }
  }

  close(): void {
    this.closed = true;
    (this.stream as unknown as { destroy?: () => void } | undefined)?.destroy?.();
  }
}

const SHELLS = ['/bin/bash', '/bin/sh', '/busybox/sh', '/usr/bin/bash', '/usr/bin/sh'];

/** The first shell the container has, asked through the archive API (no shell needed to ask). */
export async function findShell(docker: Docker, id: string): Promise<string | undefined> {
  for (const s of SHELLS) {
    try {
      await docker.getContainer(id).infoArchive({ path: s });
      return s;
    } catch {
      // not there
    }
  }
  return undefined;
}

class InspectDocuments implements vscode.TextDocumentContentProvider {
  static readonly scheme = 'sidecar-inspect';
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  constructor(private readonly ctx: SidecarContext) {}
  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    // The query is "<container id>" or "<container id>@<engine id>".
    const [id, engineId] = uri.query.split('@');
    try {
      return JSON.stringify(await this.ctx.engineFor(engineId).call((d) => d.getContainer(id).inspect()), null, 2) + '\n';
    } catch (err) {
      return `// ${actionError('inspect', id.slice(0, 12), err).message}\n`;
    }
  }
}

export function registerContainerCommands(ctx: SidecarContext, explorer: Explorer): void {
  /** The container an action is about: from the tree item, an id (in the default engine first), or a quick pick over every engine. */
  async function resolve(arg: Arg, states: ContainerState[] | undefined, placeHolder: string): Promise<ContainerModel | undefined> {
    const engines = explorer.containers.engines();
    if (typeof arg === 'string') {
      const e = engines.map(({ model }) => model.find(arg)).find((x) => x);
      if (!e) throw new Error(`Container ${arg} does not exist; it may have been removed.`);
      return e.model;
    }
    if (arg?.container) return arg.container;
    if (arg?.containerId) {
      const e = explorer.containers.modelFor(arg.engineId).find(arg.containerId);
      if (e) return e.model;
    }
    const models = engines.map((x) => x.model);
    await Promise.all(models.filter((m) => !m.loaded || !m.status.ok).map((m) => m.refresh()));
    const up = engines.filter((x) => x.model.status.ok);
    if (up.length === 0) throw new Error(engines.map((x) => (x.model.status.ok ? '' : x.model.status.error)).join(' ') || 'No engine is configured.');
    const candidates = up.flatMap(({ model }) => [...model.containers.values()].map((e) => e.model)).filter((c) => !states || states.includes(c.state));
    if (candidates.length === 0) {
      void vscode.window.showInformationMessage(states ? `No container is ${states.join(' or ')}.` : 'The engine has no containers.');
      return undefined;
    }
    const several = engines.length > 1;
    const engineName = (c: ContainerModel) => (several ? ` · ${ctx.engineFor(c.engineId).name}` : '');
    const pick = await vscode.window.showQuickPick(
      candidates.map((c) => ({ label: c.name, description: `${describeStatus(c)} · ${c.image}${engineName(c)}`, detail: c.shortId, c })),
      { placeHolder, matchOnDescription: true, matchOnDetail: true },
    );
    return pick?.c;
  }

  async function act(verb: string, c: ContainerModel, fn: (x: Docker.Container) => Promise<unknown>): Promise<void> {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `${verb[0].toUpperCase()}${verb.slice(1)} ${c.name}…` }, async () => {
      try {
        await ctx.engineFor(c.engineId).call((d) => fn(d.getContainer(c.id)));
        ctx.log.info(`${verb} ${c.name} (${c.shortId})`);
      } catch (err) {
        // 304: already in that state; not worth an error.
        if ((err as { statusCode?: number }).statusCode === 304) return;
        throw actionError(verb, c.name, err);
      }
    });
  }

  const simple: [string, string, ContainerState[], (x: Docker.Container) => Promise<unknown>][] = [
    ['sidecar.containers.start', 'start', ['created', 'exited', 'dead'], (x) => x.start()],
    ['sidecar.containers.stop', 'stop', ['running', 'restarting', 'paused'], (x) => x.stop()],
    ['sidecar.containers.restart', 'restart', ['running', 'exited', 'created', 'dead'], (x) => x.restart()],
    ['sidecar.containers.pause', 'pause', ['running'], (x) => x.pause()],
    ['sidecar.containers.unpause', 'unpause', ['paused'], (x) => x.unpause()],
  ];
  for (const [id, verb, states, fn] of simple) {
    ctx.registerCommand(id, async (arg: Arg) => {
      const c = await resolve(arg, states, `Container to ${verb}`);
      if (c) await act(verb, c, fn);
    });
  }

  ctx.registerCommand('sidecar.containers.remove', async (arg: Arg) => {
    const c = await resolve(arg, undefined, 'Container to remove');
    if (!c) return;
    const live = LIVE.includes(c.state);
    const choice = await vscode.window.showWarningMessage(
      `Remove container ${c.name}?`,
      { modal: true, detail: `${live ? 'It is running and will be stopped. ' : ''}Changes to its file system are lost; its image stays.` },
      live ? 'Stop and Remove' : 'Remove',
    );
    if (!choice) return;
    await act('remove', c, (x) => x.remove({ force: live }));
  });

  ctx.registerCommand('sidecar.containers.logs', async (arg: Arg) => {
    const c = await resolve(arg, undefined, 'Container whose logs to follow');
    if (!c) return;
    const engine = ctx.engineFor(c.engineId);
    const detail = await engine.inspect(c.id);
    const raw = await engine.call((d) => d.getContainer(c.id).inspect());
    const term = vscode.window.createTerminal({ name: `Logs: ${detail.name}`, pty: new LogsTerminal(engine.docker, detail, !!raw.Config?.Tty), iconPath: new vscode.ThemeIcon('output') });
    term.show();
  });

  const inspectDocs = new InspectDocuments(ctx);
  ctx.extension.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(InspectDocuments.scheme, inspectDocs));
  ctx.registerCommand('sidecar.containers.inspect', async (arg: Arg) => {
    const c = await resolve(arg, undefined, 'Container to inspect');
    if (!c) return;
    const engineId = ctx.engines.idFor(ctx.engineFor(c.engineId));
    const uri = vscode.Uri.from({ scheme: InspectDocuments.scheme, path: `/${c.name}.json`, query: engineId ? `${c.id}@${engineId}` : c.id });
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(doc, 'json');
    await vscode.window.showTextDocument(doc, { preview: true });
  });

  ctx.registerCommand('sidecar.containers.shell', async (arg: Arg) => {
    const c = await resolve(arg, ['running'], 'Container to open a shell in');
    if (!c) return;
    if (c.state !== 'running') throw new Error(`${c.name} is ${c.state}; a shell needs a running container. Start it first.`);
    const engine = ctx.engineFor(c.engineId);
    const shell = await engine.call((d) => findShell(d, c.id));
    if (!shell) {
      const attach = 'Attach Debugger Container';
      const choice = await vscode.window.showWarningMessage(
        `${c.name} has no shell (none of ${SHELLS.join(', ')} exists in its image). A debugger container can share its processes and network and bring its own tools.`,
        attach,
      );
      if (choice === attach) await vscode.commands.executeCommand('sidecar.debugger.attach', { container: c });
      return;
    }
    const term = vscode.window.createTerminal({ name: `Shell: ${c.name}`, pty: new ExecTerminal(engine.docker, c.id, [shell], ctx.log), iconPath: new vscode.ThemeIcon('terminal') });
    term.show();
  });

  ctx.registerCommand('sidecar.containers.copyId', async (arg: Arg) => {
    const c = await resolve(arg, undefined, 'Container whose id to copy');
    if (!c) return;
    await vscode.env.clipboard.writeText(c.id);
    vscode.window.setStatusBarMessage(`Copied the id of ${c.name}`, 3000);
  });

  ctx.registerCommand('sidecar.containers.copyPid', async (arg: Arg) => {
    if (typeof arg === 'object' && arg?.process) {
      // 0: the row was listed inside the container, and its PID there means nothing on the host.
      if (!arg.process.hostPid) throw new Error('The host PID of this process is not known: this window does not see the engine\'s processes in /proc (a remote engine, or a window in a pid namespace of its own).');
      await vscode.env.clipboard.writeText(String(arg.process.hostPid));
      vscode.window.setStatusBarMessage(`Copied host PID ${arg.process.hostPid}`, 3000);
      return;
    }
    const c = await resolve(arg, LIVE, 'Container whose host PID to copy');
    if (!c) return;
    const d = await ctx.engineFor(c.engineId).inspect(c.id);
    if (!d.pid) throw new Error(`${c.name} is ${d.state}, so it has no host PID. Start it first.`);
    await vscode.env.clipboard.writeText(String(d.pid));
    vscode.window.setStatusBarMessage(`Copied host PID ${d.pid} of ${c.name}`, 3000);
  });

  ctx.registerCommand('sidecar.containers.reveal', async (arg: Arg) => {
    const c = await resolve(arg, undefined, 'Container to show');
    if (c) await explorer.reveal(c.id, c.engineId);
  });
}
