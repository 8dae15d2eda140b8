// Entry of the integration tier: loaded by the real extension host
// (extensionTestsPath), which ends when run() settles.
import { runHostTests } from '../helpers/hostRunner';
import { containersViewTests } from './containersView.itest';

export async function run(): Promise<void> {
  await runHostTests({ 'containers view': containersViewTests });
}
