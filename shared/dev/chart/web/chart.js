// The live chart of `feed local`: bars from /api/bars, updates from /api/events (Server-Sent Events), drawn on
// a canvas. No libraries. The canvas's data attributes say what was drawn (the browser test reads them).
'use strict';

const $ = (id) => document.getElementById(id);
const canvas = $('chart');
// held: the updates of the chart being loaded (null when none is), applied on top of what the load returns, so an
// update that arrives while /api/bars is answering is not lost when the answer replaces the bars.
const state = { symbol: '', interval: '1m', bars: [], latest: null, loading: 0, held: null, updates: 0 };
const LINES = { sma20: '#42a5f5', sma50: '#ab47bc', ema12: '#ffa726', ema26: '#26c6da' };
const STEP = 7; // pixels per bar
const nyTime = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const nyDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' });

async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
  return r.json();
}

// utc parses a bar time ("YYYY-MM-DD HH:MM:SS", UTC).
const utc = (t) => new Date(t.replace(' ', 'T') + 'Z');

// seconds is the length of an interval name ("1m", "15m", "1h"); names it cannot read sort last, as on the server.
function seconds(iv) {
  const m = /^(\d+)([smh])$/.exec(iv);
  return m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2]] : Infinity;
}
const bySymbol = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const byInterval = (a, b) => seconds(a) - seconds(b) || bySymbol(a, b);

// addOptions adds the values the picker lacks, each in its sorted place (a symbol first seen in an update goes
// where /api/meta would list it).
function addOptions(sel, values, order) {
  const have = new Set([...sel.options].map((o) => o.value));
  for (const v of values) {
    if (have.has(v)) continue;
    have.add(v);
    const before = [...sel.options].find((o) => order(o.value, v) > 0);
    sel.add(new Option(v, v), before || null);
  }
}

async function loadMeta() {
  const m = await getJSON('api/meta');
  addOptions($('symbol'), m.symbols, bySymbol);
  addOptions($('interval'), m.intervals, byInterval);
  showStats(m.stats);
  if (!state.symbol && m.symbols.length) {
    const wanted = decodeURIComponent(location.hash.slice(1));
    select(m.symbols.includes(wanted) ? wanted : m.symbols[0]);
  }
}

function showStats(s) {
  let text = s.records + ' records';
  if (s.skipped) text += ', ' + s.skipped + ' malformed skipped';
  if (s.stale) text += ', ' + s.stale + ' stale partial candles left out';
  if (s.readError) text += ' — read error: ' + s.readError;
  $('stats').textContent = text;
  $('stats').title = s.lastSkip || '';
}

function select(symbol) {
  if (symbol !== state.symbol) { state.bars = []; state.latest = null; } // never draw one symbol's bars as another's
  state.symbol = symbol;
  $('symbol').value = symbol;
  history.replaceState(null, '', '#' + encodeURIComponent(symbol));
  loadBars().catch(showError);
}

async function loadBars() {
  if (!state.symbol) return;
  const n = ++state.loading;
  state.held = [];
  const q = 'api/bars?symbol=' + encodeURIComponent(state.symbol) + '&interval=' + encodeURIComponent(state.interval);
  let r;
  try {
    r = await getJSON(q);
  } catch (err) {
    if (n === state.loading) release(); // keep what was drawn, with the updates since
    throw err;
  }
  if (n !== state.loading) return; // a newer choice is loading
  state.bars = r.bars;
  state.latest = r.latest;
  release();
}

// release applies the updates held during a load, in the order they came (the newest version of a bar last).
function release() {
  const held = state.held || [];
  state.held = null;
  for (const u of held) apply(u);
  redraw();
}

// upsert puts b into bars by time: a bar for a time already there replaces it.
function upsert(bars, b) {
  let lo = 0, hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (bars[mid].t < b.t) lo = mid + 1; else hi = mid;
  }
  if (lo < bars.length && bars[lo].t === b.t) bars[lo] = b;
  else bars.splice(lo, 0, b);
}

// apply puts an update of the chosen symbol on the chart: a bar of the chosen interval replaces the one with its
// time or is added; a minute bar at or after the latest is the latest.
function apply(u) {
  if (u.interval === '1m' && (!state.latest || u.bar.t >= state.latest.t)) state.latest = u.bar;
  if (u.interval === state.interval) upsert(state.bars, u.bar);
}

