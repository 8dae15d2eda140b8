// The demo's set-up, shared by `npm run demo` and its e2e test: the scene of
// containers, and a VS Code profile (workspace, user settings, extensions)
// that opens clean on the Container Sidecar view. Everything lives outside
// the repository, so git finds no repository above the workspace.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { root } from './deps.mjs';

export const DEMO_LABEL = 'io.container-sidecar.demo';
/** The scene shows as one compose project, at the top of the Containers view and expanded. */
export const DEMO_PROJECT = 'container-sidecar-demo';

/**
 * The scene, started in this order. To add a service, add an entry:
 * `name` (prefixed with "demo-"), `image` (a key of IMAGES in images.mjs),
 * `run` (docker run flags), `cmd`, and `about` for the README and the log.
 * `{other}` in `run` or `cmd` stands for the full name of the entry `other`,
 * `{workspace}` for the demo's workspace folder (see prepareProfile).
 * No published ports and no bridge network: a service listens on its own loopback.
 */
export const SCENE = [
  {
    name: 'web',
    about: 'busybox httpd on its own loopback, 127.0.0.1:8080',
    image: 'busybox',
    run: ['--network', 'none'],
    cmd: ['sh', '-c', 'echo "<h1>hello from demo-web</h1>" > /var/www/index.html; exec httpd -f -p 127.0.0.1:8080 -h /var/www'],
  },
  {
    name: 'target',
    about: 'a shell-less, distroless-like target: one static binary',
    image: 'target',
    run: ['--network', 'none'],
  },
  {
    name: 'web-debugger',
    about: "shares demo-web's pid and network namespaces, made by hand as people do today",
    image: 'busybox',
    run: ['--pid', 'container:{web}', '--network', 'container:{web}'],
    cmd: ['sleep', '1000000'],
  },
  {
    name: 'node',
    about: "Debian's nodejs running /app/app.js, bind mounted from the workspace's node-app folder",
    image: 'node',
    // The mount lets "Attach Debugger Container" in the editor of node-app/app.js find this container.
    run: ['--network', 'none', '--mount', 'type=bind,source={workspace}/node-app,target=/app,readonly'],
    cmd: ['/usr/bin/node', '/app/app.js'],
  },
  {
    name: 'go',
    about: 'a static Go service alone in a scratch image (no shell), counting and serving 127.0.0.1:7071; its source is the workspace\'s go-app folder, mounted at /src',
    image: 'go',
    // The mount only lets "Attach Debugger Container" in the editor of go-app/main.go find this container; the binary is in the image.
    run: ['--network', 'none', '--mount', 'type=bind,source={workspace}/go-app,target=/src,readonly'],
  },
  {
    name: 'python',
    about: "Debian's python3 only, running /app/app.py, bind mounted from the workspace's python-app folder",
    image: 'python',
    // The mount lets "Attach Debugger Container" in the editor of python-app/app.py find this container.
    run: ['--network', 'none', '--mount', 'type=bind,source={workspace}/python-app,target=/app,readonly'],
    cmd: ['/usr/bin/python3', '/app/app.py'],
  },
];

/** The Node.js service's source, copied into the workspace so it can be opened and debugged there. */
const NODE_APP = path.join(root, 'test/fixtures/node-target/app.js');
/** The Go service's sources, likewise. */
const GO_APP = path.join(root, 'test/fixtures/go-target');
/** The Python service's source, likewise. */
const PYTHON_APP = path.join(root, 'test/fixtures/python-target/app.py');

/** Where the demo keeps its workspace and VS Code profile: outside the clone. */
export function defaultDemoDir() {
  return path.join(os.tmpdir(), `container-sidecar-demo-${process.getuid?.() ?? 0}`);
}

function docker(args) {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args[0]} failed: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout.trim();
}

/** Removes the scene's containers: those labelled with this prefix, and demo containers of earlier runs that hold its names. */
export function removeScene({ prefix = 'demo-' } = {}) {
  const names = new Set(SCENE.map((s) => `${prefix}${s.name}`));
  const ids = docker(['ps', '-a', '--filter', `label=${DEMO_LABEL}`, '--format', `{{.ID}}\t{{.Names}}\t{{.Label "${DEMO_LABEL}"}}`])
    .split('\n').filter(Boolean).map((l) => l.split('\t'))
    .filter(([, name, value]) => value === prefix || names.has(name)).map(([id]) => id);
  if (ids.length) spawnSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
}

/**
 * Starts the scene afresh. `images` maps SCENE's image keys to tags; `labels`
 * are added to every container (tests add theirs so a run cleans up after itself).
 * Returns the containers' names in SCENE order.
 */
export function createScene({ images, workspace, prefix = 'demo-', project = DEMO_PROJECT, labels = {} }) {
  removeScene({ prefix });
  const full = (s) => s.replace(/\{([\w-]+)\}/g, (_, n) => {
    if (n !== 'workspace') return `${prefix}${n}`;
    if (!workspace) throw new Error('createScene needs the workspace folder (from prepareProfile) for {workspace}');
    return workspace;
  });
  const names = [];
  for (const s of SCENE) {
    const image = images[s.image];
    if (!image) throw new Error(`demo scene entry ${s.name}: no image for "${s.image}" (known: ${Object.keys(images).join(', ')})`);
    const label = Object.entries({ ...labels, [DEMO_LABEL]: prefix, 'com.docker.compose.project': project }).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    docker(['run', '-d', '--name', `${prefix}${s.name}`, ...label, ...(s.run ?? []).map(full), image, ...(s.cmd ?? []).map(full)]);
    names.push(`${prefix}${s.name}`);
  }
  return names;
}

