// Node.js attach through VS Code's JavaScript debugger, safe by construction:
// code-server (and so js-debug) runs as PID 1 of a PID namespace of its own,
// with its own /proc. If the debugger ever killed "the debuggee's PID" again,
// only this namespace's processes could die, never the machine's. strace on
// the extension host records every exec and signal for the assertions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot, testOutput } from '../helpers/paths';
import { runInExtensionHost } from '../helpers/workbench';

test('Node.js debugging in an extension host inside its own PID namespace', { timeout: 10 * 60_000 }, async (t) => {
  const sh = await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/sh.mjs')).href) as { aptEnsure(p: string[]): Promise<void> };
  await sh.aptEnsure(['strace']);
  fs.mkdirSync(testOutput, { recursive: true });
  const straceLog = path.join(testOutput, 'strace-node-debug.log');
  fs.rmSync(straceLog, { force: true });
  const results = await runInExtensionHost(path.join(projectRoot, 'out/test/integration/node'), {
    pidNamespace: true, logName: 'code-server-node-debug', env: { SIDECAR_STRACE_LOG: straceLog }, timeoutMs: 8 * 60_000,
  });
  assert.ok(results.length > 0, 'the extension host ran at least one test');
  for (const r of results) {
    await t.test(r.name, () => {
      if (!r.ok) assert.fail(r.error);
    });
  }
});
