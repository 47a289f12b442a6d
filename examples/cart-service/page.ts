/**
 * The cluster page (`GET /` or `/cluster`): the ring as an SVG (each arc a run of partitions
 * owned by one member), the members and their status, hints pending, metrics, and where a
 * chosen key's replicas live. Plain HTML, one stylesheet and one script served by this same
 * process (`/cluster.css`, `/cluster.js`, `/favicon.svg`): nothing inline and nothing external, so the page
 * runs under a strict Content-Security-Policy ({@link CLUSTER_CSP}). The script polls the
 * JSON API every second: `/members`, `/health`, `/metrics`, `/ring` and `/placement?key=`.
 * @module
 */

/** The Content-Security-Policy the page is served with: only this origin, nothing inline. */
export const CLUSTER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The page itself. */
export const CLUSTER_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cart-service cluster</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/cluster.css">
<script src="/cluster.js" defer></script>
</head>
<body>
<header>
  <h1>cart-service cluster</h1>
  <p>as member <b id="self">…</b> sees it · <span id="updated" class="muted">connecting…</span></p>
</header>
<main>
  <section id="ring-section">
    <h2>Ring</h2>
    <p class="muted"><span id="q">…</span> equal partitions of the hash space, partition 0 at the top, clockwise; each arc of the outer band is a run of partitions one member owns; the inner band is each member's share. A key's replicas are the first N distinct owners met clockwise from its partition (the strip below the ring, once a key is looked up).</p>
    <svg id="ring" viewBox="0 0 560 416" width="560" height="416" role="img" aria-label="the ring: partition owners"></svg>
  </section>
  <section>
    <h2>Members</h2>
    <table id="members">
      <thead><tr><th>member</th><th>address</th><th>status</th><th>vnodes</th><th>partitions</th></tr></thead>
      <tbody></tbody>
    </table>
    <p>hints pending on this member: <b id="hints">–</b></p>
  </section>
  <section>
    <h2>Where a key lives</h2>
    <form id="placement-form">
      <label for="key">key</label>
      <input id="key" name="key" value="cart:alice" autocomplete="off" spellcheck="false">
      <button type="submit">Look up</button>
      <span class="muted">a cart's key is <code>cart:&lt;id&gt;</code></span>
    </form>
    <div id="placement"></div>
  </section>
  <section>
    <h2>Metrics</h2>
    <table id="operations">
      <thead><tr><th>operation</th><th>count</th><th>errors</th><th>mean ms</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th></tr></thead>
      <tbody></tbody>
    </table>
    <table id="counters"><thead><tr><th>counter</th><th>value</th></tr></thead><tbody></tbody></table>
  </section>
</main>
</body>
</html>
`;

/** The page's icon, a ring of three arcs (so the browser asks for no /favicon.ico). */
export const CLUSTER_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" fill="none" stroke-width="6">
<path d="M16 3 A13 13 0 0 1 27.3 22.5" stroke="#4e79a7"/>
<path d="M27.3 22.5 A13 13 0 0 1 4.7 22.5" stroke="#f28e2b"/>
<path d="M4.7 22.5 A13 13 0 0 1 16 3" stroke="#59a14f"/>
</svg>
`;

/** The page's stylesheet. */
export const CLUSTER_CSS = `
:root { font-family: system-ui, sans-serif; color: #222; background: #fafafa; }
body { margin: 0 auto; max-width: 1100px; padding: 0 16px 32px; }
h1 { font-size: 1.4rem; margin: 16px 0 4px; }
h2 { font-size: 1.1rem; margin: 20px 0 6px; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 0 32px; }
section { min-width: 0; }
.muted { color: #666; font-size: 0.9rem; }
.error { color: #b00020; font-weight: 600; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 0.9rem; }
th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid #e4e4e4; }
td.num, th.num { text-align: right; }
.status-up { color: #1b7f2a; font-weight: 600; }
.status-down { color: #b00020; font-weight: 600; }
.status-leaving { color: #a06000; font-weight: 600; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em; vertical-align: -0.05em; border-radius: 2px; }
.swatch.c0 { background: #4e79a7; } .swatch.c1 { background: #f28e2b; } .swatch.c2 { background: #59a14f; }
.swatch.c3 { background: #e15759; } .swatch.c4 { background: #76b7b2; } .swatch.c5 { background: #edc948; }
.swatch.c6 { background: #b07aa1; } .swatch.c7 { background: #ff9da7; } .swatch.c8 { background: #9c755f; }
.swatch.c9 { background: #bab0ac; }
#ring { display: block; max-width: 100%; height: auto; background: #fff; border: 1px solid #e4e4e4; border-radius: 6px; }
#ring text { font-size: 13px; fill: #222; }
#ring .center { font-size: 12px; fill: #666; }
#ring .cell-label { font-size: 11px; fill: #fff; }
form { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
input { font: inherit; padding: 3px 6px; width: 16em; }
ol { margin: 8px 0; }
`;

