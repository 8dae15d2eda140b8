// Stands up the real workbench for a test: code-server on loopback with the
// extension, and Debian's Chromium driven by playwright-core.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { projectRoot, testOutput } from './paths';
import type { HostResult } from './hostRunner';

interface CodeServerLib {
  startCodeServer(o: object): Promise<{ port: number; base: string; stop(): void; extensionsDir: string; process: { pid?: number } }>;
  payloadUrl(port: number, o: object): string;
  codeServerBin: string;
}

export async function codeServerLib(): Promise<CodeServerLib> {
  return (await import(pathToFileURL(path.join(projectRoot, 'scripts/lib/codeserver.mjs')).href)) as CodeServerLib;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.SIDECAR_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/**
 * The bench's own images are the user's choice, as on a person's machine: a
 * workspace that names images or profiles would need consent (src/trust/).
 * Moves every sidecar.* key of the workspace's settings into user settings
 * in `userDataDir`, unless the test keeps them in the workspace on purpose.
 */
export function writeUserSettings(workspace: string, userDataDir: string, opts: { keepWorkspaceSettings?: boolean; userSettings?: Record<string, unknown> } = {}): void {
  const file = path.join(workspace, '.vscode', 'settings.json');
  const ws = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> : {};
  const user: Record<string, unknown> = { 'workbench.startupEditor': 'none', 'workbench.tips.enabled': false };
  if (!opts.keepWorkspaceSettings) {
    for (const k of Object.keys(ws).filter((k) => k.startsWith('sidecar.'))) {
      user[k] = ws[k];
      delete ws[k];
    }
    fs.writeFileSync(file, JSON.stringify(ws, null, 2));
  }
  Object.assign(user, opts.userSettings);
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(user, null, 2));
  // Tests pin their engine: a Podman service or a Docker context that another run left on this
  // machine must not add a root. Machine-scoped settings of a remote window (code-server's is one)
  // live in the remote's own settings, Machine/settings.json; from User/settings.json they would
  // count only until the first write there.
  fs.mkdirSync(path.join(userDataDir, 'Machine'), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'Machine', 'settings.json'), JSON.stringify({ 'sidecar.hiddenEngines': ['podman', 'contexts'] }, null, 2));
}