function onUpdate(u) {
  canvas.dataset.updates = ++state.updates;
  addOptions($('symbol'), [u.symbol], bySymbol);
  addOptions($('interval'), [u.interval], byInterval);
  if (!state.symbol) { select(u.symbol); return; }
  if (u.symbol !== state.symbol) return;
  if (state.held) { state.held.push(u); return; }
  apply(u);
  redraw();
}

let pending = false;
function redraw() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; showLatest(); draw(); });
}

const fmt = (v, d = 2) => (v == null ? '–' : Number(v).toFixed(d));

function showLatest() {
  const b = state.latest, el = $('latest');
  if (!b) { el.innerHTML = '<span class="muted">no bars yet for ' + esc(state.symbol) + '</span>'; return; }
  const parts = ['<b>' + esc(state.symbol) + '</b>', '<b>' + fmt(b.close) + '</b>'];
  if (b.change != null) parts.push('<span class="' + (b.change >= 0 ? 'up' : 'down') + '">' + (b.change >= 0 ? '+' : '') + fmt(b.change) + '%</span>');
  parts.push('<span class="badge ' + esc(b.indicator || 'Unknown') + '">' + esc(b.indicator || 'Unknown') + '</span>');
  parts.push('<span class="muted">' + nyDate.format(utc(b.t)) + ' ' + nyTime.format(utc(b.t)) + ' New York</span>');
  if (b.prevClose != null) parts.push('prev close ' + fmt(b.prevClose));
  for (const k of ['sma20', 'sma50', 'ema12', 'ema26', 'rsi14', 'vwapSession']) {
    if (b[k] != null) parts.push(k + ' ' + fmt(b[k]));
  }
  if (b.maCross) parts.push('<span class="' + (b.maCross === 'bullish' ? 'up' : 'down') + '">MA cross ' + esc(b.maCross) + '</span>');
  if (b.volumeAlert) parts.push('<span class="alert">◆ volume alert</span>');
  el.innerHTML = parts.join(' ');
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
}

