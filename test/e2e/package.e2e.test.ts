// The .vsix that users install: small, and holding no sources, tests or maps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../helpers/paths';

/** Names of the entries in a zip file, read from its central directory. */
function zipEntries(buf: Buffer): string[] {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0, 'the .vsix is a zip file');
  const count = buf.readUInt16LE(eocd + 10);
  let off = buf.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(off), 0x02014b50);
    const n = buf.readUInt16LE(off + 28);
    const x = buf.readUInt16LE(off + 30);
    const c = buf.readUInt16LE(off + 32);
    names.push(buf.toString('utf8', off + 46, off + 46 + n));
    off += 46 + n + x + c;
  }
  return names;
}

test('npm run package gives a .vsix under 2 MB with no sources, tests or maps', () => {
  const vsix = path.join(projectRoot, 'container-sidecar.vsix');
  const buf = fs.readFileSync(vsix);
  assert.ok(buf.length < 2 * 1024 * 1024, `${buf.length} bytes`);
  const names = zipEntries(buf);
  assert.ok(names.includes('extension/dist/extension.js'), names.join(', '));
  assert.ok(names.includes('extension/package.json'));
  // The debugger images are built from these on first use.
  assert.ok(names.includes('extension/images/gdb/Dockerfile'), names.join(', '));
  assert.ok(names.includes('extension/images/delve/Dockerfile'), names.join(', '));
  // The files helper's static resolver, imported into the engine as a one-file image.
  assert.ok(names.includes('extension/dist/resolver'), names.join(', '));
  const bad = names.filter((n) => /\.(ts|map)$/.test(n) || /\/(src|test|out|node_modules|scripts)\//.test(n));
  assert.deepEqual(bad, []);
});
