// The GDB/MI parser and engine: first against lines recorded from gdb 13
// (Debian bookworm) attached to the shell-less target in a sidecar, then
// against gdb running live in a sidecar.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { list, miQuote, parseMiLine, str, tuple } from '../../../src/debug/mi/parser';
import { MiClient, MiError } from '../../../src/debug/mi/client';
import { Gdb, toBreakpoint, toStopInfo } from '../../../src/debug/mi/gdb';
import { startGdbSidecar, type GdbSidecar } from '../../../src/debug/gdbSidecar';
import { Engine } from '../../../src/engine/engine';
import { resolveEndpoint } from '../../../src/engine/connection';
import { listSidecars } from '../../../src/engine/sidecars';
import { IMAGES, readFileFromArchive, removeQuietly, runContainer, testDocker, uniqueName } from '../../helpers/docker';

// Recorded from `gdb -q -nx --interpreter=mi3` in a sidecar of container-sidecar-test/target:1.
const REC = {
  bkpt: '^done,bkpt={number="1",type="breakpoint",disp="keep",enabled="y",addr="0x0000000000401620",func="factorial",file="/src/target.c",fullname="/src/target.c",line="24",thread-groups=["i1"],times="0",original-location="factorial"}',
  hit: '*stopped,reason="breakpoint-hit",disp="keep",bkptno="1",frame={addr="0x0000000000401620",func="factorial",args=[{name="n",value="2"}],file="/src/target.c",fullname="/src/target.c",line="24",arch="i386:x86-64"},thread-id="1",stopped-threads="all",core="0"',
  stack: '^done,stack=[frame={level="0",addr="0x0000000000401620",func="factorial",file="/src/target.c",fullname="/src/target.c",line="24",arch="i386:x86-64"},frame={level="1",addr="0x0000000000401692",func="tick",file="/src/target.c",fullname="/src/target.c",line="30",arch="i386:x86-64"},frame={level="2",addr="0x0000000000401836",func="main",file="/src/target.c",fullname="/src/target.c",line="57",arch="i386:x86-64"}]',
  children: '^done,numchild="4",children=[child={name="var1.counter",exp="counter",numchild="0",value="16",type="long"},child={name="var1.origin",exp="origin",numchild="2",value="{...}",type="struct point"},child={name="var1.history",exp="history",numchild="4",value="[4]",type="int [4]"},child={name="var1.label",exp="label",numchild="16",value="[16]",type="char [16]"}],has_more="0"',
  attachStop: '*stopped,frame={addr="0x000000000045e433",func="clock_nanosleep",args=[],arch="i386:x86-64"},thread-id="1",stopped-threads="all",core="0"',
  finish: '*stopped,reason="function-finished",frame={addr="0x0000000000401692",func="tick",args=[{name="s",value="0x4a72e0 <global_state>"}],file="/src/target.c",fullname="/src/target.c",line="30",arch="i386:x86-64"},gdb-result-var="$1",return-value="2",thread-id="1",stopped-threads="all",core="0"',
  sigint: '*stopped,reason="signal-received",signal-name="SIGINT",signal-meaning="Interrupt",frame={addr="0x000000000045e433",func="clock_nanosleep",args=[],arch="i386:x86-64"},thread-id="1",stopped-threads="all",core="0"',
  error: '^error,msg="No symbol \\"nosuchvar\\" in current context."',
  console: '~"Breakpoint 1, factorial (n=2) at /src/target.c:24\\n"',
  log: '&"24\\t/src/target.c: No such file or directory.\\n"',
};

