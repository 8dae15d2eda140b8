// "Attach Debugger Container" for an ordinary workspace source file: find the
// running container and process that run it, pick the debugger by the file's
// language, and start a `sidecar` debug session. One step when the answer is
// clear; otherwise quick picks with the likely answer first. The ranking is in
// fileTargets.ts (no vscode).
import fs from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import type { SidecarContext } from '../context';
import { LABELS } from '../engine/sidecars';
import { DEBUG_TYPE, type SidecarAttachArguments } from './config';
import { type ContainerCandidate, type ContainerFacts, debuggerForLanguage, type ProcessCandidate, type ProcessFacts, rankContainers, rankProcesses, soleContainer } from './fileTargets';
import { scriptFolder } from './nodeInspector';
import { processExe } from './delve';
import { listProcesses } from './targetProcesses';

export const ATTACH_FILE_COMMAND = 'sidecar.debugger.attachFile';

export function registerEditorAttach(ctx: SidecarContext): void {
  ctx.registerCommand(ATTACH_FILE_COMMAND, (uri?: vscode.Uri) => attachFile(ctx, uri));
}

async function attachFile(ctx: SidecarContext, uri?: vscode.Uri): Promise<boolean> {
  const target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
  if (!target) throw new Error('Open the source file whose process you want to debug, then run this command from its editor.');
  if (target.scheme !== 'file') throw new Error(`${target.toString()} is not a file of this machine's workspace; for a file inside a container use "Attach Debugger Container" on the container.`);
  const doc = await vscode.workspace.openTextDocument(target);
  const kind = debuggerForLanguage(doc.languageId);
  if (!kind) throw new Error(`No debugger fits ${doc.languageId} files yet: C, C++ and Rust attach gdb, JavaScript and TypeScript attach Node.js, Python attaches debugpy, Go attaches delve.`);
  // The file as the engine knows it: a workspace opened through a symlink still matches a mount of the real folder.
  const opened = target.fsPath;
  const real = await fs.realpath(opened).catch(() => opened);
  const folder = vscode.workspace.getWorkspaceFolder(target);
  const folderName = folder?.name ?? path.basename(path.dirname(opened));

  const running = await runningContainers(ctx);
  let file = real;
  let ranked = rankContainers(real, folderName, running);
  if (real !== opened && ranked[0]?.reason === 'image') {
    file = opened;
    ranked = rankContainers(opened, folderName, running);
  }
  if (!ranked.length) throw new Error('No container is running. Start the container that runs this file, then try again.');
  ctx.log.info(`attach ${file}: ${ranked.map((c) => `${c.container.name} (${c.reason} ${c.score})`).join(', ')}`);
  const chosen = soleContainer(ranked) ?? (await pickContainer(ranked, path.basename(file)));
  if (!chosen) return false;

  const engine = ctx.engineFor(chosen.container.engineId);
  const engineId = ctx.engines.idFor(engine);
  const detail = await engine.inspect(chosen.container.id);
  if (detail.state !== 'running' || !detail.pid) throw new Error(`Container ${detail.name} is ${detail.state}, not running; start it to debug its processes.`);
  const infos = await listProcesses(ctx, detail.id, detail.pid, engine);
  // hostPid 0: listed inside the container (this window cannot see the engine's /proc), so nothing to read by it.
  const facts: ProcessFacts[] = await Promise.all(infos.map(async (p) => {
    if (kind === 'go') {
      // Through /proc when this window may read it, else fetched from the container by the engine.
      const exe = await processExe({ engine, containerId: detail.id, hostPid: p.hostPid || undefined, command: p.command });
      return { nsPid: p.nsPid, command: p.command, elf: exe?.elf, go: exe?.go };
    }
    return { nsPid: p.nsPid, command: p.command, elf: kind === 'gdb' && p.hostPid ? await isElf(p.hostPid) : undefined };
  }));
  const inContainer = chosen.mount ? path.posix.join(chosen.mount.destination, path.relative(chosen.mount.source, file).split(path.sep).join('/')) : undefined;
  const procs = rankProcesses(kind, file, inContainer, facts);
  if (!procs.length) {
    throw new Error(kind === 'node' || kind === 'python'
      ? `No ${kind} process runs in container ${detail.name}. Start the script there, or pick another container.`
      : kind === 'go'
        ? `No Go program runs in container ${detail.name}. Start it there, or pick another container.`
        : `No process in container ${detail.name} is a program gdb can attach to (shells and init helpers are left out). Start the program there, or pick another container.`);
  }
  const proc = procs.length === 1 ? procs[0] : await pickProcess(procs, detail.name);
  if (!proc) return false;

  const config: SidecarAttachArguments & vscode.DebugConfiguration = {
    type: DEBUG_TYPE,
    request: 'attach',
    name: `Attach to ${path.basename(file)} in ${detail.name}${engineId ? ` on ${engine.name}` : ''}`,
    container: detail.name,
    // Two engines may hold the same container name: the configuration names its engine unless it is the default.
    ...(engineId ? { engine: engineId } : {}),
    processId: proc.process.nsPid,
    // No sourceFileMap for gdb: the adapter learns the build path from the breakpoints set in this file.
  };
  // go: sourceFileMap is inferred when the session resolves, from the build paths in the executable and this file.
  if (kind === 'go') config.debugger = 'go';
  if (kind === 'python') {
    config.debugger = 'python';
    // A bind mount says exactly which host folder the container sees where; else the adapter infers it from the script.
    if (chosen.mount) config.sourceFileMap = { [chosen.mount.destination]: chosen.mount.source };
  }
  if (kind === 'node') {
    config.debugger = 'node';
    // A bind mount says exactly which host folder the container sees where.
    config.localRoot = chosen.mount?.source ?? folder?.uri.fsPath;
    config.remoteRoot = chosen.mount?.destination ?? scriptFolder(proc.process.command);
  }
  ctx.log.info(`attach ${file}: ${kind} to PID ${proc.process.nsPid} (${proc.process.command}) in ${detail.name}`);
  return vscode.debug.startDebugging(folder, config);
}