// niceStep is a round price step giving about n grid lines over span.
function niceStep(span, n) {
  const raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function draw() {
  const dpr = window.devicePixelRatio || 1, W = canvas.clientWidth, H = canvas.clientHeight;
  canvas.width = Math.round(W * dpr);
  canvas.height = Math.round(H * dpr);
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, W, H);
  g.font = '11px system-ui, sans-serif';
  const pad = { l: 8, r: 70, t: 14, b: 24 };
  const bars = state.bars.slice(-Math.max(1, Math.floor((W - pad.l - pad.r) / STEP)));
  const prev = state.latest ? state.latest.prevClose : null;
  let markers = 0;
  const ds = canvas.dataset;
  ds.symbol = state.symbol;
  ds.interval = state.interval;
  ds.candles = bars.length;
  ds.total = state.bars.length;
  // what the whole series carries, drawn or not
  ds.crosses = state.bars.filter((b) => b.maCross).length;
  ds.alerts = state.bars.filter((b) => b.volumeAlert).length;
  ds.sma20 = state.bars.filter((b) => b.sma20 != null).length;
  if (!bars.length) {
    g.fillStyle = '#7b8794';
    g.fillText('waiting for bars…', W / 2 - 40, H / 2);
    ds.lastTime = ''; ds.lastClose = ''; ds.markers = 0;
    return;
  }
  let lo = Infinity, hi = -Infinity;
  for (const b of bars) {
    lo = Math.min(lo, b.low); hi = Math.max(hi, b.high);
    for (const k in LINES) if (b[k] != null) { lo = Math.min(lo, b[k]); hi = Math.max(hi, b[k]); }
  }
  if (prev != null) { lo = Math.min(lo, prev); hi = Math.max(hi, prev); }
  const m = (hi - lo) * 0.06 || 0.5;
  lo -= m; hi += m;
  const priceH = (H - pad.t - pad.b) * 0.78, volTop = pad.t + priceH + 10, volH = H - pad.b - volTop;
  const y = (p) => pad.t + (hi - p) / (hi - lo) * priceH;
  const x = (i) => pad.l + i * STEP + STEP / 2;

  // price grid and labels
  const step = niceStep(hi - lo, 6);
  g.strokeStyle = '#1e2833'; g.fillStyle = '#7b8794'; g.lineWidth = 1;
  for (let p = Math.ceil(lo / step) * step; p <= hi; p += step) {
    g.beginPath(); g.moveTo(pad.l, y(p)); g.lineTo(W - pad.r, y(p)); g.stroke();
    g.fillText(p.toFixed(step < 1 ? 2 : 0), W - pad.r + 6, y(p) + 4);
  }
  // time labels (New York time) every ~90 px
  const every = Math.ceil(90 / STEP);
  g.textAlign = 'center';
  for (let i = Math.ceil(every / 2); i < bars.length; i += every) g.fillText(nyTime.format(utc(bars[i].t)), x(i), H - 8);
  g.textAlign = 'left';

  // previous close
  if (prev != null) {
    g.strokeStyle = '#b0bec5'; g.setLineDash([4, 3]);
    g.beginPath(); g.moveTo(pad.l, y(prev)); g.lineTo(W - pad.r, y(prev)); g.stroke();
    g.setLineDash([]);
    g.fillStyle = '#b0bec5'; g.fillText('previous close ' + fmt(prev), pad.l + 4, y(prev) - 5);
  }

  // volume, with alerts
  const vmax = Math.max(...bars.map((b) => b.volume)) || 1;
  bars.forEach((b, i) => {
    const h = b.volume / vmax * volH;
    g.fillStyle = b.volumeAlert ? '#ffca28' : (b.close >= b.open ? '#1f5f59' : '#7a2e2d');
    g.fillRect(x(i) - STEP / 2 + 1, volTop + volH - h, STEP - 2, h);
    if (b.volumeAlert) { g.fillText('◆', x(i) - 4, volTop + volH - h - 2); markers++; }
  });

  // candles
  bars.forEach((b, i) => {
    const up = b.close >= b.open, c = up ? '#26a69a' : '#ef5350';
    g.strokeStyle = c; g.fillStyle = c;
    g.beginPath(); g.moveTo(x(i), y(b.high)); g.lineTo(x(i), y(b.low)); g.stroke();
    const top = y(Math.max(b.open, b.close)), h = Math.max(1, Math.abs(y(b.open) - y(b.close)));
    g.fillRect(x(i) - STEP / 2 + 1, top, STEP - 2, h);
  });

  // moving averages; a null value breaks the line
  for (const k in LINES) {
    g.strokeStyle = LINES[k]; g.lineWidth = 1.5; g.beginPath();
    let on = false;
    bars.forEach((b, i) => {
      if (b[k] == null) { on = false; return; }
      if (on) g.lineTo(x(i), y(b[k])); else g.moveTo(x(i), y(b[k]));
      on = true;
    });
    g.stroke();
  }
  g.lineWidth = 1;

  // MA crosses
  g.font = '13px system-ui, sans-serif';
  bars.forEach((b, i) => {
    if (b.maCross === 'bullish') { g.fillStyle = '#26a69a'; g.fillText('▲', x(i) - 5, y(b.low) + 15); markers++; }
    if (b.maCross === 'bearish') { g.fillStyle = '#ef5350'; g.fillText('▼', x(i) - 5, y(b.high) - 5); markers++; }
  });

  const last = bars[bars.length - 1];
  ds.lastTime = last.t;
  ds.lastClose = last.close;
  ds.markers = markers;
  canvas.onmousemove = (ev) => {
    const b = bars[Math.floor((ev.offsetX - pad.l) / STEP)];
    $('hover').textContent = b ? nyTime.format(utc(b.t)) + '  O ' + fmt(b.open) + '  H ' + fmt(b.high) +
      '  L ' + fmt(b.low) + '  C ' + fmt(b.close) + '  V ' + b.volume : '';
  };
}

function connect() {
  const es = new EventSource('api/events');
  es.addEventListener('open', () => {
    $('conn').textContent = '● live';
    loadMeta().then(loadBars).catch(showError); // catch up on what a reconnect missed
  });
  es.addEventListener('error', () => { $('conn').textContent = 'reconnecting…'; });
  es.addEventListener('bar', (ev) => onUpdate(JSON.parse(ev.data)));
}

function showError(err) {
  $('conn').textContent = 'error: ' + err.message;
}

$('symbol').addEventListener('change', (ev) => select(ev.target.value));
$('interval').addEventListener('change', (ev) => { state.interval = ev.target.value; state.bars = []; loadBars().catch(showError); });
window.addEventListener('resize', redraw);
setInterval(() => loadMeta().catch(showError), 5000);
connect();
