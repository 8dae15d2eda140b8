// For e2e tests whose workbench hands a container's Node.js inspector to VS
// Code's JavaScript debugger: code-server runs as PID 1 of a PID namespace of
// its own (openWorkbench({ pidNamespace: true })), so a debugger that killed
// "the debuggee's PID" could only reach that namespace. These helpers look into
// it from the test process: canaries under its PID 1, and strace on its
// extension host. Every PID here is a host PID read from this machine's /proc.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { eventually } from './hostRunner';

function children(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((t) => {
    try {
      return fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

export function ppid(pid: number): number | undefined {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** The namespace's PID 1 (code-server), the one child of `unshare`; asserts that its PID namespace is not ours. */
export async function namespaceInit(unsharePid: number): Promise<number> {
  const init = await eventually(() => children(unsharePid)[0], 'the PID namespace\'s init') as number;
  assert.match(cmdline(init), /code-server/, 'PID 1 of the namespace is code-server');
  assert.notEqual(fs.readlinkSync(`/proc/${init}/ns/pid`), fs.readlinkSync('/proc/self/ns/pid'), 'code-server runs in a PID namespace of its own');
  assert.match(fs.readFileSync(`/proc/${init}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m, 'code-server is PID 1 there');
  return init;
}

/** The extension host below the namespace's init (where js-debug runs). */
export async function extensionHost(init: number): Promise<number> {
  const find = (): number | undefined => {
    const seen: number[] = [];
    const walk = (p: number): number | undefined => {
      seen.push(p);
      if (cmdline(p).includes('--type=extensionHost')) return p;
      for (const c of children(p)) {
        const hit = walk(c);
        if (hit) return hit;
      }
      return undefined;
    };
    return walk(init);
  };
  return await eventually(find, 'the extension host to start', 60_000) as number;
}

/** `strace -f` of execve and signals on a process, as the integration suite does. */
export async function startStrace(pid: number, log: string): Promise<ChildProcess> {
  fs.rmSync(log, { force: true });
  const p = spawn('strace', ['-f', '-qq', '-e', 'trace=execve,kill,tgkill', '-o', log, '-p', String(pid)], { stdio: 'ignore' });
  await eventually(() => /TracerPid:\s*[1-9]/.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')), 'strace to attach to the extension host');
  return p;
}

/**
 * A `setsid sleep` started inside the namespace whose shell exits at once, so
 * its parent is the namespace's PID 1: what js-debug's tree kill of PID 1
 * would reach first. Returns its host PID.
 */
export async function startCanary(init: number, tag: number): Promise<number> {
  const r = spawnSync('nsenter', ['-t', String(init), '-p', '-m', '--', 'sh', '-c', `setsid sleep ${tag} >/dev/null 2>&1 &`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `nsenter started a canary: ${r.stderr}`);
  return await eventually(() => children(init).find((c) => cmdline(c) === `sleep\0${tag}\0`), `canary ${tag} to be reparented to the namespace's PID 1`) as number;
}

/** Every canary still runs under the namespace's PID 1, and strace saw no terminateProcess.sh. */
export function assertSafe(init: number, canaries: number[], straceLog: string, when: string): void {
  for (const pid of canaries) assert.equal(ppid(pid), init, `canary ${pid} is alive under the namespace's PID 1 after ${when}`);
  assert.doesNotMatch(fs.readFileSync(straceLog, 'utf8'), /terminateProcess/, `no terminateProcess.sh ran by ${when}`);
}
