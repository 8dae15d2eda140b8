// The debug adapter as its own process (dist/debugAdapter.js): DAP on
// stdin/stdout. The extension runs the same session inline; this entry serves
// other DAP clients and the adapter tests. The engine comes from DOCKER_HOST.
import { Engine } from '../engine/engine';
import { resolveEndpoint } from '../engine/connection';
import { SidecarDebugSession } from './session';

const session = new SidecarDebugSession({
  engine: new Engine(resolveEndpoint(undefined)),
  defaultImage: process.env.SIDECAR_GDB_IMAGE,
});
session.setRunAsServer(false);
session.start(process.stdin, process.stdout);
process.on('SIGTERM', () => void session.cleanup().finally(() => process.exit(0)));
