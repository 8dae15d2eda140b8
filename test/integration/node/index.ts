// Entry of the Node.js debugging tests: loaded by an extension host whose
// code-server runs as PID 1 of its own PID namespace (see nodeDebug.test.ts).
import { runHostTests } from '../../helpers/hostRunner';
import { nodeDebugTests } from './nodeDebug.itest';

export async function run(): Promise<void> {
  await runHostTests({ 'node debug': nodeDebugTests });
}
