// A loopback proxy between VS Code's JavaScript debugger (js-debug) and a
// container's forwarded Node.js inspector. It exists for one reason: js-debug
// asks the debuggee for `process.pid` at attach and, when the session is
// terminated (the Stop button, workbench.action.debug.stop, stopDebugging()
// with no argument), SIGKILLs that PID's whole tree ON THE HOST. Inside a
// container that PID is 1 or a small number, so the host's processes would
// die. The proxy passes CDP through both ways but answers every evaluation
// that reads the process's PID with an undefined result, so js-debug never
// learns a number to kill. It never answers 0 or a negative number: `pgrep -P 0`
// and `kill -1` reach every process. No vscode import.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

export interface ProxyLogger {
  trace(message: string): void;
  debug?(message: string): void;
}

export interface CdpProxy {
  /** The proxy's port on 127.0.0.1: hand this to js-debug as `port`. */
  readonly port: number;
  /** How many evaluations were answered with undefined instead of reaching the debuggee. */
  readonly withheld: number;
  close(): Promise<void>;
}

/** CDP methods that run code in the debuggee and return its result. */
const EVALUATIONS = new Set(['Runtime.evaluate', 'Runtime.callFunctionOn', 'Debugger.evaluateOnCallFrame', 'Runtime.compileScript', 'Runtime.runScript']);

/**
 * Whether code text could read the process's PID: `process.pid`, `process?.ppid`,
 * `process["pid"]`, `const { pid } = process`, `require('process').pid`...
 * Deliberately broad: the word `process` and a `pid`/`ppid` token anywhere in
 * the same text (comments included). A withheld debug-console evaluation costs
 * the user one answer; a leaked PID costs the host its processes.
 */
export function readsPid(code: string): boolean {
  // Unicode escapes in identifiers (`process.\u0070id`) are decoded first.
  const text = code.replace(/\\u\{?([0-9a-fA-F]{2,6})\}?/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)));
  return /process/i.test(text) && /(^|[^A-Za-z0-9_$])p?pid([^A-Za-z0-9_$]|$)/i.test(text);
}

interface CdpMessage {
  id?: number;
  method?: string;
  sessionId?: string;
  params?: { expression?: string; functionDeclaration?: string };
}

/** The code a CDP request would run in the debuggee, or undefined when it runs none. */
function evaluatedCode(msg: CdpMessage): string | undefined {
  if (!msg.method || !EVALUATIONS.has(msg.method)) return undefined;
  return `${msg.params?.expression ?? ''}\n${msg.params?.functionDeclaration ?? ''}`;
}

/**
 * Starts the proxy on 127.0.0.1 (a free port) in front of the inspector at
 * upstreamHost:upstreamPort. `discovery`: documents just read from the
 * inspector (path -> JSON), each answered once from memory: every request
 * through a tunnel costs an exec in it, and the debugger asks for them first.
 */
