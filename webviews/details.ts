// The container details page. Plain DOM: the host sends whole sections, the
// page renders them and keeps only the charts' history.
import { bytes, h, table, vscode } from './common';
import { parseHostToDetails, type DetailsAction, type DetailsData, type ProcessRow, type StatsSample } from './protocol';

const HISTORY = 300; // samples; the engine sends one a second, so five minutes
const samples: StatsSample[] = [];
const revealed = new Map<string, string>();
let data: DetailsData | undefined;
let follow = true;

const app = document.getElementById('app')!;
const header = h('header', {});
const error = h('div', { class: 'error', role: 'alert', hidden: true });
const body = h('div', {});
const resources = h('section', { id: 'resources', 'aria-labelledby': 'h-res' });
const processes = h('section', { 'aria-labelledby': 'h-proc' });
const logText = h('pre', { class: 'logs', tabindex: 0, 'aria-label': 'Log tail' });
const logs = h('section', { 'aria-labelledby': 'h-logs' },
  h('h2', { id: 'h-logs' }, 'Logs'),
  h('div', { class: 'toolbar' },
    h('label', {}, h('input', { type: 'checkbox', checked: true, onchange: (e: Event) => {
      follow = (e.target as HTMLInputElement).checked;
      vscode.postMessage({ type: 'follow', on: follow });
    } }), ' Follow'),
    h('button', { onclick: () => act('logs') }, 'Open full log')),
  logText);
app.append(header, error, body, resources, processes, logs);

function act(action: DetailsAction): void {
  vscode.postMessage({ type: 'action', action });
}

function renderHeader(d: DetailsData): void {
  const btn = (a: DetailsAction, label: string, enabled: boolean) => h('button', { onclick: () => act(a), disabled: !enabled }, label);
  header.replaceChildren(
    h('h1', {}, d.name, ' ', h('span', { class: `badge state-${d.state}` }, d.state),
      d.health ? h('span', { class: `badge health-${d.health.status}` }, d.health.status) : null),
    h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Container actions' },
      btn('start', 'Start', !d.running), btn('stop', 'Stop', d.running), btn('restart', 'Restart', true),
      btn('attach', 'Attach Debugger', d.running), btn('files', 'Open Files', d.running), btn('shell', 'Shell', d.running)),
  );
}

function envValue(name: string, secret: boolean, value?: string): Node {
  if (!secret) return document.createTextNode(value ?? '');
  const v = revealed.get(name);
  if (v !== undefined) return h('code', { class: 'secret-shown' }, v);
  // The value is not in the page until asked for.
  return h('button', { class: 'masked', 'aria-label': `Show the value of ${name}`, onclick: () => vscode.postMessage({ type: 'revealEnv', name }) }, '••••••••');
}

function renderBody(d: DetailsData): void {
  const sec = (id: string, title: string, ...content: (Node | null)[]) => h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...content);
  const none = (x: unknown[], what: string) => (x.length ? null : h('p', { class: 'muted' }, `No ${what}.`));
  body.replaceChildren(
    sec('h-over', 'Overview', table('Overview', ['Field', 'Value'], [
      ...d.overview,
      ...(d.health ? [['Health', `${d.health.status}, failing streak ${d.health.failingStreak}`], ['Last probe', d.health.lastOutput ?? '']] as [string, string][] : []),
    ])),
    sec('h-ports', 'Ports', d.ports.length ? table('Ports', ['Port'], d.ports.map((p) => [p])) : null, none(d.ports, 'ports')),
    sec('h-mounts', 'Mounts', d.mounts.length ? table('Mounts', ['Destination', 'Source', 'Type', 'Mode'], d.mounts.map((m) => [m.destination, m.source, m.type, m.readOnly ? 'read-only' : 'read-write'])) : null, none(d.mounts, 'mounts')),
    sec('h-nets', 'Networks', d.networks.length ? table('Networks', ['Network', 'Address'], d.networks.map((n) => [n.name, n.ip ?? ''])) : null, none(d.networks, 'networks')),
    sec('h-labels', 'Labels', d.labels.length ? table('Labels', ['Label', 'Value'], d.labels) : null, none(d.labels, 'labels')),
    sec('h-env', 'Environment', table('Environment', ['Name', 'Value'], d.env.map((e) => [e.name, envValue(e.name, e.secret, e.value)]))),
    sec('h-ns', 'Namespaces',
      d.namespaces.length ? table('Namespaces', ['Type', 'Inode', 'Sharing'], d.namespaces.map((n) => [n.type, n.inode === undefined ? 'unknown' : String(n.inode), n.shared])) : null,
      none(d.namespaces, 'namespaces (not running)'),
      h('button', { class: 'link', onclick: () => act('map') }, 'Show the namespace map')),
  );
}