/**
 * Running containers the user made (not our own sidecars) on every engine, with their mounts from
 * the list answer. An engine that is down is left out; only when all are does its error stop us.
 */
export async function runningContainers(ctx: SidecarContext): Promise<ContainerFacts[]> {
  const engines = ctx.engines.all;
  const answers = await Promise.allSettled(engines.map((e) => e.call((d) => d.listContainers({ filters: { status: ['running'] } }))));
  const failed = answers.find((a): a is PromiseRejectedResult => a.status === 'rejected');
  if (failed && answers.every((a) => a.status === 'rejected')) throw failed.reason;
  return answers.flatMap((a, i) => {
    if (a.status === 'rejected') {
      ctx.log.warn(`attach file: engine ${engines[i].name} left out: ${String(a.reason)}`);
      return [];
    }
    return a.value
      .filter((c) => c.Labels?.[LABELS.managed] !== 'true')
      .map((c): ContainerFacts => ({
        id: c.Id,
        name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
        image: c.Image,
        labels: c.Labels ?? {},
        mounts: (c.Mounts ?? []).map((m) => ({ type: m.Type, source: m.Source, destination: m.Destination })),
        engineId: ctx.engines.idFor(engines[i]),
        engineName: engines.length > 1 ? engines[i].name : undefined,
      }));
  });
}


/** Whether the process's executable starts with the ELF magic; undefined when /proc does not let us read it. */
async function isElf(hostPid: number): Promise<boolean | undefined> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(`/proc/${hostPid}/exe`, 'r');
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    return bytesRead === 4 && buffer.toString('latin1') === '\x7fELF';
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
}

async function pickContainer(ranked: ContainerCandidate[], fileName: string): Promise<ContainerCandidate | undefined> {
  const pick = await vscode.window.showQuickPick(
    ranked.map((c, i) => ({ label: c.container.name, description: `${c.container.image}${c.container.engineName ? ` · ${c.container.engineName}` : ''}${i === 0 && c.score > 0 ? ' · likely' : ''}`, detail: c.detail, c })),
    { title: `Which container runs ${fileName}?`, matchOnDescription: true, matchOnDetail: true },
  );
  return pick?.c;
}

async function pickProcess(procs: ProcessCandidate[], container: string): Promise<ProcessCandidate | undefined> {
  const pick = await vscode.window.showQuickPick(
    procs.map((p) => ({ label: p.process.command, description: `PID ${p.process.nsPid}`, p })),
    { title: `Debug which process of ${container}?`, matchOnDescription: true },
  );
  return pick?.p;
}
