// The CDP proxy in front of a real Node.js inspector (a node child process of
// this test with --inspect on a free loopback port; no debugger that kills
// anything is involved): discovery documents point at the proxy, CDP passes
// both ways, and every evaluation that reads the PID gets an undefined answer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { WebSocket } from 'ws';
import { closeInspector, readsPid, rewriteDiscovery, startCdpProxy, type CdpProxy } from '../../../src/debug/cdpProxy';

// The telemetry expression of VS Code's JavaScript debugger, in its shape (it kills what it returns as processId).
const TELEMETRY = `typeof process === 'undefined' || process.pid === undefined ? 'process not defined' : ({ processId: process.pid, nodeVersion: process.version, architecture: process.arch })\n//# sourceURL=eval-1.cdp`;

describe('readsPid', () => {
  it('catches the spellings of reading the PID', () => {
    for (const code of [TELEMETRY, 'process.pid', 'process.ppid', 'process?.pid', 'process["pid"]', "process['ppid']", 'process[`pid`]', 'const { pid } = process; pid',
      "require('process').pid", 'globalThis.process.pid', 'function () { return this.process.pid; }', 'process.\\u0070id', 'process\n  .pid', 'PROCESS.PID']) {
      assert.equal(readsPid(code), true, code);
    }
  });
  it('lets other code through', () => {
    for (const code of ['1 + 2', 'process.version', 'process.env.PIDFILE', 'rapid(1)', 'pidgin', 'state.counter', 'function () { return this.length; }']) {
      assert.equal(readsPid(code), false, code);
    }
  });
});

describe('rewriteDiscovery', () => {
  it('points /json/list and /json/version WebSocket URLs at the proxy', () => {
    const list = [{ id: 'u1', webSocketDebuggerUrl: 'ws://127.0.0.1:9229/u1', devtoolsFrontendUrl: 'devtools://devtools/bundled/js_app.html?experiments=true&v8only=true&ws=127.0.0.1:9229/u1', title: '/usr/bin/node[1]' }];
    assert.deepEqual(rewriteDiscovery(list, '127.0.0.1:5000'), [{ id: 'u1', webSocketDebuggerUrl: 'ws://127.0.0.1:5000/u1', devtoolsFrontendUrl: 'devtools://devtools/bundled/js_app.html?experiments=true&v8only=true&ws=127.0.0.1:5000/u1', title: '/usr/bin/node' }]);
    assert.deepEqual(rewriteDiscovery({ Browser: 'node.js/v18', webSocketDebuggerUrl: 'ws://0.0.0.0:9229/x' }, '127.0.0.1:5000'), { Browser: 'node.js/v18', webSocketDebuggerUrl: 'ws://127.0.0.1:5000/x' });
  });
});

function getJson(port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(parts).toString('utf8'))));
    }).on('error', reject);
  });
}

/** A CDP client: request() resolves with the reply of that id; events are collected. */
async function cdp(url: string) {
  const ws = new WebSocket(url);
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  const waiting = new Map<number, (m: Record<string, unknown>) => void>();
  const events: string[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    if (typeof m.id === 'number') waiting.get(m.id)?.(m);
    else events.push(JSON.stringify(m));
  });
  let next = 1;
  return {
    events,
    request(method: string, params: object = {}, extra: object = {}): Promise<Record<string, unknown>> {
      const id = next++;
      return new Promise((r) => { waiting.set(id, r); ws.send(JSON.stringify({ id, method, params, ...extra })); });
    },
    close: () => ws.close(),
  };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((r) => http.get({ host: '127.0.0.1', port, path: '/json/version' }, (res) => { res.resume(); r(true); }).on('error', () => r(false)));
}