/** The page's script: polls the API every second and redraws what changed. */
export const CLUSTER_JS = `'use strict';
(() => {
  const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const CX = 180, CY = 180, R_OUT = 160, R_IN = 112, R_SHARE_OUT = 104, R_SHARE_IN = 92;
  const STRIP = 24, STRIP_X = 20, STRIP_Y = 378, CELL = 21;
  const $ = (id) => document.getElementById(id);

  let members = [];          // [{ id, address, status, vnodes }] from /members
  let ring;                  // { partitions, owners, counts, version } from /ring
  let placement;             // { key, position, partition, owners } from /placement
  let placementKey = '';     // the key the form last asked about
  let drawn = '';            // what the SVG shows now, to redraw only on change
  const colorIndex = new Map();

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const child of children) node.append(child);
    return node;
  }
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const child of children) node.append(child);
    return node;
  }
  async function getJson(path) {
    const response = await fetch(path, { cache: 'no-store', headers: { accept: 'application/json' } });
    const body = await response.json();
    // /health answers 503 with a body while the member shuts down: still worth showing.
    if (!response.ok && (body === null || typeof body !== 'object' || body.id === undefined)) {
      throw new Error(body && body.error ? body.error : 'HTTP ' + response.status);
    }
    return body;
  }

  /** A stable colour per member id: ids sorted, assigned once. */
  function colorOf(id) {
    if (!colorIndex.has(id)) colorIndex.set(id, colorIndex.size % PALETTE.length);
    return colorIndex.get(id);
  }
  function statusOf(id) {
    const m = members.find((x) => x.id === id);
    return m ? m.status : 'unknown';
  }
  function swatch(id) {
    return el('span', { class: 'swatch c' + colorOf(id) });
  }
  function statusSpan(status) {
    return el('span', { class: 'status status-' + status }, status);
  }

  // ---- the ring -----------------------------------------------------------------------
  function point(r, fraction) {
    const a = fraction * 2 * Math.PI - Math.PI / 2;
    return (CX + r * Math.cos(a)).toFixed(2) + ' ' + (CY + r * Math.sin(a)).toFixed(2);
  }
  /** An annular sector from fraction f0 to f1 of the circle (0 = top, clockwise). */
  function sector(f0, f1, rOut = R_OUT, rIn = R_IN) {
    const large = f1 - f0 > 0.5 ? 1 : 0;
    return 'M ' + point(rOut, f0) + ' A ' + rOut + ' ' + rOut + ' 0 ' + large + ' 1 ' + point(rOut, f1) +
      ' L ' + point(rIn, f1) + ' A ' + rIn + ' ' + rIn + ' 0 ' + large + ' 0 ' + point(rIn, f0) + ' Z';
  }
  /** Sectors f0..f1, split in halves when the span is the whole circle. */
  function sectors(f0, f1, rOut, rIn) {
    return f1 - f0 >= 1 ? [sector(0, 0.5, rOut, rIn), sector(0.5, 1, rOut, rIn)] : [sector(f0, f1, rOut, rIn)];
  }
  /** Runs of consecutive partitions with one owner: [{ start, end, owner }], end exclusive. */
  function runs(owners) {
    const out = [];
    for (let p = 0; p < owners.length; p++) {
      const last = out[out.length - 1];
      if (last && last.owner === owners[p]) last.end = p + 1;
      else out.push({ start: p, end: p + 1, owner: owners[p] });
    }
    return out;
  }

  function drawRing() {
    if (!ring) return;
    const signature = [ring.version, members.map((m) => m.id + '=' + m.status).join(','), placement ? placement.key + '@' + placement.owners.join(',') : ''].join('|');
    if (signature === drawn) return;
    drawn = signature;
    const q = ring.partitions;
    const root = $('ring');
    root.replaceChildren();

    const arcs = svg('g', { class: 'arcs' });
    for (const run of runs(ring.owners)) {
      if (run.owner === '') continue;
      const down = statusOf(run.owner) === 'down';
      const attrs = {
        class: 'arc', 'data-member': run.owner, 'data-start': run.start, 'data-end': run.end,
        fill: PALETTE[colorOf(run.owner)], 'fill-opacity': down ? 0.25 : 1,
      };
      // One owner for the whole ring gives two half sectors, as one arc cannot close a circle.
      for (const d of sectors(run.start / q, run.end / q, R_OUT, R_IN)) {
        arcs.append(svg('path', { ...attrs, d }, svg('title', {}, run.owner + ': partitions ' + run.start + '–' + (run.end - 1))));
      }
    }
    root.append(arcs);

    const shares = svg('g', { class: 'shares' });
    let at = 0;
    for (const id of Object.keys(ring.counts).sort()) {
      const f0 = at / q;
      at += ring.counts[id];
      for (const d of sectors(f0, at / q, R_SHARE_OUT, R_SHARE_IN)) {
        shares.append(svg('path', { class: 'share', 'data-member': id, d, fill: PALETTE[colorOf(id)], 'fill-opacity': statusOf(id) === 'down' ? 0.25 : 1 },
          svg('title', {}, id + ' owns ' + ring.counts[id] + ' of ' + q + ' partitions')));
      }
    }
    root.append(shares);
    root.append(svg('text', { x: CX, y: CY - 6, 'text-anchor': 'middle', class: 'center' }, q + ' partitions'));
    root.append(svg('text', { x: CX, y: CY + 12, 'text-anchor': 'middle', class: 'center' }, members.length + ' members'));

    if (placement) {
      const f = placement.position / 4294967296;
      root.append(svg('line', {
        class: 'key-marker', x1: point(R_IN - 14, f).split(' ')[0], y1: point(R_IN - 14, f).split(' ')[1],
        x2: point(R_OUT + 10, f).split(' ')[0], y2: point(R_OUT + 10, f).split(' ')[1], stroke: '#222', 'stroke-width': 2,
      }, svg('title', {}, placement.key + ': partition ' + placement.partition)));
    }

    const legend = svg('g', { class: 'legend' });
    const ids = [...new Set([...members.map((m) => m.id), ...Object.keys(ring.counts)])].sort();
    ids.forEach((id, i) => {
      const status = statusOf(id);
      const count = ring.counts[id] || 0;
      const y = 30 + i * 24;
      legend.append(svg('g', { class: 'legend-entry', 'data-member': id, 'data-status': status },
        svg('rect', { x: 352, y: y - 11, width: 14, height: 14, rx: 2, fill: PALETTE[colorOf(id)], 'fill-opacity': status === 'down' ? 0.25 : 1 }),
        svg('text', { x: 372, y }, id + ' · ' + status + ' · ' + count + ' (' + (100 * count / q).toFixed(1) + '%)')));
    });
    if (placement) {
      legend.append(svg('text', { x: 352, y: 40 + ids.length * 24, class: 'center' }, '| ' + placement.key));
    }
    root.append(legend);
    if (placement) root.append(strip(q));
  }

  /** The partitions from the key's, clockwise: the first cell of each new owner is a replica. */
  function strip(q) {
    const group = svg('g', { class: 'strip' });
    const seen = new Set();
    for (let i = 0; i < STRIP; i++) {
      const p = (placement.partition + i) % q;
      const owner = ring.owners[p];
      const replica = seen.size < placement.owners.length && owner !== '' && !seen.has(owner);
      if (replica) seen.add(owner);
      const x = STRIP_X + i * CELL;
      group.append(svg('rect', {
        class: replica ? 'cell replica' : 'cell', 'data-partition': p, 'data-member': owner, x, y: STRIP_Y, width: CELL - 3, height: 22, rx: 2,
        fill: owner === '' ? '#ddd' : PALETTE[colorOf(owner)], 'fill-opacity': statusOf(owner) === 'down' ? 0.25 : 1,
        stroke: replica ? '#222' : 'none', 'stroke-width': 2,
      }, svg('title', {}, 'partition ' + p + ': ' + owner + (replica ? ' (replica ' + seen.size + ')' : ''))));
      group.append(svg('text', { x: x + (CELL - 3) / 2, y: STRIP_Y + 15, 'text-anchor': 'middle', class: 'cell-label' }, owner));
    }
    group.append(svg('text', { x: STRIP_X, y: STRIP_Y - 8, class: 'center' },
      'partitions ' + placement.partition + '… clockwise from ' + placement.key + '; outlined: its ' + placement.owners.length + ' replicas'));
    return group;
  }

  // ---- the tables ---------------------------------------------------------------------
  function drawMembers() {
    const rows = members.map((m) => el('tr', { 'data-member': m.id, 'data-status': m.status },
      el('td', {}, swatch(m.id), m.id + (m.id === $('self').textContent ? ' (this one)' : '')),
      el('td', {}, m.address),
      el('td', { class: 'status status-' + m.status }, m.status),
      el('td', { class: 'num' }, String(m.vnodes)),
      el('td', { class: 'num' }, ring ? String(ring.counts[m.id] || 0) : '')));
    $('members').tBodies[0].replaceChildren(...rows);
  }

  function drawPlacement(error) {
    const box = $('placement');
    if (error) return box.replaceChildren(el('p', { class: 'error' }, error));
    if (!placement) return box.replaceChildren();
    box.replaceChildren(
      el('p', {}, el('code', {}, placement.key), ' is at position 0x' + placement.position.toString(16).padStart(8, '0') +
        ', partition ' + placement.partition + '; its ' + placement.owners.length + ' replicas, in preference order:'),
      el('ol', { id: 'placement-owners' }, ...placement.owners.map((id) =>
        el('li', { 'data-member': id }, swatch(id), id + ' ', statusSpan(statusOf(id))))));
  }

  function ms(x) { return x === 0 ? '0' : x < 10 ? x.toFixed(2) : x.toFixed(1); }
  function drawMetrics(metrics) {
    const ops = [];
    for (const [side, table] of [['', metrics.operations], ['replica ', metrics.replica]]) {
      for (const [name, s] of Object.entries(table || {})) {
        ops.push(el('tr', { 'data-op': side + name }, el('td', {}, side + name), el('td', { class: 'num' }, String(s.count)),
          el('td', { class: 'num' }, String(s.errors)), el('td', { class: 'num' }, ms(s.mean)), el('td', { class: 'num' }, ms(s.p50)),
          el('td', { class: 'num' }, ms(s.p99)), el('td', { class: 'num' }, ms(s.max))));
      }
    }
    $('operations').tBodies[0].replaceChildren(...ops);
    const counters = Object.entries(metrics.counters || {}).sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, value]) => el('tr', { 'data-counter': name }, el('td', {}, name), el('td', { class: 'num' }, String(value))));
    $('counters').tBodies[0].replaceChildren(...counters);
  }

  // ---- polling ------------------------------------------------------------------------
  async function lookUp() {
    if (placementKey === '') {
      placement = undefined;
      return drawPlacement();
    }
    try {
      placement = await getJson('/placement?key=' + encodeURIComponent(placementKey));
      drawPlacement();
    } catch (error) {
      placement = undefined;
      drawPlacement(String(error.message || error));
    }
  }

  async function tick() {
    const [m, health, metrics, r] = await Promise.allSettled([getJson('/members'), getJson('/health'), getJson('/metrics'), getJson('/ring')]);
    if (m.status === 'fulfilled') {
      members = m.value.members.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      for (const x of members) colorOf(x.id);
    }
    if (health.status === 'fulfilled') {
      $('self').textContent = health.value.id;
      $('hints').textContent = String(health.value.hintsPending);
    }
    if (r.status === 'fulfilled') {
      ring = r.value;
      $('q').textContent = String(ring.partitions);
    }
    if (metrics.status === 'fulfilled') drawMetrics(metrics.value);
    await lookUp();
    drawMembers();
    drawRing();
    const failed = [m, health, metrics, r].find((x) => x.status === 'rejected');
    const updated = $('updated');
    if (failed) {
      updated.className = 'error';
      updated.textContent = 'cannot reach this member: ' + String(failed.reason && failed.reason.message || failed.reason) + ' (retrying)';
    } else {
      updated.className = 'muted';
      updated.textContent = 'updated ' + new Date().toLocaleTimeString();
    }
  }

  async function loop() {
    try {
      await tick();
    } catch (error) {
      $('updated').className = 'error';
      $('updated').textContent = 'page error: ' + String(error && error.message || error);
    }
    setTimeout(loop, 1000);
  }

  $('placement-form').addEventListener('submit', (event) => {
    event.preventDefault();
    placementKey = $('key').value.trim();
    void lookUp().then(drawRing);
  });
  placementKey = $('key').value.trim();
  void loop();
})();
`;
