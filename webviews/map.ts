// The namespace map page: members (host, containers, sidecars) and the
// namespaces joining them, laid out by cytoscape.js. The page keeps only the
// view state (toggles); the data comes whole from the host on every change.
import cytoscape from 'cytoscape';
import { h, vscode } from './common';
import { isHostId, isMapViewState, NS_TYPES, parseHostToMap, type MapAction, type MapGraph, type MapMember, type MapNamespace, type MapToHost, type MapViewState, type NsType } from './protocol';

const DEFAULTS: MapViewState = { types: ['pid', 'net', 'ipc'], showPrivate: false, showStopped: true, table: false };
const saved = vscode.getState();
let state: MapViewState = isMapViewState(saved) ? saved : DEFAULTS;
let graph: MapGraph = { members: [], namespaces: [] };
let seq = 0;

const TYPE_COLOURS: Record<NsType, string> = {
  pid: '--vscode-charts-blue', net: '--vscode-charts-green', ipc: '--vscode-charts-orange', uts: '--vscode-charts-purple',
  mnt: '--vscode-charts-yellow', cgroup: '--vscode-charts-red', user: '--vscode-terminal-ansiCyan', time: '--vscode-terminal-ansiMagenta',
};

const app = document.getElementById('app')!;
const status = h('p', { class: 'muted', id: 'map-status', 'aria-live': 'polite' });
const toolbar = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Map options' });
const graphBox = h('div', {
  id: 'graph', role: 'application', tabindex: 0, 'aria-roledescription': 'namespace map', 'aria-describedby': 'map-keys',
  'aria-label': 'Namespace map',
});
const keysHelp = h('p', { id: 'map-keys', class: 'visually-hidden' }, 'Arrow keys move to the nearest node in that direction, Home and End to the first and last, typing a name jumps to it. Enter reveals the container in the Containers view; Shift+F10 or the Menu key opens its actions.');
/** Says which node the keyboard is on, for screen readers. */
const focusNote = h('p', { id: 'map-focus', class: 'visually-hidden', 'aria-live': 'polite' });
const tableBox = h('div', { id: 'ns-table' });
const tip = h('div', { class: 'tooltip', role: 'tooltip', hidden: true });
const menu = h('div', { class: 'menu', role: 'menu', hidden: true });
app.append(toolbar, status, graphBox, keysHelp, focusNote, tableBox, tip, menu);

