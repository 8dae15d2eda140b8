// Debugger profiles (the setting sidecar.debugger.profiles): which image,
// command, capabilities and namespaces a debugger sidecar gets. Parsing is
// strict and every problem names the profile, the field and the fix.
import type { SidecarSpec } from './sidecars';

export interface DebuggerProfile {
  name: string;
  image: string;
  command: string[];
  capabilities: string[];
  share: { pid: boolean; net: boolean; ipc: boolean };
  env: Record<string, string>;
  user?: string;
  /** Shown in the sidecar's banner: rights the user's own settings granted that a workspace could not. */
  warnings?: string[];
}

export const PROFILES_SETTING = 'sidecar.debugger.profiles';

// Kept in sync with the default of sidecar.debugger.profiles in package.json
// (a unit test compares them).
export const DEFAULT_PROFILES: DebuggerProfile[] = [
  {
    name: 'Shell (busybox)',
    image: 'busybox:latest',
    command: ['sh'],
    capabilities: ['SYS_PTRACE'],
    share: { pid: true, net: true, ipc: true },
    env: {},
  },
  {
    name: 'Network tools (netshoot)',
    image: 'nicolaka/netshoot:latest',
    command: ['bash'],
    capabilities: ['SYS_PTRACE', 'NET_ADMIN', 'NET_RAW'],
    share: { pid: true, net: true, ipc: true },
    env: {},
  },
];

const KNOWN_KEYS = new Set(['name', 'image', 'command', 'capabilities', 'share', 'env', 'user']);

/** Where a profile came from: workspace settings may not grant what breaks out of a container. */
export type ProfileSource = 'default' | 'user' | 'workspace';

/**
 * Capabilities that turn a sidecar into root on the host. Workspace settings
 * (a cloned repository) may not grant them; the user's own settings may, with
 * a warning in the banner. `privileged` is not a profile field, and ALL stands for it.
 */
export const HOST_CAPABILITIES: Record<string, string> = {
  ALL: 'adds every capability, which makes the sidecar root on the host',
  SYS_ADMIN: 'allows mounts and namespace changes that escape the container',
  SYS_MODULE: 'loads modules into the host\'s kernel',
  DAC_READ_SEARCH: 'opens any host file by handle (open_by_handle_at), bypassing the container\'s root',
  SYS_RAWIO: 'gives raw access to the host\'s devices and I/O ports',
};

export interface ParsedProfiles {
  profiles: DebuggerProfile[];
  /** One clear sentence per problem; malformed profiles are left out of `profiles`. */
  problems: string[];
}

