// The ranking behind "Attach Debugger Container" for a workspace file: which
// container and which process run it. Pure functions, plain data.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ContainerFacts, debuggerForLanguage, holds, imageScore, rankContainers, rankProcesses, soleContainer } from '../../../src/debug/fileTargets';

const c = (name: string, image: string, extra: Partial<ContainerFacts> = {}): ContainerFacts => ({ id: `id-${name}`, name, image, labels: {}, mounts: [], ...extra });

describe('the debugger follows the file language', () => {
  it('gdb for C, C++ and Rust; node for JavaScript and TypeScript; python for Python; go for Go; nothing for others', () => {
    assert.deepEqual(['c', 'cpp', 'rust', 'javascript', 'typescript', 'python', 'go', 'plaintext'].map(debuggerForLanguage),
      ['gdb', 'gdb', 'gdb', 'node', 'node', 'python', 'go', undefined]);
  });
});

describe('containers that run a file', () => {
  it('holds() compares whole path components', () => {
    assert.equal(holds('/w/app', '/w/app/src/a.c'), true);
    assert.equal(holds('/w/app', '/w/app'), true);
    assert.equal(holds('/w/app', '/w/apple/a.c'), false);
    assert.equal(holds('/w/app/src', '/w/app/a.c'), false);
  });

  it('a bind mount holding the file wins over everything else, the most specific mount first', () => {
    const ranked = rankContainers('/w/proj/src/main.c', 'proj', [
      c('proj', 'proj:latest'),
      c('wide', 'busybox', { mounts: [{ type: 'bind', source: '/w', destination: '/host' }] }),
      c('narrow', 'busybox', { mounts: [{ type: 'bind', source: '/w/proj/src', destination: '/src' }, { type: 'volume', source: '/var/lib/docker/volumes/x', destination: '/data' }] }),
      c('compose', 'busybox', { labels: { 'com.docker.compose.project.working_dir': '/w/proj', 'com.docker.compose.service': 'api' } }),
    ]);
    assert.deepEqual(ranked.map((r) => [r.container.name, r.reason]), [['narrow', 'mount'], ['wide', 'mount'], ['compose', 'compose']]);
    assert.deepEqual(ranked[0]!.mount, { source: '/w/proj/src', destination: '/src' });
    assert.match(ranked[0]!.detail, /the file is \/src\/main\.c inside/);
    assert.equal(soleContainer(ranked), undefined, 'three matches: the user picks');
  });

  it('a volume mount is not a bind mount of the workspace', () => {
    const ranked = rankContainers('/w/proj/a.js', 'proj', [c('v', 'node', { mounts: [{ type: 'volume', source: '/w/proj', destination: '/app' }] })]);
    assert.equal(ranked[0]!.reason, 'image');
  });

  it('compose: the project whose working dir holds the file; the service named like a folder on the way to it first', () => {
    const dir = '/w/shop';
    const labels = (service: string) => ({ 'com.docker.compose.project.working_dir': dir, 'com.docker.compose.service': service });
    const ranked = rankContainers('/w/shop/api/src/index.js', 'shop', [c('shop-db-1', 'postgres', { labels: labels('db') }), c('shop-api-1', 'node', { labels: labels('api') }), c('other', 'node', { labels: { 'com.docker.compose.project.working_dir': '/w/other' } })]);
    assert.deepEqual(ranked.map((r) => r.container.name), ['shop-api-1', 'shop-db-1']);
    assert.match(ranked[0]!.detail, /compose service api of \/w\/shop/);
  });

  it('exactly one match attaches in one step', () => {
    const ranked = rankContainers('/w/p/t.c', 'p', [c('t', 'x', { mounts: [{ type: 'bind', source: '/w/p', destination: '/src' }] }), c('other', 'p')]);
    assert.equal(soleContainer(ranked)?.container.name, 't');
  });

  it('no match: every running container, ranked by image name against the folder name', () => {
    const ranked = rankContainers('/w/web-api/server.js', 'web-api', [
      c('a', 'redis:7'),
      c('b', 'registry.example:5000/team/web-api:1.2'),
      c('d', 'web:latest'),
      c('e', 'api-gateway@sha256:abc'),
    ]);
    assert.deepEqual(ranked.map((r) => r.container.name), ['b', 'd', 'e', 'a']);
    assert.ok(ranked.every((r) => r.reason === 'image'));
    assert.equal(soleContainer(ranked), undefined);
    assert.equal(soleContainer(rankContainers('/w/x/a.c', 'x', [c('only', 'redis')])), undefined, 'one unrelated container is still asked about');
    assert.equal(soleContainer(rankContainers('/w/x/a.c', 'x', [c('only', 'x:1')]))?.container.name, 'only');
  });

  it('imageScore: same name, containment, shared words, nothing', () => {
    assert.equal(imageScore('shop:1', 'Shop'), 100);
    assert.equal(imageScore('shop-frontend', 'shop'), 60);
    assert.ok(imageScore('acme/orders-service', 'orders-api') > 0);
    assert.equal(imageScore('redis', 'shop'), 0);
  });
});

