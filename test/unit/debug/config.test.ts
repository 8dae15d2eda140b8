// Pure parts of the debug type: the manifest agrees with the TypeScript
// interface, source paths map both ways, hit conditions become ignore counts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ATTACH_ATTRIBUTES, DEBUG_TYPE } from '../../../src/debug/config';
import { createSourceMap } from '../../../src/debug/sourceMap';
import { containerRef } from '../../../src/engine/engines';
import { parseHitCondition } from '../../../src/debug/session';
import { isNodeCommand, scriptFolder } from '../../../src/debug/nodeInspector';
import { projectRoot } from '../../helpers/paths';

const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8'));

describe('debug type sidecar: manifest', () => {
  const dbg = manifest.contributes.debuggers.find((d: { type: string }) => d.type === DEBUG_TYPE);

  it('lists exactly the attributes of SidecarAttachArguments', () => {
    assert.deepEqual(Object.keys(dbg.configurationAttributes.attach.properties), ATTACH_ATTRIBUTES);
    assert.deepEqual(dbg.configurationAttributes.attach.required, ['container']);
  });

  it('has initial configurations and snippets of the same shape', () => {
    for (const c of [...dbg.initialConfigurations, ...dbg.configurationSnippets.map((s: { body: object }) => s.body)]) {
      assert.equal(c.type, 'sidecar');
      assert.equal(c.request, 'attach');
      for (const k of Object.keys(c)) if (!['type', 'request', 'name'].includes(k)) assert.ok(ATTACH_ATTRIBUTES.includes(k as never), `${k} is an attribute`);
    }
  });

  it('contributes the commands with the category, the setting and the process-row menu', () => {
    const cmds = manifest.contributes.commands.filter((c: { command: string }) => /^sidecar\.debugger\.(attachProcess|debugProcess)$/.test(c.command));
    assert.deepEqual(cmds.map((c: { title: string; category: string }) => [c.title, c.category]), [['Attach Debugger to Process…', 'Container Sidecar'], ['Debug this process', 'Container Sidecar']]);
    assert.ok(manifest.contributes.menus['view/item/context'].some((m: { command: string; when: string }) => m.command === 'sidecar.debugger.debugProcess' && /viewItem == process/.test(m.when)));
    assert.equal(manifest.contributes.configuration.properties['sidecar.debugger.gdbImage'].type, 'string');
    const src = fs.readFileSync(path.join(projectRoot, 'src/debug/register.ts'), 'utf8');
    for (const c of cmds) assert.match(src, new RegExp(`registerCommand\\('${c.command.replace(/\./g, '\\.')}'`), `${c.command} is registered`);
  });
});

describe('debug type sidecar: source map', () => {
  const exists = (p: string) => p.startsWith('/ws/');
  it('maps build paths to the workspace (longest prefix first) and back', () => {
    const m = createSourceMap({ '/src': '/ws/app', '/src/vendor/': '/ws/third' }, 'abc', exists);
    assert.equal(m.toClient('/src/target.c'), '/ws/app/target.c');
    assert.equal(m.toClient('/src/vendor/lib.c'), '/ws/third/lib.c');
    assert.equal(m.toRemote('/ws/app/sub/x.c'), '/src/sub/x.c');
    assert.equal(m.toRemote('/ws/third/lib.c'), '/src/vendor/lib.c');
  });

  it('shows unmapped or missing sources from the container, and takes container: URIs back', () => {
    const m = createSourceMap({ '/src': '/elsewhere' }, 'abc', exists);
    assert.equal(m.toClient('/src/target.c'), 'container://abc/src/target.c');
    assert.equal(m.toClient('/usr/include/stdio.h'), 'container://abc/usr/include/stdio.h');
    assert.equal(m.toRemote('container://abc/src/target.c'), '/src/target.c');
    assert.equal(m.toRemote('/home/me/other/target.c'), 'target.c');
  });

  it('names the engine in container: URIs of a container on another engine than the default', () => {
    const m = createSourceMap(undefined, containerRef('abc', 'isolated'), exists);
    assert.equal(m.toClient('/usr/include/stdio.h'), 'container://abc@isolated/usr/include/stdio.h');
    assert.equal(m.toRemote('container://abc@isolated/usr/include/stdio.h'), '/usr/include/stdio.h');
    // The default engine names none: URIs stay as they were before several engines.
    assert.equal(createSourceMap(undefined, containerRef('abc', undefined), exists).toClient('/a.c'), 'container://abc/a.c');
  });

  it('learns a folder mapping from a breakpoint gdb resolved', () => {
    const m = createSourceMap(undefined, 'abc', exists);
    m.learn('/ws/fixtures/target.c', '/src/target.c');
    assert.equal(m.toClient('/src/target.c'), '/ws/fixtures/target.c');
    assert.equal(m.toRemote('/ws/fixtures/target.c'), '/src/target.c');
    m.learn('/ws/a/other.c', '/build/main.c'); // different file names teach nothing
    assert.equal(m.toClient('/build/main.c'), 'container://abc/build/main.c');
  });
});

describe('debug type sidecar: hit conditions', () => {
  it('turns N, >= N and > N into gdb ignore counts', () => {
    assert.equal(parseHitCondition('3'), 2);
    assert.equal(parseHitCondition('>= 3'), 2);
    assert.equal(parseHitCondition('> 3'), 3);
    assert.equal(parseHitCondition(''), undefined);
    assert.equal(parseHitCondition('% 2'), 'invalid');
  });
});

describe('debug type sidecar: node processes', () => {
  it('recognises node by its executable, not its arguments', () => {
    assert.equal(isNodeCommand('/usr/bin/node /app/app.js'), true);
    assert.equal(isNodeCommand('node --enable-source-maps server.js'), true);
    assert.equal(isNodeCommand('nodejs /srv/x.js'), true);
    assert.equal(isNodeCommand('/app/target'), false);
    assert.equal(isNodeCommand('python3 node.py'), false);
  });

  it('takes remoteRoot from the script path', () => {
    assert.equal(scriptFolder('/usr/bin/node /app/app.js'), '/app');
    assert.equal(scriptFolder('node --inspect-port=0 /srv/web/index.js'), '/srv/web');
    assert.equal(scriptFolder('node relative.js'), undefined);
    assert.equal(scriptFolder('node'), undefined);
  });
});
