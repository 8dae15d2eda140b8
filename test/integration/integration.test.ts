// Runs the integration tier inside code-server's real extension host and
// reports each host test as a node:test test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { projectRoot } from '../helpers/paths';
import { runInExtensionHost } from '../helpers/workbench';

test('integration tier in the real extension host', { timeout: 10 * 60_000 }, async (t) => {
  // The host's own deadline (5 min by default) would cut the tier short before this test's 10 min.
  const results = await runInExtensionHost(path.join(projectRoot, 'out/test/integration'), { timeoutMs: 9 * 60_000 });
  assert.ok(results.length > 0, 'the extension host ran at least one test');
  for (const r of results) {
    await t.test(r.name, () => {
      if (!r.ok) assert.fail(r.error);
    });
  }
});
