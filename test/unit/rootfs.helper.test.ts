// The same hostile-container suite against the helper-container backend
// (what non-root users get): a busybox helper in the target's pid namespace.
import { after } from 'node:test';
import { Engine } from '../../src/engine/engine';
import { resolveEndpoint } from '../../src/engine/connection';
import { HelperPool } from '../../src/procfs/helperfs';
import { hostileSuite } from './rootfsSuite';

const engine = new Engine(resolveEndpoint(undefined));
const pool = new HelperPool(() => engine);
after(() => pool.dispose());

hostileSuite('helper container backend', async (c) => ({
  fs: pool.fsFor(c.Id, c.Name.replace(/^\//, '')),
  async dispose() {
    await pool.dispose();
  },
}));