describe('CDP proxy in front of a real Node.js inspector', () => {
  let child: ChildProcess;
  let inspectorPort: number;
  let proxy: CdpProxy;
  const traced: string[] = [];

  before(async () => {
    child = spawn(process.execPath, ['--inspect=127.0.0.1:0', '-e', 'setInterval(() => {}, 1000)'], { stdio: ['ignore', 'ignore', 'pipe'] });
    inspectorPort = await new Promise<number>((resolve, reject) => {
      let text = '';
      child.stderr!.on('data', (b: Buffer) => {
        text += b.toString();
        const m = /ws:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error(`node exited: ${text}`)));
    });
    proxy = await startCdpProxy({ upstreamPort: inspectorPort, log: { trace: (m) => traced.push(m) } });
  });
  after(async () => {
    await proxy?.close();
    child?.kill();
  });

  it('rewrites /json/list, /json and /json/version to point at itself', async () => {
    for (const p of ['/json/list', '/json']) {
      const list = await getJson(proxy.port, p) as { webSocketDebuggerUrl: string }[];
      assert.equal(list.length, 1);
      assert.doesNotMatch(JSON.stringify(list), new RegExp(`\\[${child.pid}\\]`), 'no PID in the titles');
      assert.match(list[0].webSocketDebuggerUrl, new RegExp(`^ws://127\\.0\\.0\\.1:${proxy.port}/`));
    }
    const version = await getJson(proxy.port, '/json/version') as { Browser: string };
    assert.match(version.Browser, /^node\.js\//);
  });

  it('passes requests, replies and events through, and withholds every PID evaluation with an undefined result', async () => {
    const list = await getJson(proxy.port, '/json/list') as { webSocketDebuggerUrl: string }[];
    const c = await cdp(list[0].webSocketDebuggerUrl);
    try {
      await c.request('Runtime.enable');
      const created = c.events.map((e) => JSON.parse(e) as { method: string; params: { context: { name: string } } }).find((e) => e.method === 'Runtime.executionContextCreated');
      assert.ok(created, 'events reach the debugger');
      assert.equal(created.params.context.name, process.execPath, 'the context name loses its "[<pid>]"');
      assert.deepEqual(await c.request('Runtime.evaluate', { expression: '1 + 2', returnByValue: true }), { id: 2, result: { result: { type: 'number', value: 3, description: '3' } } });
      const before = proxy.withheld;
      assert.deepEqual(await c.request('Runtime.evaluate', { expression: TELEMETRY, contextId: 1, returnByValue: true }), { id: 3, result: { result: { type: 'undefined' } } });
      assert.deepEqual((await c.request('Runtime.evaluate', { expression: 'process["pid"]', returnByValue: true })).result, { result: { type: 'undefined' } });
      const global = await c.request('Runtime.evaluate', { expression: 'globalThis' });
      const objectId = ((global.result as { result: { objectId: string } }).result).objectId;
      assert.deepEqual((await c.request('Runtime.callFunctionOn', { objectId, functionDeclaration: 'function () { return this.process.ppid; }', returnByValue: true })).result, { result: { type: 'undefined' } });
      // A flattened session's reply keeps its sessionId.
      assert.equal((await c.request('Runtime.evaluate', { expression: 'process.pid' }, { sessionId: 's1' })).sessionId, 's1');
      assert.equal(proxy.withheld - before, 4);
      assert.ok(traced.some((t) => t.includes('withheld Runtime.evaluate') && t.includes('processId: process.pid')), 'the trace log names what was withheld');
      // Reading other properties of process still works.
      const v = await c.request('Runtime.evaluate', { expression: 'process.version', returnByValue: true });
      assert.equal((v.result as { result: { value: string } }).result.value, process.version);
    } finally {
      c.close();
    }
  });

  it('answers each discovery document it was given once from memory (rewritten), then asks the inspector', async () => {
    const given = { '/json/list': [{ title: 'given[7]', webSocketDebuggerUrl: 'ws://127.0.0.1:9229/abc' }], '/json/version': { Browser: 'given' } };
    const p2 = await startCdpProxy({ upstreamPort: inspectorPort, discovery: given });
    try {
      const first = await getJson(p2.port, '/json') as { title: string; webSocketDebuggerUrl: string }[];
      assert.deepEqual(first, [{ title: 'given', webSocketDebuggerUrl: `ws://127.0.0.1:${p2.port}/abc` }]);
      assert.deepEqual(await getJson(p2.port, '/json/version'), { Browser: 'given' });
      const second = await getJson(p2.port, '/json/list') as { title: string; webSocketDebuggerUrl: string }[];
      assert.notEqual(second[0].title, 'given', 'the second answer is the inspector\'s');
      assert.match(second[0].webSocketDebuggerUrl, new RegExp(`^ws://127\\.0\\.0\\.1:${p2.port}/`));
      assert.match((await getJson(p2.port, '/json/version') as { Browser: string }).Browser, /^node\.js\//);
    } finally {
      await p2.close();
    }
  });

  it('closeInspector closes the inspector that SIGUSR1 would have left open; the process runs on', async () => {
    assert.equal(await closeInspector({ upstreamPort: inspectorPort }), true);
    const until = Date.now() + 10_000;
    while (await portOpen(inspectorPort)) {
      if (Date.now() > until) assert.fail('the inspector still listens 10 s after closeInspector');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(child.exitCode, null, 'the process runs on');
    assert.equal(child.signalCode, null);
  });
});
