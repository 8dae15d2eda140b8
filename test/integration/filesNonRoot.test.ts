// The container files suite again, in an extension host run by the non-root
// user sidecar-dev (docker group). /proc/<pid>/root is refused there, so the
// provider must choose the helper-container backend on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../helpers/paths';
import { runInExtensionHost } from '../helpers/workbench';

test('container files in an extension host run by the non-root user sidecar-dev', { timeout: 15 * 60_000 }, async (t) => {
  const users = (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/users.mjs')).href)) as { ensureTestUser(): { uid: number; name: string } };
  const { uid, name } = users.ensureTestUser();
  // Node's spawn drops supplementary groups: make docker the primary group.
  const gid = Number(spawnSync('getent', ['group', 'docker'], { encoding: 'utf8' }).stdout.split(':')[2]);
  assert.ok(gid > 0, 'the docker group exists');
  const results = await runInExtensionHost(path.join(projectRoot, 'out/test/integration'), {
    uid, gid, timeoutMs: 10 * 60_000,
    env: { SIDECAR_TEST_FILTER: 'container files:', HOME: `/home/${name}`, USER: name },
  });
  assert.ok(results.length > 0, 'the extension host ran the files suite');
  for (const r of results) {
    await t.test(`as ${name}: ${r.name}`, () => {
      if (!r.ok) assert.fail(r.error);
    });
  }
});