export function makeWorkspace(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cs-ws-${name}-`));
  fs.mkdirSync(path.join(dir, '.vscode'));
  // Settings a person would set for this bench: local images, quiet workbench.
  fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'security.workspace.trust.enabled': false,
    'sidecar.files.helperImage': process.env.SIDECAR_IMAGE_BUSYBOX ?? 'container-sidecar-test/busybox:1',
  }, null, 2));
  return dir;
}

/**
 * Runs the compiled host test module in `testsDir` inside code-server's real
 * extension host and returns one result per test.
 */
export async function runInExtensionHost(testsDir: string, opts: { timeoutMs?: number; env?: Record<string, string>; uid?: number; gid?: number; pidNamespace?: boolean; logName?: string; userSettings?: Record<string, unknown> } = {}): Promise<HostResult[]> {
  const lib = await codeServerLib();
  fs.mkdirSync(testOutput, { recursive: true });
  const results = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cs-results-')), 'results.jsonl');
  fs.writeFileSync(results, '');
  if (opts.uid !== undefined) {
    // A non-root extension host must be able to write its results.
    fs.chownSync(path.dirname(results), opts.uid, opts.gid ?? opts.uid);
    fs.chownSync(results, opts.uid, opts.gid ?? opts.uid);
  }
  const workspace = makeWorkspace('host');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-user-'));
  writeUserSettings(workspace, userDataDir, { userSettings: opts.userSettings });
  // A non-root host needs its own profile folders and the workspace it opens.
  const owned = (dir: string) => {
    if (opts.uid !== undefined) for (const p of [dir, ...fs.readdirSync(dir, { recursive: true }).map((f) => path.join(dir, String(f)))]) fs.chownSync(p, opts.uid, opts.gid ?? opts.uid);
    return dir;
  };
  owned(workspace);
  const server = await lib.startCodeServer({
    workspace,
    logFile: path.join(testOutput, `${opts.logName ?? 'code-server-integration'}.log`),
    env: { SIDECAR_TEST_RESULTS: results, ...opts.env },
    pidNamespace: opts.pidNamespace,
    uid: opts.uid, gid: opts.gid,
    userDataDir: owned(userDataDir),
    ...(opts.uid !== undefined ? { extensionsDir: owned(fs.mkdtempSync(path.join(os.tmpdir(), 'cs-ext-'))) } : {}),
  });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(lib.payloadUrl(server.port, { workspace, extensionDir: projectRoot, testsDir }));
    const until = Date.now() + (opts.timeoutMs ?? 5 * 60_000);
    for (;;) {
      const lines = fs.readFileSync(results, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      if (lines.some((l) => l.done)) return lines.filter((l) => !l.done);
      if (Date.now() > until) {
        return [...lines.filter((l) => !l.done), { name: 'extension host run', ok: false, error: `no completion within ${opts.timeoutMs ?? 300000} ms; see test-output/code-server-integration.log`, ms: 0 }];
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await browser.close();
    server.stop();
  }
}

export interface Workbench {
  page: Page;
  browser: Browser;
  workspace: string;
  /** The host PID of the process that started code-server (with pidNamespace: unshare, the namespace's parent). */
  serverPid: number;
  /** Where the .vsix was installed: the extension's shipped files are below it. */
  extensionsDir: string;
  close(): Promise<void>;
}

/** Opens the workbench on a single folder with the packaged .vsix installed, as a user would have it. */
export async function openWorkbench(name: string, opts: { workspace?: string; workspaceTrust?: boolean; keepWorkspaceSettings?: boolean; userSettings?: Record<string, unknown>; pidNamespace?: boolean } = {}): Promise<Workbench> {
  const lib = await codeServerLib();
  const vsix = path.join(projectRoot, 'container-sidecar.vsix');
  if (!fs.existsSync(vsix)) throw new Error('container-sidecar.vsix is missing: run npm run package first');
  const extensionsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-ext-'));
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, [lib.codeServerBin, '--extensions-dir', extensionsDir, '--install-extension', vsix], { stdio: 'ignore' });
  const workspace = opts.workspace ?? makeWorkspace(name);
  fs.mkdirSync(testOutput, { recursive: true });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-user-'));
  writeUserSettings(workspace, userDataDir, opts);
  const server = await lib.startCodeServer({ workspace, extensionsDir, userDataDir, workspaceTrust: opts.workspaceTrust, pidNamespace: opts.pidNamespace, logFile: path.join(testOutput, `code-server-${name}.log`) });
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${server.base}/?folder=${encodeURIComponent(workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  return {
    page, browser, workspace, serverPid: server.process.pid!, extensionsDir,
    async close() {
      await browser.close();
      server.stop();
    },
  };
}

export function screenshotPath(name: string): string {
  const dir = path.join(testOutput, 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.png`);
}

/**
 * Chooses the open quick pick's first row holding `text`, with the keyboard:
 * a hover the workbench shows for the row under the mouse pointer can cover
 * the row a click aims at (seen once on a fresh clone).
 */
export async function chooseRow(page: Page, text: string): Promise<void> {
  const list = '.quick-input-widget .quick-input-list .monaco-list-row';
  await page.locator(list, { hasText: text }).first().waitFor({ timeout: 30_000 });
  const focused = page.locator(`${list}.focused`, { hasText: text });
  const size = await page.locator(list).count();
  // The quick pick focuses its first row; going down from there finds the first match, as a click on .first() would.
  for (let i = 0; i <= size && (await focused.count()) === 0; i++) await page.keyboard.press('ArrowDown');
  await focused.first().waitFor({ timeout: 5_000 });
  await page.keyboard.press('Enter');
}

/**
 * Shows a container in the Containers view through the palette, as a person
 * would on a busy engine: the tree renders only the rows in sight, so a row
 * far down the list is not on the page until it is revealed.
 */
export async function revealContainer(page: Page, name: string): Promise<void> {
  await page.keyboard.press('F1');
  await page.keyboard.type('Container Sidecar: Reveal Container in Containers View');
  await chooseRow(page, 'Reveal Container in Containers View');
  // Type only once the container pick is open: keys typed earlier land in the focused editor.
  await page.locator('.quick-input-widget input[placeholder="Container to show"]').waitFor({ timeout: 30_000 });
  await page.keyboard.type(name);
  await chooseRow(page, name);
}