describe('MI parser: recorded gdb output', () => {
  it('parses a breakpoint result with a nested list', () => {
    const r = parseMiLine('12' + REC.bkpt);
    assert.equal(r.type, 'result');
    if (r.type !== 'result') return;
    assert.equal(r.token, 12);
    assert.equal(r.cls, 'done');
    const b = toBreakpoint(tuple(r.results.bkpt)!);
    assert.deepEqual(b, { number: 1, pending: false, file: '/src/target.c', fullname: '/src/target.c', line: 24, func: 'factorial', times: 0 });
    assert.deepEqual(tuple(r.results.bkpt)!['thread-groups'], ['i1']);
  });

  it('parses a list of name=value results (the stack) as values', () => {
    const r = parseMiLine(REC.stack);
    assert.ok(r.type === 'result');
    const frames = list(r.results.stack).map((f) => tuple(f)!);
    assert.deepEqual(frames.map((f) => str(f.func)), ['factorial', 'tick', 'main']);
    assert.deepEqual(frames.map((f) => str(f.line)), ['24', '30', '57']);
  });

  it('parses var children with struct and array types', () => {
    const r = parseMiLine(REC.children);
    assert.ok(r.type === 'result');
    const kids = list(r.results.children).map((c) => tuple(c)!);
    assert.deepEqual(kids.map((k) => [str(k.exp), str(k.numchild), str(k.type)]), [['counter', '0', 'long'], ['origin', '2', 'struct point'], ['history', '4', 'int [4]'], ['label', '16', 'char [16]']]);
  });

  it('maps stop records to reasons', () => {
    const stop = (l: string) => { const r = parseMiLine(l); assert.ok(r.type === 'exec'); return toStopInfo(r.results); };
    const hit = stop(REC.hit);
    assert.equal(hit.reason, 'breakpoint');
    assert.deepEqual(hit.breakpointIds, [1]);
    assert.equal(hit.threadId, 1);
    assert.equal(hit.frame?.line, 24);
    assert.equal(stop(REC.attachStop).reason, 'attach');
    assert.equal(stop(REC.finish).reason, 'function-finished');
    assert.equal(stop(REC.sigint).reason, 'pause');
    assert.equal(stop('*stopped,reason="exited",exit-code="01"').exitCode, 1);
    assert.equal(stop('*stopped,reason="exited-normally"').exitCode, 0);
  });

  it('decodes escapes in errors and streams, octal bytes as UTF-8', () => {
    const e = parseMiLine(REC.error);
    assert.ok(e.type === 'result');
    assert.equal(e.cls, 'error');
    assert.equal(str(e.results.msg), 'No symbol "nosuchvar" in current context.');
    assert.deepEqual(parseMiLine(REC.console), { type: 'console', text: 'Breakpoint 1, factorial (n=2) at /src/target.c:24\n' });
    assert.deepEqual(parseMiLine(REC.log), { type: 'log', text: '24\t/src/target.c: No such file or directory.\n' });
    assert.deepEqual(parseMiLine('~"caf\\303\\251 \\\\ \\"q\\""'), { type: 'console', text: 'café \\ "q"' });
    assert.deepEqual(parseMiLine('(gdb) '), { type: 'prompt' });
    assert.deepEqual(parseMiLine('=thread-group-added,id="i1"'), { type: 'notify', token: undefined, cls: 'thread-group-added', results: { id: 'i1' } });
  });

  it('rejects lines that are not MI', () => {
    assert.throws(() => parseMiLine('hello world'));
    assert.throws(() => parseMiLine('^done,x="unterminated'));
  });

  it('quotes user text so it can never become a second command', () => {
    assert.equal(miQuote('a "b" \\c\nd'), '"a \\"b\\" \\\\c\\nd"');
    assert.doesNotMatch(miQuote('x\n-gdb-exit'), /\n/);
  });
});

describe('MI client: command queue and async records over a stream', () => {
  it('matches tokens, rejects ^error with gdb\'s text, emits async records, fails pending work on close', async () => {
    const fromGdb = new PassThrough();
    const toGdb = new PassThrough();
    const mi = new MiClient(fromGdb, toGdb);
    const written: string[] = [];
    toGdb.on('data', (b: Buffer) => written.push(...b.toString().split('\n').filter(Boolean)));
    const gdb = new Gdb(mi);
    const stops: string[] = [];
    gdb.on('stopped', (s) => stops.push(s.reason));
    const p1 = mi.send('-break-insert -f factorial');
    const p2 = mi.send('-data-evaluate-expression nosuchvar');
    const p3 = mi.send('-stack-list-frames');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(written, ['1-break-insert -f factorial', '2-data-evaluate-expression nosuchvar', '3-stack-list-frames']);
    // Answers arrive split across chunks and interleaved with async records, as they do from a socket.
    const text = `${'1' + REC.bkpt}\n(gdb) \n${REC.hit}\n${'2' + REC.error}\n(gdb) \n3${REC.stack.slice(0, 40)}`;
    fromGdb.write(text);
    fromGdb.write(`${REC.stack.slice(40)}\n`);
    assert.equal(str(tuple((await p1).results.bkpt)!.func), 'factorial');
    await assert.rejects(p2, (e: unknown) => e instanceof MiError && e.message === 'No symbol "nosuchvar" in current context.');
    assert.equal(list((await p3).results.stack).length, 3);
    assert.deepEqual(stops, ['breakpoint']);
    await assert.rejects(mi.send('-a\n-b'), /one line/); // a second command line is refused
    const p4 = mi.send('-exec-continue');
    fromGdb.end();
    await assert.rejects(p4, /gdb exited before answering "-exec-continue"/);
    await assert.rejects(mi.send('-thread-info'), /gdb has exited/);
  });
});

