// The manifest is what users see first: every command in the palette under
// one category, menus that point at real commands, and settings with defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../helpers/paths';

const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8'));
const commands: { command: string; title: string; category?: string }[] = pkg.contributes.commands;

test('every command is named sidecar.<area>.<verb> and sits in the "Container Sidecar" category', () => {
  assert.ok(commands.length > 0);
  for (const c of commands) {
    assert.match(c.command, /^sidecar\.[a-z]+\.[a-zA-Z]+$/, c.command);
    assert.equal(c.category, 'Container Sidecar', `${c.command} has the category`);
    assert.ok(c.title && c.title.length > 3, `${c.command} has a title`);
  }
});

test('every menu entry points at a contributed command', () => {
  const ids = new Set(commands.map((c) => c.command));
  for (const [menu, entries] of Object.entries(pkg.contributes.menus as Record<string, { command?: string; submenu?: string }[]>)) {
    for (const e of entries) if (e.command) assert.ok(ids.has(e.command), `${menu} -> ${e.command} is contributed`);
  }
});

test('every command is registered in the source', () => {
  const src: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) src.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(projectRoot, 'src'));
  const all = src.join('\n');
  for (const c of commands) assert.ok(all.includes(`'${c.command}'`), `${c.command} is registered somewhere in src/`);
});

test('activation is lazy: views, commands and the container scheme, never *', () => {
  assert.ok(!pkg.activationEvents.includes('*'));
  assert.ok(pkg.activationEvents.includes('onView:sidecar.containers'));
  assert.ok(pkg.activationEvents.includes('onFileSystem:container'));
  assert.deepEqual(pkg.extensionKind, ['workspace']);
});

test('@types/vscode is no newer than engines.vscode', () => {
  const engine = pkg.engines.vscode.replace(/^\^/, '');
  const types = pkg.devDependencies['@types/vscode'].replace(/^[\^~]/, '');
  const n = (v: string) => v.split('.').map(Number).reduce((a, x) => a * 1000 + x, 0);
  assert.ok(n(types) <= n(engine), `${types} <= ${engine}`);
  assert.ok(n(engine) <= n('1.99.0') + 999, 'engines.vscode stays at 1.99 or lower for code-server 4.99.4');
});

test('every setting has a type, a default and a description', () => {
  for (const [k, v] of Object.entries(pkg.contributes.configuration.properties as Record<string, { type?: unknown; default?: unknown; description?: string; markdownDescription?: string }>)) {
    assert.match(k, /^sidecar\./);
    assert.ok(v.type, `${k} type`);
    assert.ok('default' in v, `${k} default`);
    assert.ok(v.description || v.markdownDescription, `${k} description`);
  }
});