export async function startCdpProxy(o: { upstreamPort: number; upstreamHost?: string; log?: ProxyLogger; discovery?: Record<string, unknown> }): Promise<CdpProxy> {
  const upstreamHost = o.upstreamHost ?? '127.0.0.1';
  const log = o.log;
  const fresh = new Map(Object.entries(o.discovery ?? {}));
  let withheld = 0;
  const sockets = new Set<WebSocket>();

  const server = http.createServer((req, res) => {
    void relayHttp(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`The Node.js inspector behind this proxy did not answer: ${err instanceof Error ? err.message : String(err)}`);
    });
  });

  /** GETs the inspector's HTTP endpoint; the discovery documents get their WebSocket URLs pointed here. */
  async function relayHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const pathname = (req.url ?? '/').split('?')[0].replace(/\/+$/, '');
    const key = pathname === '/json' ? '/json/list' : pathname;
    if (fresh.has(key)) {
      const doc = fresh.get(key);
      fresh.delete(key);
      const out = Buffer.from(JSON.stringify(rewriteDiscovery(doc, `127.0.0.1:${port}`)));
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': out.length });
      res.end(out);
      return;
    }
    const { status, headers, body } = await httpGet(upstreamHost, o.upstreamPort, req.url ?? '/');
    if (status === 200 && ['/json', '/json/list', '/json/version'].includes(pathname)) {
      const doc: unknown = JSON.parse(body.toString('utf8'));
      const out = Buffer.from(JSON.stringify(rewriteDiscovery(doc, `127.0.0.1:${port}`)));
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': out.length });
      res.end(out);
      return;
    }
    res.writeHead(status, { 'content-type': headers['content-type'] ?? 'application/octet-stream' });
    res.end(body);
  }

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (client) => bridge(client, req.url ?? '/'));
  });

  function bridge(client: WebSocket, path: string): void {
    const upstream = new WebSocket(`ws://${upstreamHost}:${o.upstreamPort}${path}`, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    sockets.add(client);
    sockets.add(upstream);
    // ws sends a Buffer as a binary frame unless told otherwise; CDP is text.
    const pending: [RawData, boolean][] = [];
    const toUpstream = (data: RawData, binary = false) => (upstream.readyState === WebSocket.OPEN ? upstream.send(data, { binary }) : pending.push([data, binary]));
    upstream.on('open', () => {
      for (const [d, binary] of pending.splice(0)) upstream.send(d, { binary });
    });
    client.on('message', (data, isBinary) => {
      if (isBinary) return toUpstream(data, true);
      let msg: CdpMessage;
      try {
        msg = JSON.parse(data.toString()) as CdpMessage;
      } catch {
        return toUpstream(data);
      }
      const code = evaluatedCode(msg);
      if (code !== undefined && readsPid(code)) {
        withheld++;
        log?.trace(`cdp proxy: withheld ${msg.method} #${msg.id ?? '?'} (it reads the process's PID, which js-debug would kill on the host): ${code.trim().slice(0, 300)}`);
        // An undefined result: js-debug then has no PID and kills nothing. Never 0 or negative.
        const reply: Record<string, unknown> = { id: msg.id, result: { result: { type: 'undefined' } } };
        if (msg.sessionId) reply.sessionId = msg.sessionId;
        client.send(JSON.stringify(reply));
        return;
      }
      toUpstream(data);
    });
    upstream.on('message', (data, isBinary) => {
      if (client.readyState !== WebSocket.OPEN) return;
      // Node names its context "<execPath>[<pid>]": the PID goes, the name stays.
      if (!isBinary && data.toString().includes('"Runtime.executionContextCreated"')) {
        const msg = JSON.parse(data.toString()) as { params?: { context?: { name?: string } } };
        const ctx = msg.params?.context;
        if (ctx && typeof ctx.name === 'string') ctx.name = withoutPid(ctx.name);
        client.send(JSON.stringify(msg));
        return;
      }
      client.send(data, { binary: isBinary });
    });
    const end = (ws: WebSocket, code?: number) => {
      sockets.delete(ws);
      // 1005/1006 are reserved: they may not be sent in a close frame.
      if (ws.readyState === WebSocket.OPEN) ws.close(code && code !== 1005 && code !== 1006 ? code : 1000);
      else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    };
    client.on('close', (code) => { sockets.delete(client); end(upstream, code); });
    upstream.on('close', (code) => { sockets.delete(upstream); end(client, code); });
    client.on('error', (err) => { log?.debug?.(`cdp proxy: debugger side: ${err.message}`); end(upstream); });
    upstream.on('error', (err) => { log?.debug?.(`cdp proxy: inspector side: ${err.message}`); end(client); });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    get withheld() { return withheld; },
    async close() {
      for (const ws of sockets) ws.terminate();
      sockets.clear();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Node's target and context names end in "[<pid>]"; that PID is the container's. */
function withoutPid(name: string): string {
  return name.replace(/\[\d+\]$/, '');
}

/** Points every WebSocket URL of an inspector discovery document (/json/list or /json/version) at `hostPort`, and drops the PID from titles. */
export function rewriteDiscovery(doc: unknown, hostPort: string): unknown {
  const fix = (entry: unknown): unknown => {
    if (!entry || typeof entry !== 'object') return entry;
    const e = { ...(entry as Record<string, unknown>) };
    if (typeof e.title === 'string') e.title = withoutPid(e.title);
    if (typeof e.webSocketDebuggerUrl === 'string') e.webSocketDebuggerUrl = e.webSocketDebuggerUrl.replace(/^(wss?:\/\/)[^/]+/, `$1${hostPort}`);
    for (const k of ['devtoolsFrontendUrl', 'devtoolsFrontendUrlCompat']) {
      if (typeof e[k] === 'string') e[k] = (e[k] as string).replace(/([?&]wss?=)[^/&]+/, `$1${hostPort}`);
    }
    return e;
  };
  return Array.isArray(doc) ? doc.map(fix) : fix(doc);
}

function httpGet(host: string, port: number, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, timeout: 5000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/**
 * Closes the inspector of the node process behind `port` (the forward, not the
 * proxy), so that it stops listening once the debugger has gone. SIGUSR1 opened
 * it; Node offers no other way to close it from outside. Resolves to false when
 * the process refused (e.g. `require` is not reachable in an ES module).
 */
export async function closeInspector(o: { upstreamPort: number; upstreamHost?: string }): Promise<boolean> {
  const host = o.upstreamHost ?? '127.0.0.1';
  const list = JSON.parse((await httpGet(host, o.upstreamPort, '/json/list')).body.toString('utf8')) as { webSocketDebuggerUrl?: string }[];
  const url = list[0]?.webSocketDebuggerUrl?.replace(/^(wss?:\/\/)[^/]+/, `$1${host}:${o.upstreamPort}`);
  if (!url) return false;
  const ws = new WebSocket(url, { perMessageDeflate: false });
  try {
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    // inspector.close() waits until no session is connected, so it runs on a
    // timer after this connection has gone (a synchronous call would wait on it).
    const expression = `(() => { const r = typeof require === 'function' ? require : process.mainModule && process.mainModule.require; if (!r) return false; const i = r('inspector'); setTimeout(() => i.close(), 50); return true; })()`;
    const answer = await new Promise<{ result?: { result?: { value?: unknown } } }>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString()) as { result?: { result?: { value?: unknown } } }));
      ws.once('error', reject);
      ws.send(JSON.stringify({ id: 1, method: 'Runtime.evaluate', params: { expression, includeCommandLineAPI: true, returnByValue: true } }));
    });
    return answer.result?.result?.value === true;
  } finally {
    ws.close();
  }
}
