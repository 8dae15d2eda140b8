// Workspace trust: which settings a repository may set, and what the profile
// parser refuses from workspace settings. The e2e (trust.e2e.test.ts) checks
// the same rules in the real workbench.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../helpers/paths';
import { DEFAULT_PROFILES, HOST_CAPABILITIES, parseProfiles } from '../../src/engine/profiles';
import { profileRisks } from '../../src/trust/policy';

const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8'));
const settings: Record<string, { scope?: string; description?: string; markdownDescription?: string }> = pkg.contributes.configuration.properties;
const restricted: string[] = pkg.capabilities.untrustedWorkspaces.restrictedConfigurations;

/**
 * Settings a workspace may set in Restricted Mode, each with the reason. A
 * setting that chooses an image, capabilities, a user, an engine or a files
 * backend belongs in package.json's capabilities.untrustedWorkspaces.restrictedConfigurations
 * instead (and goes through src/trust/settings.ts or src/trust/consent.ts).
 */
const SAFE: Record<string, string> = {
  'sidecar.containers.groupByComposeProject': 'only changes how the Containers view groups what the engine lists',
  'sidecar.files.maxFileSizeMB': 'only limits how large a file opens in an editor; it starts nothing',
  'sidecar.files.helperImage': 'no longer read: the files helper is built into the extension',
};

test('every setting is either restricted in untrusted workspaces or listed here as safe, with a reason', () => {
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.ok(pkg.capabilities.untrustedWorkspaces.description.length > 40, 'Restricted Mode is described');
  for (const key of Object.keys(settings)) {
    const inRestricted = restricted.includes(key);
    assert.ok(inRestricted || SAFE[key], `The setting ${key} is new and has no workspace-trust decision. If it chooses an image, capabilities, a user, an engine or a files backend, add it to capabilities.untrustedWorkspaces.restrictedConfigurations in package.json and read it through src/trust/settings.ts (readSetting) or src/trust/consent.ts (imageForStart); otherwise add it to the SAFE table in test/unit/trust.test.ts with the reason a repository may set it.`);
    assert.ok(!(inRestricted && SAFE[key]), `${key} is both restricted and listed as safe; keep one`);
  }
  for (const key of [...restricted, ...Object.keys(SAFE)]) assert.ok(settings[key], `${key} is listed but not contributed`);
});

test('every setting has a scope and says why; the engines are machine-scoped', () => {
  for (const [key, s] of Object.entries(settings)) {
    assert.ok(s.scope, `${key} declares a scope`);
    assert.match(s.markdownDescription ?? s.description ?? '', new RegExp(`Scope \`${s.scope}\`: .{20,}`), `${key} gives the reason for its scope`);
  }
  assert.equal(settings['sidecar.engines'].scope, 'machine');
});

test('workspace settings cannot grant host-level rights; each refusal says why', () => {
  for (const cap of [...Object.keys(HOST_CAPABILITIES), 'CAP_SYS_ADMIN']) {
    const { profiles, problems } = parseProfiles([{ name: 'Repo', image: 'repo/tools', capabilities: ['SYS_PTRACE', cap] }], 'workspace');
    assert.deepEqual(profiles, [], `${cap} from the workspace is refused`);
    assert.match(problems[0], new RegExp(`Profile 1 \\("Repo"\\) in sidecar.debugger.profiles: ${cap.replace(/^CAP_/, '')} is refused from workspace settings: .* a repository must not grant that`));
  }
  const priv = parseProfiles([{ name: 'Root', image: 'repo/tools', privileged: true }], 'workspace');
  assert.match(priv.problems[0], /"privileged" is refused from workspace settings: a privileged container is root on the host/);
  // Other profiles of the same setting stay usable.
  const mixed = parseProfiles([{ name: 'Bad', image: 'x', capabilities: ['SYS_MODULE'] }, { name: 'Ok', image: 'x', capabilities: ['SYS_PTRACE', 'NET_ADMIN'] }], 'workspace');
  assert.deepEqual(mixed.profiles.map((p) => p.name), ['Ok']);
  assert.equal(mixed.problems.length, 1);
});

test('the user\'s own settings may grant them, with a warning for the banner', () => {
  const { profiles, problems } = parseProfiles([{ name: 'Mine', image: 'busybox:latest', capabilities: ['SYS_PTRACE', 'SYS_ADMIN'] }], 'user');
  assert.deepEqual(problems, []);
  assert.deepEqual(profiles[0].capabilities, ['SYS_PTRACE', 'SYS_ADMIN']);
  assert.match(profiles[0].warnings?.[0] ?? '', /^SYS_ADMIN comes from your user settings \(sidecar.debugger.profiles\): it allows mounts/);
  assert.equal(parseProfiles([{ name: 'Plain', image: 'busybox:latest' }], 'user').profiles[0].warnings, undefined);
  assert.match(parseProfiles([{ name: 'P', image: 'b', privileged: true }], 'user').problems[0], /"privileged" is not a profile field; .*\["ALL"\]/);
});

test('a workspace profile needs consent for another image, capabilities beyond SYS_PTRACE, or user root', () => {
  const parse = (p: object) => parseProfiles([{ name: 'W', ...p }], 'workspace').profiles[0];
  const known = [...DEFAULT_PROFILES];
  assert.deepEqual(profileRisks(parse({ image: 'busybox:latest' }), known), []);
  assert.deepEqual(profileRisks(parse({ image: 'repo/tools:1' }), known), ['the image repo/tools:1']);
  assert.deepEqual(profileRisks(parse({ image: 'busybox:latest', capabilities: ['SYS_PTRACE', 'NET_RAW'] }), known), ['the capabilities NET_RAW']);
  assert.deepEqual(profileRisks(parse({ image: 'busybox:latest', user: 'root' }), known), ['user root']);
  assert.deepEqual(profileRisks(parse({ image: 'busybox:latest', user: '0:0' }), known), ['user root']);
  assert.deepEqual(profileRisks(parse({ image: 'busybox:latest', user: '1000' }), known), []);
  // A default profile copied as it is (capabilities and all) is nobody's new choice.
  assert.deepEqual(profileRisks(parseProfiles([DEFAULT_PROFILES[1]], 'workspace').profiles[0], known), []);
});
