// Consent before a workspace's settings choose what runs with rights.
// Restricted Mode never gets this far (settings.ts drops the workspace's values);
// in a trusted workspace, or with workspace trust turned off, the first start
// that would use a workspace-set image, extra capabilities or user root asks
// once. The answer is kept in workspace state for exactly that value: when the
// repository changes the value, the question comes again.
import * as vscode from 'vscode';
import type { SidecarContext } from '../context';
import { DEFAULT_PROFILES, parseProfiles, PROFILES_SETTING, type ParsedProfiles } from '../engine/profiles';
import { describeProfile, profileRisks } from './policy';
import { readSetting } from './settings';

export type Answer = 'allow' | 'defaults';
const ALLOW = 'Allow';
const DEFAULTS = 'Use Defaults';
const OPEN = 'Open Settings';

interface Stored { value: string; answer: Answer }

/** The pseudo-setting under which a launch configuration's `image` is remembered. */
export const LAUNCH_IMAGE = 'launch.json "image"';

function stateKey(setting: string): string {
  return `sidecar.consent.${setting}`;
}

/** Why nothing started: the user chose Open Settings or closed the question. */
export class ConsentDeclined extends Error {
  constructor(setting: string) {
    super(`Nothing was started: this workspace's ${setting} waits for your answer. Change it in the workspace settings, or start again and choose Allow or Use Defaults.`);
  }
}

/**
 * Asks (once per workspace and value) whether the workspace's `setting` may
 * apply. `what` names the image and capabilities. Throws ConsentDeclined when
 * the user opens the settings or dismisses the question.
 */
export async function askConsent(ctx: SidecarContext, setting: string, value: unknown, what: string): Promise<Answer> {
  const stored = storedAnswer(ctx, setting, value);
  if (stored) return stored;
  const pick = await vscode.window.showWarningMessage(
    `This workspace's ${setting} wants to start ${what}.`,
    { modal: true, detail: 'The workspace settings came with the folder, not from you. Allow uses them for this workspace; Use Defaults uses your own settings and the defaults. You are asked again if the workspace changes this value.' },
    ALLOW, DEFAULTS, OPEN,
  );
  if (pick === ALLOW || pick === DEFAULTS) {
    const answer: Answer = pick === ALLOW ? 'allow' : 'defaults';
    await ctx.extension.workspaceState.update(stateKey(setting), { value: JSON.stringify(value), answer } satisfies Stored);
    ctx.log.info(`Workspace consent for ${setting}: ${answer}`);
    return answer;
  }
  if (pick === OPEN && setting !== LAUNCH_IMAGE) void vscode.commands.executeCommand('workbench.action.openWorkspaceSettings', { query: setting });
  if (pick === OPEN && setting === LAUNCH_IMAGE) void vscode.commands.executeCommand('workbench.action.debug.configure');
  throw new ConsentDeclined(setting);
}

/** The answer already given for this value, without asking. */
function storedAnswer(ctx: SidecarContext, setting: string, value: unknown): Answer | undefined {
  const stored = ctx.extension.workspaceState.get<Stored>(stateKey(setting));
  return stored && stored.value === JSON.stringify(value) ? stored.answer : undefined;
}

/**
 * The debugger profiles to offer at a start. A workspace's profiles are parsed
 * as such (host-level capabilities refused) and, when one of them brings an
 * image, capabilities or a user nobody else chose, need consent first.
 */
export async function profilesForStart(ctx: SidecarContext): Promise<ParsedProfiles> {
  const s = readSetting<unknown>(PROFILES_SETTING);
  const own = parseProfiles(s.own, s.ownOrigin);
  if (s.origin !== 'workspace') return own;
  const ws = parseProfiles(s.value, 'workspace');
  const known = [...DEFAULT_PROFILES, ...own.profiles];
  const risky = ws.profiles.filter((p) => profileRisks(p, known).length);
  if (!risky.length) return ws;
  const answer = await askConsent(ctx, PROFILES_SETTING, s.value, `debugger containers with rights you did not choose: ${risky.map(describeProfile).join('; ')}`);
  return answer === 'allow' ? ws : own;
}

/** An image setting's value, the user's own, and whether the value is the workspace's own choice (which needs consent). */
function imageSetting(key: string, fallback: string): { own: string; value: string; asks: boolean } {
  const s = readSetting<string>(key);
  const own = s.own?.trim() || fallback;
  const value = s.value?.trim() || fallback;
  return { own, value, asks: s.origin === 'workspace' && value !== own && value !== s.defaultValue };
}

/**
 * An image setting (gdb, files helper, port tunnel) at a start: a workspace's
 * image other than the default and the user's own needs consent.
 */
export async function imageForStart(ctx: SidecarContext, key: string, fallback: string): Promise<string> {
  const { own, value, asks } = imageSetting(key, fallback);
  if (!asks) return value;
  const answer = await askConsent(ctx, key, value, `containers from the image ${value} (instead of ${own || 'the extension\'s own image'})`);
  return answer === 'allow' ? value : own;
}

/**
 * The same without asking, for readers that must answer at once: the
 * workspace's image only when the user already allowed it.
 */
export function imageNow(ctx: SidecarContext, key: string, fallback: string): string {
  const { own, value, asks } = imageSetting(key, fallback);
  if (!asks) return value;
  return storedAnswer(ctx, key, value) === 'allow' ? value : own;
}

/**
 * A launch configuration's `image` (launch.json belongs to the workspace):
 * the same consent as a workspace-set image. Without one, the gdb image setting.
 */
export async function launchImage(ctx: SidecarContext, image: unknown, key: string, fallback: string): Promise<string> {
  const setting = await imageForStart(ctx, key, fallback);
  if (typeof image !== 'string' || !image.trim() || image.trim() === setting) return setting;
  const { own } = imageSetting(key, fallback);
  if (image.trim() === own) return own;
  const answer = await askConsent(ctx, LAUNCH_IMAGE, image.trim(), `gdb in a container from the image ${image.trim()} (instead of ${own || 'the extension\'s own gdb image'})`);
  return answer === 'allow' ? image.trim() : own;
}

/**
 * Debugging starts nothing in Restricted Mode: a launch configuration comes
 * from the folder. VS Code asks for trust itself; this says why if it gets here.
 */
export function debugAllowed(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showInformationMessage('Debugging with Container Sidecar waits for workspace trust: launch configurations come from the folder and choose what runs. Trust the folder to debug, or use Attach Debugger Container, which follows your own settings.', 'Manage Workspace Trust').then((a) => {
    if (a) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}

const TRUST_NOTE = 'Restricted Mode: your own settings and the defaults apply; this workspace\'s images, capabilities, engines and files backend wait until you trust it.';

/** A view's message with the Restricted Mode note (said in one view only). */
export function withTrustNote(message: string | undefined): string | undefined {
  if (vscode.workspace.isTrusted) return message;
  return message ? `${message}\n${TRUST_NOTE}` : TRUST_NOTE;
}

/** Takes the note away once the folder is trusted. */
export function registerTrustNote(ctx: SidecarContext, view: vscode.TreeView<unknown>): void {
  view.message = withTrustNote(view.message);
  ctx.extension.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => {
    const rest = view.message?.split('\n').filter((l) => l !== TRUST_NOTE).join('\n');
    view.message = rest || undefined;
  }));
}