describe('processes that run a file', () => {
  const procs = [
    { nsPid: 1, command: '/sbin/docker-init -- sh -c ...', elf: true },
    { nsPid: 7, command: 'sh -c node /app/worker.js', elf: true },
    { nsPid: 8, command: 'node /app/worker.js', elf: true },
    { nsPid: 9, command: '/usr/bin/node --enable-source-maps /app/server.js', elf: true },
    { nsPid: 12, command: '/app/target', elf: true },
    { nsPid: 13, command: '/app/run.sh', elf: false },
    { nsPid: 14, command: '[kworker]', elf: undefined },
    { nsPid: 15, command: 'sleep 3600', elf: true },
    { nsPid: 16, command: '/usr/bin/python3 -u /app/loop.py', elf: true },
    { nsPid: 17, command: 'python3.11 /app/serve.py', elf: true },
  ];

  it('python: only python processes; the one running this very file first', () => {
    assert.deepEqual(rankProcesses('python', '/w/app/serve.py', '/app/serve.py', procs).map((p) => p.process.nsPid), [17, 16]);
    assert.deepEqual(rankProcesses('python', '/w/x/loop.py', undefined, procs).map((p) => p.process.nsPid), [16, 17]);
  });

  it('node: only node processes; the one running this very file first, then one of the same name', () => {
    assert.deepEqual(rankProcesses('node', '/w/app/server.js', '/app/server.js', procs).map((p) => p.process.nsPid), [9, 8]);
    assert.deepEqual(rankProcesses('node', '/w/other/worker.ts', undefined, procs).map((p) => p.process.nsPid), [8, 9]);
  });

  it('gdb: ELF programs, not node, shells, init helpers or scripts; the one named like the file first', () => {
    assert.deepEqual(rankProcesses('gdb', '/w/fixtures/target.c', '/src/target.c', procs).map((p) => p.process.nsPid), [12]);
    const more = [...procs, { nsPid: 20, command: '/usr/local/bin/helperd', elf: true }, { nsPid: 21, command: '/opt/app', elf: undefined }];
    assert.deepEqual(rankProcesses('gdb', '/w/src/target.cpp', undefined, more).map((p) => p.process.nsPid), [12, 20, 21]);
  });

  it('go: Go programs first, the one named like the file\'s folder first; unreadable executables after them; never a known non-Go one', () => {
    const go = [
      ...procs.map((p) => ({ ...p, go: p.elf === undefined ? undefined : false })),
      { nsPid: 30, command: '/app/worker', elf: true, go: true },
      { nsPid: 31, command: '/app/api --port 80', elf: true, go: true },
      { nsPid: 32, command: '/opt/unknown', elf: undefined, go: undefined },
    ];
    assert.deepEqual(rankProcesses('go', '/w/cmd/api/main.go', undefined, go).map((p) => p.process.nsPid), [31, 30, 32]);
    assert.deepEqual(rankProcesses('go', '/w/cmd/api/main.go', undefined, procs.map((p) => ({ ...p, go: false }))), []);
  });
});
