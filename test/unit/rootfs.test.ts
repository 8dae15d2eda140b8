// The hostile-container suite against the direct backend (/proc/<pid>/root).
import { RootFs } from '../../src/procfs/rootfs';
import { hostileSuite } from './rootfsSuite';

hostileSuite('direct /proc backend', async (c) => ({
  fs: new RootFs(() => `/proc/${c.State.Pid}/root`),
  async dispose() {},
}));
