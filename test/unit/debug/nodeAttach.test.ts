// The Node.js attach path: which process a processName names, which script an
// inspector runs, which workspace folder stands for the script's folder in the
// container, and the process list from inside a container (a real one).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inferRoots, inspectorScript, listProcessesInTarget, pickByName, ProcessNameError, scriptPath } from '../../../src/debug/nodeInspector';
import { Engine } from '../../../src/engine/engine';
import { resolveEndpoint } from '../../../src/engine/connection';
import { treeFromNamespace } from '../../../src/procfs/processes';
import { IMAGES, removeQuietly, runContainer, testDocker, uniqueName } from '../../helpers/docker';

const procs = [{ nsPid: 1, command: '/usr/bin/node /app/app.js' }, { nsPid: 7, command: '/usr/bin/node /app/worker.js' }, { nsPid: 9, command: 'sleep 100' }];

describe('pickByName (processName on the node path)', () => {
  it('picks the one match', () => {
    assert.equal(pickByName(procs, 'worker', 'web').nsPid, 7);
    assert.equal(pickByName(procs, '^sleep', 'web').nsPid, 9);
  });
  it('refuses no match and several matches, listing the candidates', () => {
    assert.throws(() => pickByName(procs, 'python', 'web'), (e: Error) => e instanceof ProcessNameError && /No process in web matches "python".*1 \/usr\/bin\/node \/app\/app\.js; 7 .*; 9 sleep 100/.test(e.message));
    assert.throws(() => pickByName(procs, 'node', 'web'), (e: Error) => e instanceof ProcessNameError && /Several processes in web match "node": 1 .*; 7 .*\. Set "processId"/.test(e.message));
    assert.throws(() => pickByName(procs, '(', 'web'), /not a valid regular expression/);
  });
});

describe('inferRoots (localRoot/remoteRoot)', () => {
  const files = new Set(['/ws/a/src/main.js', '/ws/b/app/src/main.js', '/ws/c/app.js']);
  const exists = (p: string) => files.has(p);
  it('finds the folder that holds the same relative script, longest match first', () => {
    assert.deepEqual(inferRoots(scriptPath('node /app/src/main.js'), ['/ws/a', '/ws/b'], exists), { localRoot: '/ws/b', remoteRoot: '/' });
    assert.deepEqual(inferRoots(scriptPath('node /app/src/main.js'), ['/ws/a'], exists), { localRoot: '/ws/a', remoteRoot: '/app' });
    assert.deepEqual(inferRoots(scriptPath('/usr/bin/node --enable-source-maps /srv/app.js'), ['/ws/c'], exists), { localRoot: '/ws/c', remoteRoot: '/srv' });
  });
  it('gives nothing when no folder holds the script or the command names none', () => {
    assert.equal(inferRoots(scriptPath('node /app/other.js'), ['/ws/a', '/ws/b'], exists), undefined);
    assert.equal(inferRoots(scriptPath('node'), ['/ws/a'], exists), undefined);
    assert.equal(inferRoots(scriptPath('node relative.js'), ['/ws/a'], exists), undefined);
  });
});

describe('inspectorScript (the script named by /json/list)', () => {
  it('reads the file URL of the target, decoded', () => {
    assert.equal(inspectorScript([{ type: 'node', title: '/app/app.js', url: 'file:///app/app.js' }]), '/app/app.js');
    assert.equal(inspectorScript([{ url: 'file:///srv/my%20app/main.js' }]), '/srv/my app/main.js');
  });
  it('gives nothing for an answer without a file URL', () => {
    assert.equal(inspectorScript([{ url: '' }]), undefined);
    assert.equal(inspectorScript([{ url: 'node:internal/main' }]), undefined);
    assert.equal(inspectorScript({ Browser: 'node.js/v18' }), undefined);
    assert.equal(inspectorScript(null), undefined);
  });
});

describe('listProcessesInTarget (ps in a sidecar, for a window that cannot see the engine\'s /proc)', () => {
  const docker = testDocker();
  const made: string[] = [];
  after(() => removeQuietly(docker, made));
  it('lists the target\'s processes by their PIDs inside, as a tree without host PIDs', async () => {
    const c = await runContainer(docker, { name: uniqueName('ut-ps'), image: IMAGES.busybox, cmd: ['sh', '-c', 'sleep 1001 & sleep 1002 & wait'] });
    made.push(c.id);
    const list = await listProcessesInTarget(new Engine(resolveEndpoint(undefined)), { target: c.id, image: IMAGES.busybox });
    assert.deepEqual(list.map((p) => p.command).sort(), ['sh -c sleep 1001 & sleep 1002 & wait', 'sleep 1001', 'sleep 1002']);
    const tree = treeFromNamespace(list);
    assert.equal(tree.length, 1, 'one root: the shell, PID 1');
    assert.equal(tree[0].nsPid, 1);
    assert.equal(tree[0].hostPid, 0, 'no host PID is made up');
    assert.deepEqual(tree[0].children.map((p) => p.command).sort(), ['sleep 1001', 'sleep 1002']);
  });
});
