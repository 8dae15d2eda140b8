// A real non-root user in the docker group, for tests of the paths that work
// without root (where /proc/<pid>/root is "Permission denied").
import { run } from './sh.mjs';

export const TEST_USER = 'sidecar-dev';

/** Creates the user if missing; returns { uid, gid, name }. Needs root. */
export function ensureTestUser() {
  const has = run('id', ['-u', TEST_USER], { allowFail: true });
  if (has.status !== 0) {
    run('groupadd', ['-f', 'docker']);
    run('useradd', ['-m', '-G', 'docker', TEST_USER]);
  }
  const uid = Number(run('id', ['-u', TEST_USER]).stdout.trim());
  const gid = Number(run('id', ['-g', TEST_USER]).stdout.trim());
  return { uid, gid, name: TEST_USER };
}
