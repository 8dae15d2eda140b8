// Entry of the integration tier: loaded by the real extension host
// (extensionTestsPath), which ends when run() settles.
import { runHostTests } from '../helpers/hostRunner';
import { containersViewTests } from './containersView.itest';
import { explorerTests } from './explorer.itest';
import { sidecarsTests } from './sidecars.itest';
import { debugTests } from './debug.itest';
import { filesTests } from './files.itest';
import { editorAttachTests } from './editorAttach.itest';
import { panelsTests } from './panels.itest';
import { goDebugTests } from './goDebug.itest';
import { pythonDebugTests } from './pythonDebug.itest';
import { enginesTests } from './engines.itest';
import { threeEnginesTests } from './threeEngines.itest';

export async function run(): Promise<void> {
  await runHostTests({ 'containers view': containersViewTests, explorer: explorerTests, sidecars: sidecarsTests, debug: debugTests, 'container files': filesTests, 'editor attach': editorAttachTests, panels: panelsTests, 'go debug': goDebugTests, 'python debug': pythonDebugTests, engines: enginesTests, 'three engines': threeEnginesTests });
}