export function parseProfiles(raw: unknown, source: ProfileSource = 'user'): ParsedProfiles {
  if (raw === undefined || raw === null) return { profiles: DEFAULT_PROFILES, problems: [] };
  if (!Array.isArray(raw)) return { profiles: [], problems: [`The setting ${PROFILES_SETTING} must be a list of profiles, like [{"name": "Shell", "image": "busybox:latest"}].`] };
  const profiles: DebuggerProfile[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  raw.forEach((p: unknown, i) => {
    const label = `Profile ${i + 1}${p && typeof p === 'object' && typeof (p as { name?: unknown }).name === 'string' ? ` ("${(p as { name: string }).name}")` : ''} in ${PROFILES_SETTING}`;
    // Host rights first: a workspace's "privileged" gets the reason, not "unknown field".
    const problem = (p && typeof p === 'object' && !Array.isArray(p) ? hostRightsProblem(p as Record<string, unknown>, source) : undefined) ?? profileProblem(p);
    if (problem) return problems.push(`${label}: ${problem}`);
    const q = p as Record<string, unknown>;
    if (seen.has(q.name as string)) return problems.push(`${label}: the name is used by an earlier profile; give each profile its own name.`);
    seen.add(q.name as string);
    const share = (q.share ?? {}) as Record<string, boolean | undefined>;
    const capabilities = ((q.capabilities as string[] | undefined) ?? ['SYS_PTRACE']).map((c) => c.replace(/^CAP_/, ''));
    const warnings = capabilities.filter((c) => HOST_CAPABILITIES[c]).map((c) => `${c} comes from your user settings (${PROFILES_SETTING}): it ${HOST_CAPABILITIES[c]}. Detach when you are done.`);
    profiles.push({
      name: q.name as string,
      image: (q.image as string).trim(),
      command: (q.command as string[] | undefined) ?? ['sh'],
      capabilities,
      share: { pid: share.pid ?? true, net: share.net ?? true, ipc: share.ipc ?? true },
      env: { ...(q.env as Record<string, string> | undefined) },
      user: q.user as string | undefined,
      ...(warnings.length ? { warnings } : {}),
    });
  });
  return { profiles, problems };
}

/** Host-level rights a workspace asked for: refused, with the reason. */
function hostRightsProblem(q: Record<string, unknown>, source: ProfileSource): string | undefined {
  if (source !== 'workspace') return undefined;
  if (q.privileged !== undefined) return '"privileged" is refused from workspace settings: a privileged container is root on the host, and a repository must not grant that. Put the profile in your user settings if you need more capabilities.';
  const caps = Array.isArray(q.capabilities) ? q.capabilities.filter((c): c is string => typeof c === 'string').map((c) => c.replace(/^CAP_/, '')) : [];
  const bad = caps.filter((c) => HOST_CAPABILITIES[c]);
  if (!bad.length) return undefined;
  return `${bad.join(', ')} ${bad.length === 1 ? 'is' : 'are'} refused from workspace settings: ${bad.map((c) => `${c} ${HOST_CAPABILITIES[c]}`).join('; ')}, and a repository must not grant that. Put the profile in your user settings if you need it.`;
}

function profileProblem(p: unknown): string | undefined {
  if (!p || typeof p !== 'object' || Array.isArray(p)) return 'must be an object with at least "name" and "image".';
  const q = p as Record<string, unknown>;
  if (q.privileged !== undefined) return '"privileged" is not a profile field; list the capabilities the sidecar needs, or ["ALL"] for every one.';
  const unknown = Object.keys(q).filter((k) => !KNOWN_KEYS.has(k));
  if (unknown.length) return `unknown field ${unknown.map((k) => `"${k}"`).join(', ')}; the fields are ${[...KNOWN_KEYS].join(', ')}.`;
  if (typeof q.name !== 'string' || !q.name.trim()) return '"name" must be a non-empty string.';
  if (typeof q.image !== 'string' || !q.image.trim() || /\s/.test(q.image.trim())) return `"image" must be an image reference such as "busybox:latest", not ${JSON.stringify(q.image)}.`;
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (q.command !== undefined && (!strings(q.command) || (q.command as string[]).length === 0)) return '"command" must be a non-empty list of strings, like ["sh"] (each argument its own string; no shell parsing).';
  if (q.capabilities !== undefined && (!strings(q.capabilities) || (q.capabilities as string[]).some((c) => !/^(CAP_)?[A-Z][A-Z_]*$/.test(c)))) {
    return '"capabilities" must be a list of Linux capability names, like ["SYS_PTRACE", "NET_ADMIN"].';
  }
  if (q.share !== undefined) {
    if (!q.share || typeof q.share !== 'object' || Array.isArray(q.share)) return '"share" must be an object like {"pid": true, "net": true, "ipc": false}.';
    const s = q.share as Record<string, unknown>;
    const bad = Object.keys(s).find((k) => !['pid', 'net', 'ipc'].includes(k) || typeof s[k] !== 'boolean');
    if (bad) return `"share.${bad}" is not allowed; "share" takes pid, net and ipc, each true or false.`;
  }
  if (q.env !== undefined) {
    if (!q.env || typeof q.env !== 'object' || Array.isArray(q.env)) return '"env" must be an object of strings, like {"TERM": "xterm"}.';
    const bad = Object.entries(q.env as Record<string, unknown>).find(([k, v]) => typeof v !== 'string' || !k || k.includes('='));
    if (bad) return `"env.${bad[0]}" must be a string value under a name without "=".`;
  }
  if (q.user !== undefined && (typeof q.user !== 'string' || !q.user.trim())) return '"user" must be a string such as "0" or "1000:1000".';
  return undefined;
}

/** The sidecar spec for attaching `profile` to `target`: an interactive TTY. */
export function profileSpec(profile: DebuggerProfile, target: string): SidecarSpec {
  return {
    target,
    role: 'debugger',
    image: profile.image,
    cmd: profile.command,
    capAdd: profile.capabilities,
    share: profile.share,
    env: { TERM: 'xterm-256color', ...profile.env },
    user: profile.user,
    tty: true,
    openStdin: true,
  };
}
