// The VS Code terminal of a debugger sidecar: a Pseudoterminal over the
// engine-level session (dockerode's attach stream). Closing the terminal
// removes the sidecar; when the sidecar ends by itself, the terminal stays
// open and says why.
import * as vscode from 'vscode';
import { describeEnd, type SidecarTerminalSession } from '../engine/terminalSession';
import { TARGET_ROOT } from '../engine/sidecars';

const dim = (s: string) => `\x1b[2m${s}\x1b[0m`;
const bold = (s: string) => `\x1b[1m${s}\x1b[0m`;

export class SidecarPty implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private opened = false;
  /** Output that arrived before VS Code opened the terminal (the shell's first prompt). */
  private pending: string[] = [];
  private readonly subs: { dispose(): void }[] = [];
  /** The last 64 KiB the terminal was given, banner included (what the user sees; read by tests). */
  written = '';

  constructor(
    readonly session: SidecarTerminalSession,
    private readonly info: { profile: string; image: string; warnings: string[] },
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subs.push(this.writeEmitter.event((s) => (this.written = (this.written + s).slice(-64 * 1024))), this.writeEmitter, this.closeEmitter);
    this.subs.push(
      session.onData((s) => (this.opened ? this.writeEmitter.fire(s) : this.pending.push(s))),
      session.onEnd((end) => {
        this.log.info(`Sidecar ${session.id.slice(0, 12)} for ${session.target.name} ended: ${end.kind}`);
        if (end.kind === 'detached') {
          this.closeEmitter.fire();
          return;
        }
        this.print(`\r\n${bold(describeEnd(end, session.target.name))}\r\n${dim('Close this terminal when you are done reading.')}\r\n`);
      }),
    );
  }

  open(dims: vscode.TerminalDimensions | undefined): void {
    this.opened = true;
    const t = this.session.target;
    // The first lines say where the target's files are, because nothing else in the shell would.
    this.writeEmitter.fire(`${bold(`Debugger sidecar for ${t.name}`)} ${dim(`(${this.info.profile}: ${this.info.image}, sidecar ${this.session.id.slice(0, 12)})`)}\r\n`);
    this.writeEmitter.fire(`The target's root filesystem is at ${bold(`$TARGET_ROOT = ${TARGET_ROOT}`)}; \`ps\` shows its processes. Nothing is written into the target.\r\n`);
    for (const w of this.info.warnings) this.writeEmitter.fire(`\x1b[33mWarning: ${w}\x1b[0m\r\n`);
    this.writeEmitter.fire(dim('Closing this terminal stops and removes the sidecar.\r\n'));
    for (const s of this.pending) this.writeEmitter.fire(s);
    this.pending = [];
    if (dims) void this.session.resize(dims.columns, dims.rows);
  }

  handleInput(data: string): void {
    this.session.write(data);
  }

  setDimensions(dims: vscode.TerminalDimensions): void {
    void this.session.resize(dims.columns, dims.rows);
  }

  private closed = false;

  /**
   * The terminal ended (closed by the user, or disposed, even before VS Code
   * opened it): remove the sidecar. Called by VS Code and by the manager's
   * onDidCloseTerminal listener, whichever comes first.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.session.close().catch((err: unknown) => this.log.warn(`Removing sidecar ${this.session.id.slice(0, 12)} failed: ${String(err)}`));
    this.dispose();
  }

  private print(s: string): void {
    if (this.opened) this.writeEmitter.fire(s);
    else this.pending.push(s);
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.subs.length = 0;
  }
}