describe('gdb engine: live gdb in a sidecar of the shell-less target', () => {
  const docker = testDocker();
  const engine = new Engine(resolveEndpoint(undefined));
  let targetId = '';
  let sidecar: GdbSidecar | undefined;
  let gdb: Gdb;
  const trace: string[] = [];

  before(async () => {
    const t = await runContainer(docker, { name: uniqueName('mi-target'), image: IMAGES.target, cmd: [] });
    targetId = t.id;
    sidecar = await startGdbSidecar(engine, { target: targetId, image: IMAGES.gdb });
    sidecar.mi.onTrace = (d, l) => trace.push(`${d} ${l}`);
    gdb = new Gdb(sidecar.mi);
  });
  after(async () => {
    await sidecar?.dispose();
    await removeQuietly(docker, [targetId]);
  });
  const withTrace = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      console.error(`MI trace:\n${trace.join('\n')}`);
      throw e;
    }
  };

  it('runs gdb in a labelled sidecar that shares the pid namespace', async () => {
    const [s] = await listSidecars(engine, { target: targetId, role: 'gdb' });
    assert.equal(s.id, sidecar!.id);
    const info = await docker.getContainer(sidecar!.id).inspect();
    assert.equal(info.HostConfig.PidMode, `container:${targetId}`);
    assert.deepEqual(info.HostConfig.CapAdd, ['SYS_PTRACE']);
  });

  it('attaches to PID 1, hits a function breakpoint, lists the recursion and expands a struct', () => withTrace(async () => {
    const stop = await gdb.attach(1);
    assert.equal(stop.reason, 'attach');
    const bp = await gdb.insertBreakpoint({ location: 'factorial', condition: 'n == 3' });
    assert.equal(bp.pending, false);
    assert.equal(bp.fullname, '/src/target.c');
    const hit = new Promise<import('../../../src/debug/mi/gdb').StopInfo>((r) => gdb.once('stopped', r));
    await gdb.continue();
    const s = await hit;
    assert.equal(s.reason, 'breakpoint');
    assert.equal(await gdb.evaluate('n', s.threadId, 0), '3');
    const line = (await gdb.console('info line factorial')).trim();
    assert.match(line, /Line 23 of "\/src\/target.c"/);
    await gdb.deleteBreakpoints([bp.number]);
    const inner = await gdb.insertBreakpoint({ location: '/src/target.c:24', condition: 'n == 1' });
    const hit2 = new Promise<import('../../../src/debug/mi/gdb').StopInfo>((r) => gdb.once('stopped', r));
    await gdb.continue();
    assert.equal((await hit2).breakpointIds[0], inner.number);
    const frames = await gdb.frames(1);
    // factorial(1) <- factorial(2) <- factorial(3) <- ... <- tick <- main
    assert.deepEqual(frames.slice(0, 3).map((f) => `${f.func}:${f.line}`), ['factorial:24', 'factorial:25', 'factorial:25']);
    const tick = frames.findIndex((f) => f.func === 'tick');
    assert.deepEqual(frames.slice(tick).map((f) => `${f.func}:${f.line}`), ['tick:30', 'main:57']);
    const vars = await gdb.stackVariables(1, tick);
    assert.deepEqual(vars.map((v) => `${v.name}${v.isArg ? '(arg)' : ''}`), ['s(arg)', 'depth', 'value']);
    const st = await gdb.createVar('*s', 1, tick);
    assert.equal(st.type, 'struct state');
    const kids = await gdb.varChildren(st.name);
    assert.deepEqual(kids.map((k) => k.exp), ['counter', 'origin', 'history', 'label']);
    const origin = await gdb.varChildren(kids[1].name);
    assert.deepEqual(origin.map((k) => k.exp), ['x', 'y']);
    assert.equal((await gdb.varChildren(kids[3].name))[0].value, "116 't'");
    await gdb.deleteBreakpoints([inner.number]);
  }));

  it('reports an MI error and keeps working', () => withTrace(async () => {
    await assert.rejects(gdb.evaluate('nosuchvar', 1, 0), (e: unknown) => e instanceof MiError && /No symbol "nosuchvar"/.test(e.message));
    assert.equal(await gdb.evaluate('1 + 2'), '3');
  }));

  it('steps out, sets a breakpoint while running, pauses and detaches leaving the target counting', () => withTrace(async () => {
    let s = new Promise<import('../../../src/debug/mi/gdb').StopInfo>((r) => gdb.once('stopped', r));
    await gdb.stepOut(1);
    assert.equal((await s).reason, 'function-finished');
    await gdb.continue();
    assert.equal(gdb.running, true);
    const bp = await gdb.whileStopped(() => gdb.insertBreakpoint({ location: 'tick' }));
    assert.equal(bp.func, 'tick');
    s = new Promise((r) => gdb.once('stopped', r));
    assert.equal((await s).reason, 'breakpoint');
    await gdb.deleteBreakpoints([bp.number]);
    await gdb.continue();
    s = new Promise((r) => gdb.once('stopped', r));
    await gdb.interrupt();
    assert.equal((await s).reason, 'pause');
    await gdb.continue();
    await gdb.detach();
    await gdb.exit();
    const counter = () => readCounter(docker, targetId);
    const a = await counter();
    await new Promise((r) => setTimeout(r, 700));
    assert.ok((await counter()) > a, 'the target keeps counting after detach');
  }));
});

/** /tmp/counter of the shell-less target, read through the archive API (it has no cat). */
async function readCounter(docker: ReturnType<typeof testDocker>, id: string): Promise<number> {
  return Number((await readFileFromArchive(docker, id, '/tmp/counter')).trim());
}