const css = (v: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(v).trim() || fallback;

function theme() {
  return {
    fg: css('--vscode-editor-foreground', '#333'),
    bg: css('--vscode-editor-background', '#fff'),
    node: css('--vscode-editorWidget-background', '#eee'),
    border: css('--vscode-editorWidget-border', css('--vscode-contrastBorder', '#888')),
    focus: css('--vscode-focusBorder', '#07f'),
    muted: css('--vscode-disabledForeground', '#888'),
    font: css('--vscode-font-family', 'sans-serif'),
    type: (t: NsType) => css(TYPE_COLOURS[t], '#888'),
  };
}

function styles(): cytoscape.StylesheetJson {
  const t = theme();
  return [
    // Labels too small to read at the current zoom are not drawn (zoom in to read them): a map of hundreds draws fast.
    { selector: 'node', style: { label: 'data(label)', color: t.fg, 'font-family': t.font, 'font-size': 11, 'min-zoomed-font-size': 6, 'text-valign': 'bottom', 'text-margin-y': 4, 'background-color': t.node, 'border-width': 1, 'border-color': t.border } },
    { selector: 'node.member', style: { shape: 'round-rectangle', width: 36, height: 24 } },
    { selector: 'node.host', style: { shape: 'diamond', width: 40, height: 40, 'border-width': 2, 'font-weight': 'bold' } },
    { selector: 'node.sidecar', style: { 'border-style': 'dashed', 'border-width': 2 } },
    { selector: 'node.stopped', style: { opacity: 0.4 } },
    ...NS_TYPES.map((ty) => ({ selector: `node.ns-${ty}`, style: { shape: 'ellipse' as const, width: 16, height: 16, 'background-color': t.type(ty), 'border-width': 0, 'font-size': 9, color: t.fg } })),
    ...NS_TYPES.map((ty) => ({ selector: `edge.ns-${ty}`, style: { 'line-color': t.type(ty), width: 2 } })),
    { selector: 'edge.sidecar-of', style: { 'line-style': 'dashed', 'line-color': t.muted, 'target-arrow-shape': 'triangle', 'target-arrow-color': t.muted, 'curve-style': 'bezier', label: 'sidecar', 'font-size': 9, color: t.muted } },
    { selector: 'node:selected', style: { 'border-color': t.focus, 'border-width': 3 } },
  ];
}

const cy = cytoscape({ container: graphBox, style: styles(), wheelSensitivity: 0.3, minZoom: 0.2, maxZoom: 3 });
/** The loners' grid: column and row spacing, room for a name under each node. */
const COL = 110;
const ROW = 60;
/** Members set in the grid below the graph because they share nothing shown. */
const loners = new Set<string>();
// A handle for people inspecting the page with the webview developer tools (and for the e2e tests).
(window as unknown as { sidecarMap: cytoscape.Core }).sidecarMap = cy;

function visible(g: MapGraph): { members: MapMember[]; namespaces: MapNamespace[] } {
  const members = g.members.filter((m) => m.kind === 'host' || m.state === 'running' || m.state === 'paused' || m.state === 'restarting' || state.showStopped);
  const shown = new Set(members.map((m) => m.id));
  const namespaces = g.namespaces.filter((n) => state.types.includes(n.type) && (n.members.length > 1 || state.showPrivate) && n.members.every((m) => shown.has(m)));
  return { members, namespaces };
}

const nameOf = (id: string) => graph.members.find((m) => m.id === id)?.name ?? id.slice(0, 12);
const nsLabel = (n: MapNamespace) => `${n.type}${n.host ? ' (host)' : ''}${n.inode !== undefined ? `:[${n.inode}]` : ''}`;

function render(): void {
  const v = visible(graph);
  const want = new Map<string, cytoscape.ElementDefinition>();
  for (const m of v.members) {
    const live = m.kind === 'host' || m.state === 'running' || m.state === 'paused';
    want.set(m.id, { group: 'nodes', data: { id: m.id, label: m.kind === 'sidecar' ? `${m.name} (sidecar)` : m.name }, classes: ['member', m.kind, live ? 'live' : 'stopped'].join(' ') });
  }
  for (const n of v.namespaces) {
    const nid = `ns:${n.id}`;
    want.set(nid, { group: 'nodes', data: { id: nid, label: nsLabel(n) }, classes: `ns ns-${n.type}` });
    for (const m of n.members) want.set(`${nid}>${m}`, { group: 'edges', data: { id: `${nid}>${m}`, source: m, target: nid }, classes: `ns-${n.type}` });
  }
  for (const m of v.members) {
    if (m.target && want.has(m.target)) want.set(`sc:${m.id}`, { group: 'edges', data: { id: `sc:${m.id}`, source: m.id, target: m.target }, classes: 'sidecar-of' });
  }
  // Keep the elements that stay, so their positions do not move.
  cy.batch(() => {
    cy.elements().forEach((e) => {
      const w = want.get(e.id());
      if (!w) {
        loners.delete(e.id());
        e.remove();
      }
      else {
        // Only what changed: each set makes cytoscape restyle the element.
        const label = (w.data as { label?: string }).label;
        if (e.data('label') !== label) e.data('label', label);
        if (e.scratch('classes') !== w.classes) {
          e.scratch('classes', w.classes);
          e.classes(w.classes as string);
        }
      }
    });
  });
  const fresh = [...want.values()].filter((w) => cy.getElementById(w.data.id!).empty());
  const firstLayout = cy.nodes().empty();
  const added = cy.add(fresh);
  added.forEach((e) => {
    e.scratch('classes', want.get(e.id())!.classes);
  });
  const drawn = seq;
  const done = () => {
    updateStatus(v);
    // cytoscape paints in its own animation frame, requested before ours: after this frame the graph is on screen.
    requestAnimationFrame(() => setTimeout(() => {
      // Also a performance mark, so a benchmark watching from outside reads when the page had drawn.
      performance.mark('sidecar-map-drawn', { detail: { members: v.members.length } });
      vscode.postMessage({ type: 'rendered', seq: drawn, members: v.members.length, namespaces: v.namespaces.length, at: Date.now() } satisfies MapToHost);
    }));
  };
  // Members placed in the loners' grid that now share something move to the graph too.
  const rejoined = cy.nodes('.member').filter((n) => loners.has(n.id()) && n.degree(false) > 0);
  if (added.nodes().empty() && rejoined.empty()) return done();
  if (firstLayout) return firstPlacement(done);
  const movers = added.nodes().union(rejoined);
  // New nodes start next to a neighbour; the old ones stay where they are.
  const old = cy.nodes().not(movers);
  const alone = movers.filter((n) => (n as cytoscape.NodeSingular).degree(false) === 0);
  const bb = cy.nodes().filter((n) => loners.has(n.id()) || n.degree(false) > 0).not(movers).boundingBox({});
  alone.forEach((n, i) => {
    loners.add(n.id());
    (n as cytoscape.NodeSingular).position({ x: bb.x1 + (i % 10) * COL, y: bb.y2 + 60 + Math.floor(i / 10) * ROW });
  });
  const joined = movers.not(alone);
  joined.forEach((n) => {
    loners.delete(n.id());
  });
  if (joined.empty()) return done();
  joined.forEach((n) => {
    const anchor = n.neighborhood('node').filter((x) => old.contains(x)).first() as cytoscape.NodeSingular;
    const p = anchor.nonempty() ? anchor.position() : { x: bb.x1, y: bb.y1 };
    n.position({ x: p.x + (Math.random() - 0.5) * 80, y: p.y + (Math.random() - 0.5) * 80 });
  });
  // Only the connected part moves through the force layout; everything already placed is locked.
  const part = joined.union(joined.neighborhood()).union(old.filter((n) => (n as cytoscape.NodeSingular).degree(false) > 0));
  old.lock();
  const layout = part.layout({ name: 'cose', animate: false, randomize: false, fit: false, nodeDimensionsIncludeLabels: true, numIter: 300 } as cytoscape.LayoutOptions);
  layout.one('layoutstop', () => {
    old.unlock();
    unstack(joined);
    done();
  });
  layout.run();
}

/**
 * Moves each new node off any node it landed on: the force layout cannot move
 * the locked old nodes, and may leave a new one on top of one of them (a click
 * there would then hit the wrong container).
 */
function unstack(movers: cytoscape.NodeCollection): void {
  const hits = (a: cytoscape.BoundingBox12, b: cytoscape.BoundingBox12) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
  movers.forEach((n) => {
    for (let i = 0; i < 50; i++) {
      const box = n.boundingBox({ includeLabels: false });
      if (!cy.nodes().some((o) => !o.same(n) && hits(box, o.boundingBox({ includeLabels: false })))) return;
      n.position({ x: n.position('x') + COL / 2, y: n.position('y') + ROW / 2 });
    }
  });
}

/**
 * The first drawing: members joined by a shown namespace go through the
 * force layout; members that share nothing (most, on a busy engine) are
 * set in a grid below, which costs nothing and reads better.
 */
function firstPlacement(done: () => void): void {
  const alone = cy.nodes().filter((n) => n.degree(false) === 0);
  alone.forEach((n) => {
    loners.add(n.id());
  });
  const joined = cy.elements().not(alone);
  const placeLoners = () => {
    const bb = joined.nonempty() ? joined.boundingBox({}) : { x1: 0, x2: 0, y1: 0, y2: -70, w: 0 };
    // As many columns as make the grid about as wide as the box is, relative to its height.
    const box = { w: cy.width(), h: cy.height() };
    const aspect = box.w > 0 && box.h > 0 ? box.w / box.h : 1.6;
    const cols = Math.max(6, Math.round(Math.max(bb.w / COL, Math.sqrt((alone.length * aspect * ROW) / COL))));
    const top = bb.y2 + 70;
    cy.batch(() => {
      alone.forEach((n, i) => {
        n.position({ x: bb.x1 + (i % cols) * COL, y: top + Math.floor(i / cols) * ROW });
      });
    });
    // Fit to extents known from the grid: cy.fit() would measure every label first.
    const rows = Math.ceil(alone.length / cols);
    fitTo({
      x1: bb.x1 - COL / 2, x2: Math.max(bb.x2, bb.x1 + (Math.min(cols, alone.length) - 0.5) * COL),
      y1: joined.nonempty() ? bb.y1 : top - ROW / 2, y2: alone.length ? top + (rows - 0.5) * ROW : bb.y2,
    });
    done();
  };
  if (joined.empty()) return placeLoners();
  const layout = joined.layout({ name: 'cose', animate: false, randomize: true, fit: false, nodeDimensionsIncludeLabels: true, numIter: 300 } as cytoscape.LayoutOptions);
  layout.one('layoutstop', placeLoners);
  layout.run();
}

/** Zoom and pan so that the model box fits the view with a margin (what cy.fit does, without measuring). */
function fitTo(b: { x1: number; x2: number; y1: number; y2: number }, pad = 20): void {
  const w = cy.width();
  const h = cy.height();
  if (w <= 0 || h <= 0) return; // the table view is shown: the graph is fitted when asked
  const zoom = Math.min(cy.maxZoom(), Math.max(cy.minZoom(), Math.min((w - 2 * pad) / Math.max(1, b.x2 - b.x1), (h - 2 * pad) / Math.max(1, b.y2 - b.y1))));
  cy.viewport({ zoom, pan: { x: (w - zoom * (b.x1 + b.x2)) / 2, y: (h - zoom * (b.y1 + b.y2)) / 2 } });
}

function updateStatus(v: { members: MapMember[]; namespaces: MapNamespace[] }): void {
  const containers = v.members.filter((m) => m.kind !== 'host').length;
  status.textContent = `${containers} container${containers === 1 ? '' : 's'}, ${v.namespaces.length} namespace${v.namespaces.length === 1 ? '' : 's'} shown (${state.types.join(', ') || 'no types'})${graph.reason ? `. Inodes unknown: ${graph.reason}` : ''}`;
  renderTable(v);
}

function renderTable(v: { members: MapMember[]; namespaces: MapNamespace[] }): void {
  const wasHidden = graphBox.hidden;
  graphBox.hidden = state.table;
  tableBox.hidden = !state.table;
  if (!state.table) {
    // cytoscape measured a hidden (zero-size) box: tell it the real size again, or clicks miss.
    if (wasHidden) cy.resize();
    return tableBox.replaceChildren();
  }
  const member = (id: string) => (isHostId(id) ? h('span', {}, nameOf(id)) : h('button', { class: 'link', onclick: () => act('reveal', id), 'aria-label': `Reveal ${nameOf(id)} in the Containers view` }, nameOf(id)));
  tableBox.replaceChildren(h('table', { id: 'ns-table-data' },
    h('caption', {}, 'Namespaces and their members'),
    h('thead', {}, h('tr', {}, ['Type', 'Inode', 'Host', 'Members'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, v.namespaces.map((n) => h('tr', { 'data-ns': n.id },
      h('td', {}, n.type), h('td', {}, n.inode === undefined ? 'unknown' : String(n.inode)), h('td', {}, n.host ? 'yes' : 'no'),
      h('td', {}, ...n.members.flatMap((m, i) => [i ? ', ' : '', member(m)])))))));
}

function act(action: MapAction, id: string): void {
  vscode.postMessage({ type: 'action', action, id });
}

function setState(s: MapViewState): void {
  state = s;
  vscode.setState(s);
  vscode.postMessage({ type: 'state', state: s });
  renderToolbar();
  render();
}

function renderToolbar(): void {
  const check = (label: string, on: boolean, change: (v: boolean) => void, title?: string) =>
    h('label', { title }, h('input', { type: 'checkbox', checked: on, onchange: (e: Event) => change((e.target as HTMLInputElement).checked) }), ` ${label}`);
  toolbar.replaceChildren(
    h('fieldset', {}, h('legend', {}, 'Namespace types'),
      ...NS_TYPES.map((t) => check(t, state.types.includes(t), (on) => setState({ ...state, types: on ? NS_TYPES.filter((x) => x === t || state.types.includes(x)) : state.types.filter((x) => x !== t) })))),
    check('Private namespaces', state.showPrivate, (on) => setState({ ...state, showPrivate: on }), 'Also show namespaces that only one member uses'),
    check('Stopped containers', state.showStopped, (on) => setState({ ...state, showStopped: on }), 'Show stopped containers, dimmed'),
    h('button', { onclick: () => setState({ ...state, table: !state.table }), 'aria-pressed': String(state.table) }, state.table ? 'Show graph' : 'Show table'),
    h('button', { onclick: () => cy.fit(undefined, 20) }, 'Fit'),
    h('button', { onclick: () => exportSvg() }, 'Export SVG'),
    h('button', { onclick: () => vscode.postMessage({ type: 'export', format: 'png', data: cy.png({ full: true, bg: theme().bg, output: 'base64uri', scale: 2 }) }) }, 'Export PNG'),
  );
}

/** An SVG of what is drawn, from the layout's positions: shapes, lines and labels only. */
function exportSvg(): void {
  const t = theme();
  const bb = cy.elements().boundingBox({ includeLabels: true });
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const parts: string[] = [];
  cy.edges().forEach((e) => {
    const s = e.source().position();
    const d = e.target().position();
    parts.push(`<line x1="${s.x}" y1="${s.y}" x2="${d.x}" y2="${d.y}" stroke="${esc(String(e.style('line-color')))}" stroke-width="2"${e.hasClass('sidecar-of') ? ' stroke-dasharray="4 3"' : ''}/>`);
  });
  cy.nodes().forEach((n) => {
    const p = n.position();
    const w = n.width();
    const ht = n.height();
    const fill = esc(String(n.style('background-color')));
    const op = n.hasClass('stopped') ? ' opacity="0.4"' : '';
    parts.push(n.hasClass('ns')
      ? `<circle cx="${p.x}" cy="${p.y}" r="${w / 2}" fill="${fill}"${op}/>`
      : `<rect x="${p.x - w / 2}" y="${p.y - ht / 2}" width="${w}" height="${ht}" rx="4" fill="${fill}" stroke="${esc(t.border)}"${n.hasClass('sidecar') ? ' stroke-dasharray="4 3"' : ''}${op}/>`);
    parts.push(`<text x="${p.x}" y="${p.y + ht / 2 + 12}" text-anchor="middle" font-size="${n.hasClass('ns') ? 9 : 11}" fill="${esc(t.fg)}"${op}>${esc(String(n.data('label') ?? ''))}</text>`);
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${bb.x1 - 10} ${bb.y1 - 10} ${bb.w + 20} ${bb.h + 20}" font-family="${esc(t.font)}"><rect x="${bb.x1 - 10}" y="${bb.y1 - 10}" width="${bb.w + 20}" height="${bb.h + 20}" fill="${esc(t.bg)}"/>${parts.join('')}</svg>`;
  vscode.postMessage({ type: 'export', format: 'svg', data: svg });
}

// ---- interaction ----

cy.on('tap', 'node.member', (e) => {
  const id = e.target.id() as string;
  if (!isHostId(id)) act('reveal', id);
});

/** What a node is, for its hover and for the keyboard's announcement. */
function describe(id: string): string {
  if (id.startsWith('ns:')) {
    const ns = graph.namespaces.find((x) => `ns:${x.id}` === id);
    return ns ? `${ns.type} namespace\nInode: ${ns.inode ?? 'unknown'}\nMembers: ${ns.members.map(nameOf).join(', ')}` : id;
  }
  const m = graph.members.find((x) => x.id === id);
  const joined = graph.namespaces.filter((x) => state.types.includes(x.type) && x.members.includes(id) && x.members.length > 1).map((x) => `${x.type} with ${x.members.filter((y) => y !== id).map(nameOf).join(', ')}`);
  return m ? `${m.name} (${m.kind}${m.kind === 'host' ? '' : `, ${m.state}`}${m.health ? `, ${m.health}` : ''})${m.image ? `\nImage: ${m.image}` : ''}${m.target ? `\nSidecar of ${nameOf(m.target)}` : ''}${joined.length ? `\nShares: ${joined.join('; ')}` : ''}` : id;
}

cy.on('mouseover', 'node', (e) => {
  const n = e.target as cytoscape.NodeSingular;
  const p = n.renderedPosition();
  tip.textContent = describe(n.id());
  tip.style.left = `${p.x + 16}px`;
  tip.style.top = `${p.y + graphBox.offsetTop + 16}px`;
  tip.hidden = false;
});
cy.on('mouseout', 'node', () => (tip.hidden = true));

function openMenu(id: string, p: cytoscape.Position): void {
  const m = graph.members.find((x) => x.id === id);
  const running = m?.state === 'running';
  const item = (label: string, a: MapAction, enabled = true) => h('button', { role: 'menuitem', disabled: !enabled, tabindex: -1, onclick: () => { closeMenu(); act(a, id); } }, label);
  menu.replaceChildren(
    item('Reveal in Containers View', 'reveal'), item('Show Details', 'details'),
    item('Attach Debugger Container', 'attach', running), item('Open Container in Explorer', 'files', running), item('Open Shell', 'shell', running));
  menu.setAttribute('aria-label', `Actions for ${nameOf(id)}`);
  menu.style.left = `${p.x}px`;
  menu.style.top = `${p.y + graphBox.offsetTop}px`;
  menu.hidden = false;
  (menu.firstElementChild as HTMLElement | null)?.focus();
}

/** Closes the menu; focus goes back to the map if it was in the menu. */
function closeMenu(): void {
  const had = menu.contains(document.activeElement);
  menu.hidden = true;
  if (had) graphBox.focus();
}

cy.on('cxttap', 'node.member', (e) => {
  const id = e.target.id() as string;
  if (!isHostId(id)) openMenu(id, e.renderedPosition ?? e.target.renderedPosition());
});
// The menu is a menu for the keyboard too: arrows move between its enabled items.
menu.addEventListener('keydown', (e) => {
  const items = [...menu.querySelectorAll<HTMLButtonElement>('button:not(:disabled)')];
  const i = items.indexOf(document.activeElement as HTMLButtonElement);
  const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: items.length - 1 }[e.key];
  if (to !== undefined && items.length) {
    e.preventDefault();
    items[(to + items.length) % items.length].focus();
  } else if (e.key === 'Tab') closeMenu();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') closeMenu();
});
document.addEventListener('click', (e) => {
  if (!menu.contains(e.target as Node)) menu.hidden = true;
});

// ---- keyboard on the map itself ----

/** The node the keyboard is on: selected, kept in view, and named for screen readers. */
function keyTo(n: cytoscape.NodeSingular): void {
  cy.$(':selected').unselect();
  n.select();
  // Labels are not drawn when zoomed far out: come close enough to read them.
  if (cy.zoom() < 0.8) cy.zoom(1);
  const p = n.renderedPosition();
  if (p.x < 30 || p.y < 30 || p.x > cy.width() - 30 || p.y > cy.height() - 30) cy.center(n);
  focusNote.textContent = describe(n.id()).replace(/\n/g, '. ');
}

/** The nearest node from `from` in direction (dx, dy), preferring ones straight ahead. */
function nearestToward(from: cytoscape.NodeSingular, dx: number, dy: number): cytoscape.NodeSingular | undefined {
  const p = from.position();
  let best: cytoscape.NodeSingular | undefined;
  let score = Infinity;
  cy.nodes().forEach((n) => {
    if (n.same(from)) return;
    const q = n.position();
    const ahead = (q.x - p.x) * dx + (q.y - p.y) * dy;
    if (ahead <= 0) return;
    const aside = Math.abs((q.x - p.x) * dy - (q.y - p.y) * dx);
    if (ahead + 2 * aside < score) {
      score = ahead + 2 * aside;
      best = n;
    }
  });
  return best;
}

/** In reading order: top to bottom, then left to right. */
const readingOrder = () => (cy.nodes('.member').toArray() as cytoscape.NodeSingular[]).sort((a, b) => a.position().y - b.position().y || a.position().x - b.position().x);

let typed = '';
let typedAt = 0;
graphBox.addEventListener('keydown', (e) => {
  if (e.target !== graphBox || e.altKey || e.ctrlKey || e.metaKey) return;
  const current = cy.$('node:selected').first() as cytoscape.NodeSingular;
  const dir = ({ ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] } as Record<string, [number, number]>)[e.key];
  let handled = true;
  // Any other key ends a typed name, as in VS Code's lists.
  if (e.key.length !== 1) typed = '';
  if (dir) {
    const next = current.nonempty() ? nearestToward(current, ...dir) : readingOrder()[0];
    if (next) keyTo(next);
  } else if (e.key === 'Home' || e.key === 'End') {
    const all = readingOrder();
    if (all.length) keyTo(e.key === 'Home' ? all[0] : all[all.length - 1]);
  } else if ((e.key === 'Enter' || e.key === ' ') && current.nonempty()) {
    if (current.hasClass('member') && !isHostId(current.id())) act('reveal', current.id());
  } else if ((e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey)) && current.nonempty()) {
    if (current.hasClass('member') && !isHostId(current.id())) openMenu(current.id(), current.renderedPosition());
  } else if (e.key.length === 1 && e.key !== ' ') {
    // Type-ahead, as in VS Code's lists: the typed text jumps to the next member whose name starts with it.
    typed = Date.now() - typedAt > 1000 ? e.key : typed + e.key;
    typedAt = Date.now();
    const all = readingOrder();
    const match = (n: cytoscape.NodeSingular) => nameOf(n.id()).toLowerCase().startsWith(typed.toLowerCase());
    const at = all.findIndex((n) => n.same(current));
    // A new first letter moves on to the next match; more letters refine the current one.
    const from = at < 0 ? 0 : typed.length === 1 ? at + 1 : at;
    const hit = [...all.slice(from), ...all.slice(0, from)].find(match);
    if (hit) keyTo(hit);
  } else handled = false;
  if (handled) e.preventDefault();
});

// Theme switches change the CSS variables; cytoscape needs resolved colours.
new MutationObserver(() => cy.style(styles())).observe(document.body, { attributes: true, attributeFilter: ['class'] });

function onHostMessage(data: unknown): void {
  const m = parseHostToMap(data);
  if (!m) return;
  if (m.type === 'state') {
    if (!isMapViewState(saved)) state = m.state;
    renderToolbar();
    return;
  }
  graph = m.graph;
  seq = m.seq;
  render();
}

window.addEventListener('message', (ev: MessageEvent) => onHostMessage(ev.data));

/** The messages the host put into the page (pageHtml's `inline`), untrusted like any other. */
function inlineMessages(): unknown[] {
  try {
    const x: unknown = JSON.parse(document.getElementById('inline')?.textContent || '[]');
    return Array.isArray(x) ? x : [];
  } catch {
    return [];
  }
}

renderToolbar();
const inline = inlineMessages();
const have = inline.map(parseHostToMap).find((m) => m?.type === 'graph');
// Say ready before drawing, so the host's answer travels while the page draws.
vscode.postMessage({ type: 'ready', ...(have?.type === 'graph' ? { have: have.seq } : {}) } satisfies MapToHost);
for (const m of inline) onHostMessage(m);
