// What a workspace may choose on its own and what needs the user's consent.
// Pure rules, no vscode import, so unit tests reach them.
import type { DebuggerProfile } from '../engine/profiles';

/** The only capability a workspace's profile may add without asking: what a debugger needs. */
export const QUIET_CAPABILITIES = new Set(['SYS_PTRACE']);

export function isRootUser(user: string | undefined): boolean {
  return user !== undefined && /^(root|0)(:|$)/.test(user.trim());
}

/**
 * What in a workspace's profile needs consent: an image nobody else chose,
 * capabilities beyond SYS_PTRACE, or user root. Empty when the profile is one
 * the user (or the defaults) already has, field for field.
 */
export function profileRisks(p: DebuggerProfile, known: readonly DebuggerProfile[]): string[] {
  if (known.some((k) => sameProfile(k, p))) return [];
  const risks: string[] = [];
  if (!known.some((k) => k.image === p.image)) risks.push(`the image ${p.image}`);
  const extra = p.capabilities.filter((c) => !QUIET_CAPABILITIES.has(c));
  if (extra.length) risks.push(`the capabilities ${extra.join(', ')}`);
  if (isRootUser(p.user)) risks.push('user root');
  return risks;
}

function sameProfile(a: DebuggerProfile, b: DebuggerProfile): boolean {
  const key = (p: DebuggerProfile) => JSON.stringify([p.name, p.image, p.command, [...p.capabilities].sort(), p.share, p.env, p.user ?? null]);
  return key(a) === key(b);
}

/** One line per profile for the consent question: name, image, capabilities, user. */
export function describeProfile(p: DebuggerProfile): string {
  return `"${p.name}": image ${p.image}, capabilities ${p.capabilities.join(', ') || 'none'}${p.user ? `, user ${p.user}` : ''}`;
}