/** A small line chart as SVG; colours come from the theme through CSS classes. */
function chart(label: string, values: number[], max: number, text: string, id: string): HTMLElement {
  const W = 240;
  const H = 48;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${label}: ${text}`);
  const line = document.createElementNS(ns, 'polyline');
  const top = max > 0 ? max : 1;
  line.setAttribute('points', values.map((v, i) => `${((i + HISTORY - values.length) / (HISTORY - 1)) * W},${H - 1 - (Math.min(v, top) / top) * (H - 2)}`).join(' '));
  svg.append(line);
  return h('figure', { class: 'metric' }, h('figcaption', {}, label, ': ', h('span', { id, class: 'value' }, text)), svg);
}

function rate(key: 'netRx' | 'netTx' | 'blkRead' | 'blkWrite'): number[] {
  const out: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000;
    out.push(dt > 0 ? Math.max(0, (samples[i][key] - samples[i - 1][key]) / dt) : 0);
  }
  return out;
}

function renderResources(): void {
  const last = samples.at(-1);
  if (!last) {
    resources.replaceChildren(h('h2', { id: 'h-res' }, 'Live resources'), h('p', { class: 'muted' }, data?.running ? 'Waiting for the first sample…' : 'Not running.'));
    return;
  }
  const cpu = samples.map((s) => s.cpuPercent);
  const mem = samples.map((s) => s.memBytes);
  const net = rate('netRx').map((v, i) => v + rate('netTx')[i]);
  const blk = rate('blkRead').map((v, i) => v + rate('blkWrite')[i]);
  resources.replaceChildren(
    h('h2', { id: 'h-res' }, 'Live resources'),
    h('div', { class: 'metrics' },
      chart('CPU', cpu, Math.max(100, ...cpu), `${last.cpuPercent.toFixed(1)} %`, 'cpu-value'),
      chart('Memory', mem, last.memLimit || Math.max(...mem), `${bytes(last.memBytes)}${last.memLimit ? ` of ${bytes(last.memLimit)}` : ''}`, 'mem-value'),
      chart('Network', net, Math.max(1, ...net), `${bytes(net.at(-1) ?? 0)}/s (in ${bytes(last.netRx)}, out ${bytes(last.netTx)})`, 'net-value'),
      chart('Block I/O', blk, Math.max(1, ...blk), `${bytes(blk.at(-1) ?? 0)}/s (read ${bytes(last.blkRead)}, written ${bytes(last.blkWrite)})`, 'blk-value')),
  );
}

function renderProcesses(rows: ProcessRow[]): void {
  rows.sort((a, b) => b.cpu - a.cpu || a.nsPid - b.nsPid);
  processes.replaceChildren(h('h2', { id: 'h-proc' }, 'Processes'),
    table('Processes', ['PID', 'Host PID', 'User', 'CPU %', 'Memory', 'Command'], rows.map((r) => [String(r.nsPid), String(r.hostPid), r.user, r.cpu.toFixed(1), bytes(r.memKb * 1024), r.command])));
}

window.addEventListener('message', (ev: MessageEvent) => {
  const m = parseHostToDetails(ev.data);
  if (!m) return; // not from our host, or not a shape we know
  switch (m.type) {
    case 'details':
      if (data?.id !== m.data.id || !m.data.running) samples.length = 0;
      data = m.data;
      vscode.setState({ id: m.data.id, engine: m.engine });
      error.hidden = true;
      renderHeader(m.data);
      renderBody(m.data);
      renderResources();
      if (!m.data.running) processes.replaceChildren(h('h2', { id: 'h-proc' }, 'Processes'), h('p', { class: 'muted' }, 'Not running.'));
      break;
    case 'stats':
      samples.push(m.sample);
      if (samples.length > HISTORY) samples.shift();
      renderResources();
      break;
    case 'processes':
      renderProcesses(m.rows);
      break;
    case 'logs':
      if (m.reset) logText.textContent = '';
      logText.textContent += m.text;
      // Keep a bounded tail in the page.
      if (logText.textContent!.length > 200_000) logText.textContent = logText.textContent!.slice(-150_000);
      if (follow) logText.scrollTop = logText.scrollHeight;
      break;
    case 'env':
      revealed.set(m.name, m.value);
      if (data) renderBody(data);
      break;
    case 'error':
      error.textContent = m.message;
      error.hidden = false;
      break;
  }
});

vscode.postMessage({ type: 'ready' });