/** Settings of the demo's VS Code user: a quiet start, no git prompt about folders above. */
export const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'security.workspace.trust.enabled': false,
};

// A tiny extension of the demo's own: when the window has started, it shows
// the Containers view. VS Code has no setting for the side bar's first view.
const OPENER = {
  name: 'container-sidecar-demo-opener',
  displayName: 'Container Sidecar demo: open the Containers view',
  description: 'Part of npm run demo only.',
  publisher: 'container-sidecar',
  version: '0.0.1',
  license: 'MIT',
  engines: { vscode: '^1.90.0' },
  activationEvents: ['onStartupFinished'],
  main: './extension.js',
  extensionDependencies: ['container-sidecar.container-sidecar'],
};
const OPENER_MAIN = "exports.activate = () => require('vscode').commands.executeCommand('sidecar.containers.focus');\n";

function openerVsix(dir) {
  const src = path.join(dir, 'opener');
  fs.rmSync(src, { recursive: true, force: true });
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(path.join(src, 'package.json'), JSON.stringify(OPENER, null, 2));
  fs.writeFileSync(path.join(src, 'extension.js'), OPENER_MAIN);
  const vsix = path.join(dir, 'opener.vsix');
  execFileSync(path.join(root, 'node_modules', '.bin', 'vsce'), ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', vsix],
    { cwd: src, stdio: 'ignore' });
  return vsix;
}

/**
 * Writes the demo's workspace and VS Code profile under `dir` and installs the
 * packaged extension (`vsix`) and the opener into its extensions folder, with
 * code-server at `codeServerBin`. Returns the folders to start code-server with.
 */
export function prepareProfile({ dir = defaultDemoDir(), images, vsix, codeServerBin }) {
  dir = path.resolve(dir);
  if (!path.relative(root, dir).startsWith('..')) throw new Error(`the demo folder ${dir} lies inside the repository; git would offer to open it. Choose a folder outside ${root}.`);
  const workspace = path.join(dir, 'workspace');
  const userDataDir = path.join(dir, 'user');
  const extensionsDir = path.join(dir, 'extensions');
  fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
  // The images are the user's choice (user settings): set by the workspace they would need consent first.
  const imageSettings = {
    'sidecar.files.helperImage': images.busybox,
    'sidecar.debugger.gdbImage': images.gdb,
    'sidecar.debugger.delveImage': images.delve,
    // The test base of the debugpy image already holds python3, debugpy and gdb.
    'sidecar.debugger.debugpyImage': images.debugpy,
    'sidecar.ports.tunnelImage': images.busybox,
    // Local images only: the demo must work where no registry can be reached.
    'sidecar.debugger.profiles': [{ name: 'Shell (busybox)', image: images.busybox, command: ['sh'], capabilities: ['SYS_PTRACE'] }],
  };
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), '{}\n');
  fs.writeFileSync(path.join(workspace, 'README.md'), '# Container Sidecar demo\n\nThe Containers view lists the demo scene under "container-sidecar-demo".\n\n`node-app/app.js` is what `demo-node` runs (mounted at /app): set a breakpoint in `tick`, then **Attach Debugger Container to This File\'s Process** from the editor title.\n\n`go-app/main.go` is the source of what `demo-go` runs: set a breakpoint in `tick` and do the same; delve attaches.\n\n`python-app/app.py` is what `demo-python` runs: the same, with the Python debugger.\n');
  fs.mkdirSync(path.join(workspace, 'node-app'), { recursive: true });
  fs.copyFileSync(NODE_APP, path.join(workspace, 'node-app', 'app.js'));
  fs.mkdirSync(path.join(workspace, 'go-app'), { recursive: true });
  for (const f of ['main.go', 'go.mod']) fs.copyFileSync(path.join(GO_APP, f), path.join(workspace, 'go-app', f));
  fs.mkdirSync(path.join(workspace, 'python-app'), { recursive: true });
  fs.copyFileSync(PYTHON_APP, path.join(workspace, 'python-app', 'app.py'));
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...USER_SETTINGS, ...imageSettings }, null, 2));
  // The demo is about its scene on this engine: other engines found here (a Podman service, Docker
  // contexts) stay hidden. Machine-scoped, so in the remote's own settings (Machine/settings.json).
  fs.mkdirSync(path.join(userDataDir, 'Machine'), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'Machine', 'settings.json'), JSON.stringify({ 'sidecar.hiddenEngines': ['podman', 'contexts'] }, null, 2));
  fs.mkdirSync(extensionsDir, { recursive: true });
  for (const x of [vsix, openerVsix(dir)]) {
    execFileSync(process.execPath, [codeServerBin, '--extensions-dir', extensionsDir, '--install-extension', x, '--force'], { stdio: 'ignore' });
  }
  return { dir, workspace, userDataDir, extensionsDir };
}

/** The address that opens the demo workspace in code-server at `base` (http://127.0.0.1:<port>). */
export function demoUrl(base, workspace) {
  return `${base}/?folder=${encodeURIComponent(workspace)}`;
}
