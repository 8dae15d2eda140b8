// The explorer suite again, in an extension host running as the real non-root
// user sidecar-dev (docker group): /proc/<pid>/ns is refused there, so the tree
// must show the same sharing from HostConfig, with inodes shown as unknown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../helpers/paths';
import { runInExtensionHost } from '../helpers/workbench';

test('explorer in an extension host run by the non-root user sidecar-dev', { timeout: 10 * 60_000 }, async (t) => {
  const users = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/users.mjs')).href)) as { ensureTestUser(): { uid: number } };
  const { uid } = users.ensureTestUser();
  // Node's spawn drops supplementary groups, so run with docker as the primary
  // group: the user still reaches the socket only through the docker group.
  const gid = Number(spawnSync('getent', ['group', 'docker'], { encoding: 'utf8' }).stdout.split(':')[2]);
  assert.ok(gid > 0, 'the docker group exists');
  const results = await runInExtensionHost(path.join(projectRoot, 'out/test/integration'), { uid, gid, env: { SIDECAR_TEST_FILTER: 'explorer:', HOME: `/home/${'sidecar-dev'}`, USER: 'sidecar-dev', SIDECAR_EXPECT_UID: String(uid) } });
  assert.ok(results.length > 0, 'the extension host ran the explorer suite');
  for (const r of results) {
    await t.test(`as sidecar-dev: ${r.name}`, () => {
      if (!r.ok) assert.fail(r.error);
    });
  }
});
