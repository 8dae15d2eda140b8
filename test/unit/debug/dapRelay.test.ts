// The relay's own rules, without a container: framing, path mapping and what
// it keeps from the host. The relay against the real debugpy server is tested
// in debugpy.test.ts; a hostile server that sends reverse requests and PIDs
// cannot be made from debugpy, so one test here uses a small TCP server that
// plays one, and says so.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DapFramer, DapRelay, dapPaths, encodeDap, mapSourcePaths } from '../../../src/debug/dapRelay';
import { adapterClient } from '../../helpers/dapMessages';

describe('dap relay: framing and paths', () => {
  it('frames messages split and joined at any byte', () => {
    const got: unknown[] = [];
    const f = new DapFramer((m) => got.push(m));
    const bytes = Buffer.concat([encodeDap({ seq: 1, type: 'event', event: 'a', body: { s: 'é' } }), encodeDap({ seq: 2, type: 'event', event: 'b' })]);
    for (let i = 0; i < bytes.length; i += 7) f.push(bytes.subarray(i, i + 7));
    assert.deepEqual(got, [{ seq: 1, type: 'event', event: 'a', body: { s: 'é' } }, { seq: 2, type: 'event', event: 'b' }]);
  });

  it('maps source paths anywhere in a body; container paths cannot climb out of a mapped folder', () => {
    const exists = (p: string) => p.startsWith('/ws/');
    const paths = dapPaths({ '/app': '/ws/proj' }, 'cid', exists);
    assert.equal(paths.toClient('/app/pkg/m.py'), '/ws/proj/pkg/m.py');
    assert.equal(paths.toClient('/app/../../etc/passwd'), 'container://cid/etc/passwd');
    assert.equal(paths.toClient('/usr/lib/python3.11/threading.py'), 'container://cid/usr/lib/python3.11/threading.py');
    assert.equal(paths.toClient('<frozen runpy>'), '<frozen runpy>');
    assert.equal(paths.toRemote('/ws/proj/pkg/m.py'), '/app/pkg/m.py');
    assert.equal(paths.toRemote('container://cid/usr/lib/x.py'), '/usr/lib/x.py');
    // Unmapped workspace files go as they are, not as a bare name.
    assert.equal(paths.toRemote('/elsewhere/m.py'), '/elsewhere/m.py');
    const body = { stackFrames: [{ source: { path: '/app/a.py' } }], sources: [{ path: '/app/b.py' }], breakpoint: { source: { path: '/app/c.py' } } };
    mapSourcePaths(body, paths.toClient);
    assert.deepEqual(body, { stackFrames: [{ source: { path: '/ws/proj/a.py' } }], sources: [{ path: '/ws/proj/b.py' }], breakpoint: { source: { path: '/ws/proj/c.py' } } });
  });
});

describe('dap relay: what a server in a container cannot make the host do (a TCP server plays a hostile one)', () => {
  it('refuses reverse requests, drops PIDs, and makes Stop a detach', async () => {
    const fromRelay: DebugProtocol.ProtocolMessage[] = [];
    let serverSocket!: net.Socket;
    const server = net.createServer((s) => {
      serverSocket = s;
      const f = new DapFramer((m) => {
        fromRelay.push(m);
        const req = m as DebugProtocol.Request;
        if (req.type !== 'request') return;
        if (req.command === 'initialize') {
          s.write(encodeDap({ seq: 1, type: 'response', request_seq: req.seq, command: 'initialize', success: true, body: { supportsTerminateRequest: true } }));
          s.write(encodeDap({ seq: 2, type: 'event', event: 'process', body: { name: 'x', systemProcessId: 1, isLocalProcess: true } }));
          s.write(encodeDap({ seq: 3, type: 'event', event: 'debugpyAttach', body: { processId: 1 } }));
          s.write(encodeDap({ seq: 4, type: 'request', command: 'runInTerminal', arguments: { kind: 'integrated', cwd: '/', args: ['sh', '-c', 'touch /tmp/owned'] } }));
        } else {
          s.write(encodeDap({ seq: 10 + req.seq, type: 'response', request_seq: req.seq, command: req.command, success: true }));
        }
      });
      s.on('data', (b: Buffer) => f.push(b));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    let disposed = 0;
    const relay = new DapRelay({ start: async () => ({ port, attachArguments: { justMyCode: true }, dispose: async () => void disposed++ }) });
    const dc = adapterClient(relay);
    try {
      const init = await dc.ok<DebugProtocol.InitializeResponse>('initialize', { adapterID: 'sidecar', supportsRunInTerminalRequest: true, supportsStartDebuggingRequest: true });
      assert.equal(init.body?.supportsTerminateRequest, undefined);
      const sentInit = fromRelay.find((m) => (m as DebugProtocol.Request).command === 'initialize') as DebugProtocol.InitializeRequest;
      assert.equal(sentInit.arguments.supportsRunInTerminalRequest, false);
      assert.equal(sentInit.arguments.supportsStartDebuggingRequest, false);
      const proc = await dc.waitEvent('process');
      assert.deepEqual(proc.body, { name: 'x', isLocalProcess: false });
      // The reverse request is answered by the relay with a refusal, never shown to the client.
      const refusal = await waitFor(() => fromRelay.find((m) => m.type === 'response') as DebugProtocol.Response | undefined);
      assert.equal(refusal.success, false);
      assert.equal(refusal.request_seq, 4);
      await dc.ok('attach', { container: 'c', debugger: 'python', processId: 1 });
      const sentAttach = fromRelay.find((m) => (m as DebugProtocol.Request).command === 'attach') as DebugProtocol.AttachRequest;
      assert.deepEqual(sentAttach.arguments, { justMyCode: true });
      await dc.ok('disconnect', { restart: false, terminateDebuggee: true });
      const sentDisconnect = fromRelay.find((m) => (m as DebugProtocol.Request).command === 'disconnect') as DebugProtocol.DisconnectRequest;
      assert.equal(sentDisconnect.arguments?.terminateDebuggee, false);
      assert.deepEqual(dc.events.map((e) => e.event), ['process']);
      assert.ok(!dc.trace.some((l) => l.includes('runInTerminal')), 'the client never saw the reverse request');
      await waitFor(() => disposed === 1);
    } finally {
      relay.dispose();
      serverSocket?.destroy();
      server.close();
    }
  });

  it('a server that cannot be started answers initialize with the sentence and ends the session', async () => {
    const relay = new DapRelay({ start: () => Promise.reject(new Error('PID 1 in web is not a Python interpreter.')) });
    const dc = adapterClient(relay);
    const init = await dc.request('initialize', { adapterID: 'sidecar' });
    assert.equal(init.success, false);
    assert.equal(init.message, 'PID 1 in web is not a Python interpreter.');
    await dc.waitEvent('terminated');
    assert.equal((await dc.request('disconnect', {})).success, true);
  });
});

async function waitFor<T>(fn: () => T | undefined, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
