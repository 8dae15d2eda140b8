// Pure parts of the Node.js attach path: which process a processName names,
// and which workspace folder stands for the script's folder in the container.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inferRoots, pickByName, ProcessNameError } from '../../../src/debug/nodeInspector';

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
    assert.deepEqual(inferRoots('node /app/src/main.js', ['/ws/a', '/ws/b'], exists), { localRoot: '/ws/b', remoteRoot: '/' });
    assert.deepEqual(inferRoots('node /app/src/main.js', ['/ws/a'], exists), { localRoot: '/ws/a', remoteRoot: '/app' });
    assert.deepEqual(inferRoots('/usr/bin/node --enable-source-maps /srv/app.js', ['/ws/c'], exists), { localRoot: '/ws/c', remoteRoot: '/srv' });
  });
  it('gives nothing when no folder holds the script or the command names none', () => {
    assert.equal(inferRoots('node /app/other.js', ['/ws/a', '/ws/b'], exists), undefined);
    assert.equal(inferRoots('node', ['/ws/a'], exists), undefined);
    assert.equal(inferRoots('node relative.js', ['/ws/a'], exists), undefined);
  });
});
