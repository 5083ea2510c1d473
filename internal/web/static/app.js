// alphad web app: one page, one event stream, every action a call of the
// JSON API (docs/api.md), each one command of the daemon. No build step,
// no dependencies.

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k != null) e.append(k.nodeType ? k : String(k));
  return e;
};
const PALETTE = ['#2563eb', '#e8590c', '#16a34a', '#9333ea', '#db2777', '#0891b2', '#ca8a04', '#4b5563'];
const BLANK = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
const pct = (x) => (x == null ? '–' : `${Math.round(x * 100)} %`);

const state = {
  classes: { names: [], counts: {} },
  settings: {},
  modelVersion: '',
  modelClasses: [],
  camera: { up: true },
  training: null,
  tab: 'live',
  recording: '',
};

const colorOf = (name) => {
  const order = [...new Set([...state.modelClasses, ...state.classes.names])];
  const i = order.indexOf(name);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
};

// api calls the JSON API (body: an object sent as JSON, or FormData); it
// throws an Error with the daemon's message.
export async function api(method, url, body) {
  const init = { method };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) { init.body = JSON.stringify(body); init.headers = { 'Content-Type': 'application/json' }; }
  const r = await fetch(url, init);
  const j = await r.json().catch(() => ({ ok: false, error: `${method} ${url}: HTTP ${r.status}` }));
  if (!r.ok || j.ok === false) throw new Error(j.error || `${method} ${url}: HTTP ${r.status}`);
  return j;
}

// cmd runs any command of the table (POST /api/cmd/<name>).
export const cmd = (name, args = {}) => api('POST', `/api/cmd/${encodeURIComponent(name)}`, args);
const cls = (name) => `/api/classes/${encodeURIComponent(name)}`;

function showError(where, err) {
  const p = where && where.querySelector('.err');
  if (p) p.textContent = err ? err.message || String(err) : '';
}

// ---- tabs ----
const wide = matchMedia('(min-width: 900px)');
function showTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll('.tabs button')) {
    if (b.dataset.tab === tab) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
  }
  $('#live').hidden = !(wide.matches || tab === 'live' || tab === 'classes');
  $('#tab-classes').hidden = !(tab === 'classes' || (wide.matches && tab === 'live'));
  $('#tab-train').hidden = tab !== 'train';
  $('#tab-models').hidden = tab !== 'models';
  for (const s of document.querySelectorAll('section[data-page]')) s.hidden = s.dataset.page !== tab; // review.js, camera.js
  if (tab === 'models') loadModels();
  // The live stream runs only while the live view shows.
  const img = $('#stream');
  // Pointing the image elsewhere aborts the stream's request (removing
  // src does not: connections would pile up); a new URL on return skips
  // the cached last frame.
  if ($('#live').hidden) { if (img.dataset.on) { img.src = BLANK; delete img.dataset.on; } }
  else if (!img.dataset.on) { img.dataset.on = '1'; img.src = `/api/stream.mjpeg?v=${Date.now()}`; }
  document.body.dataset.tab = tab;
  document.dispatchEvent(new CustomEvent('alphad:tab', { detail: tab }));
  renderSelection();
}
document.addEventListener('alphad:show', (e) => showTab(e.detail));
for (const b of document.querySelectorAll('.tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));
wide.addEventListener('change', () => showTab(state.tab));

// ---- live ----
function renderBars(classes, scores) {
  const bars = $('#bars');
  if (bars.dataset.classes !== classes.join('\n')) {
    bars.dataset.classes = classes.join('\n');
    bars.replaceChildren(...classes.map((c) => el('div', { class: 'bar', role: 'listitem', 'data-class': c },
      el('span', { class: 'name' }, c),
      el('span', { class: 'track' }, el('span', { class: 'fill', style: `display:block;background:${colorOf(c)}` })),
      el('span', { class: 'pct num' }, '–'))));
  }
  classes.forEach((c, i) => {
    const row = bars.children[i];
    const s = scores ? scores[i] : null;
    row.querySelector('.fill').style.width = `${s == null ? 0 : Math.round(s * 100)}%`;
    row.querySelector('.pct').textContent = pct(s);
  });
}

function onPrediction(p) {
  const label = p.camera_down ? 'camera down' : (p.label || '—');
  $('#label').textContent = label;
  $('#label').dataset.label = p.label || '';
  $('#conf').textContent = p.label ? pct(p.confidence) : '';
  renderBars(p.classes || [], p.scores);
  if (p.model_version) setModel(p.model_version);
}

function setModel(v) {
  state.modelVersion = v;
  $('#hdr-model').textContent = v ? `model ${v}` : 'no model';
}

async function refreshStatus() {
  try {
    const s = await api('GET', '/api/status');
    setModel(s.model_version);
    state.modelClasses = s.model_classes || [];
    state.recording = s.recording || '';
    const parts = [];
    parts.push(s.fps == null ? '– fps' : `${s.fps.toFixed(1)} fps`);
    if (s.inference_ms != null) parts.push(`${s.inference_ms.toFixed(0)} ms`);
    parts.push(s.camera_up ? 'camera ✓' : `camera ✗ ${s.camera_error || ''}`);
    if (s.mqtt) parts.push(s.mqtt === 'connected' ? 'MQTT ✓' : 'MQTT ✗');
    if (s.training) parts.push('training…');
    if (s.recording) parts.push(`recording ${s.recording}`);
    $('#stats').textContent = parts.join(' · ');
    if (!state.modelVersion && s.classes) renderBars(s.classes, null);
  } catch (e) { $('#stats').textContent = e.message; }
}

// ---- classes ----
const PAGE = 24; // thumbnails per page
const pages = new Map(); // label -> {offset, count (the class's count the page was loaded at)}
const selected = new Map(); // sample id -> label
function renderClasses() {
  const { names, counts } = state.classes;
  const cards = $('#cards');
  const have = new Map([...cards.children].map((c) => [c.dataset.class, c]));
  const list = names.map((name) => {
    let card = have.get(name);
    if (!card) card = classCard(name);
    card.style.borderLeftColor = colorOf(name);
    card.querySelector('.count').textContent = `${counts[name] || 0} samples`;
    const pg = pages.get(name);
    if (!pg || pg.count !== (counts[name] || 0)) loadThumbs(name, card, pg ? pg.offset : 0);
    return card;
  });
  // Touch the DOM only when the set or order changed: a card moved in
  // the DOM loses its pointer capture (a hold in progress would stop).
  const same = list.length === cards.children.length && list.every((c, i) => cards.children[i] === c);
  if (!same) cards.replaceChildren(...list);
  for (const [id, label] of selected) if (!names.includes(label)) selected.delete(id);
  renderSelection();
}

function classCard(name) {
  const card = el('article', { class: 'card', 'data-class': name });
  const hold = el('button', { class: 'hold', type: 'button' }, 'Hold to record');
  bindHold(hold, name, card);
  const file = el('input', { type: 'file', accept: 'image/*', multiple: true, hidden: true,
    onchange: () => upload(name, file.files, card).finally(() => { file.value = ''; }) });
  card.append(
    el('div', { class: 'card-head' }, el('h3', {}, name), el('span', { class: 'count num' }, '')),
    el('div', { class: 'thumbs' }),
    el('div', { class: 'pager row', hidden: true },
      el('button', { class: 'btn prev', type: 'button', 'aria-label': 'newer samples', onclick: () => turn(name, card, -1) }, '‹ Newer'),
      el('span', { class: 'range num' }),
      el('button', { class: 'btn next', type: 'button', 'aria-label': 'older samples', onclick: () => turn(name, card, 1) }, 'Older ›')),
    hold,
    el('div', { class: 'row' },
      el('button', { class: 'btn', type: 'button', onclick: () => act(card, () => api('POST', `${cls(name)}/record`, { action: 'one' })) }, '+1'),
      el('button', { class: 'btn', type: 'button', onclick: () => file.click() }, 'Upload'),
      file,
      el('button', { class: 'btn', type: 'button', onclick: () => rename(name, card) }, 'Rename'),
      el('button', { class: 'btn danger', type: 'button', onclick: () => removeClass(name, card) }, 'Delete')),
    el('p', { class: 'err', role: 'alert' }));
  card.addEventListener('dragover', (e) => e.preventDefault());
  card.addEventListener('drop', (e) => { e.preventDefault(); upload(name, e.dataTransfer.files, card); });
  return card;
}

async function act(card, fn) {
  showError(card, null);
  try { return await fn(); } catch (e) { showError(card, e); }
}

// Hold to record: pointer down starts, up / cancel / lost capture stops.
// Thumbnails load above the button while it is held and push it down: the
// click a released finger makes lands elsewhere, so clicks right after a
// hold are ignored (holdEnded).
let holdEnded = 0;
function bindHold(btn, name, card) {
  let on = false;
  const rec = (action) => api('POST', `${cls(name)}/record`, { action });
  const stop = () => {
    if (!on) return;
    on = false;
    holdEnded = performance.now();
    btn.classList.remove('on');
    btn.textContent = 'Hold to record';
    act(card, () => rec('stop'));
  };
  const start = () => {
    on = true;
    btn.classList.add('on');
    btn.textContent = 'Recording…';
    act(card, () => rec('start')).then((r) => { if (!r) stop(); });
  };
  btn.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    if (on) return;
    btn.setPointerCapture(e.pointerId);
    start();
  });
  for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) btn.addEventListener(ev, stop);
  btn.addEventListener('contextmenu', (e) => e.preventDefault());
  // Keyboard: space/enter held records too.
  btn.addEventListener('keydown', (e) => {
    if ((e.key === ' ' || e.key === 'Enter') && !e.repeat && !on) { e.preventDefault(); start(); }
  });
  btn.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') stop(); });
}

function turn(name, card, dir) {
  const pg = pages.get(name) || { offset: 0 };
  loadThumbs(name, card, Math.max(0, pg.offset + dir * PAGE));
}

// loadThumbs shows one page of a class's samples, newest first; a tap
// selects a sample (for Move / Delete).
async function loadThumbs(name, card, offset) {
  const count = state.classes.counts[name] || 0;
  pages.set(name, { offset, count });
  try {
    let j = await api('GET', `${cls(name)}/samples?offset=${offset}&limit=${PAGE}`);
    if (!j.samples.length && offset > 0) { // the page emptied (deleted, moved): the last one
      offset = Math.max(0, Math.floor((j.total - 1) / PAGE) * PAGE);
      pages.set(name, { offset, count });
      j = await api('GET', `${cls(name)}/samples?offset=${offset}&limit=${PAGE}`);
    }
    card.querySelector('.thumbs').replaceChildren(...j.samples.map((s) => {
      const b = el('button', { class: 'thumb', type: 'button', 'data-id': s.id, 'aria-pressed': selected.has(s.id) ? 'true' : 'false',
        onclick: () => toggle(s.id, name, b) },
      el('img', { src: `/api/samples/${encodeURIComponent(s.id)}/image`, alt: `sample of ${name}`, loading: 'lazy' }));
      return b;
    }));
    const pager = card.querySelector('.pager');
    pager.hidden = j.total <= PAGE;
    pager.querySelector('.range').textContent = j.total ? `${offset + 1}–${offset + j.samples.length} of ${j.total}` : '';
    pager.querySelector('.prev').disabled = offset === 0;
    pager.querySelector('.next').disabled = offset + j.samples.length >= j.total;
  } catch (e) { showError(card, e); }
}

function toggle(id, label, b) {
  if (performance.now() - holdEnded < 700) return; // the click of a hold's release
  if (selected.has(id)) selected.delete(id); else selected.set(id, label);
  b.setAttribute('aria-pressed', selected.has(id) ? 'true' : 'false');
  renderSelection();
}

// The selection bar: n selected · Move to [class] · Delete · Clear.
function renderSelection() {
  const bar = $('#selbar');
  bar.hidden = selected.size === 0 || state.tab !== 'classes';
  document.body.classList.toggle('selecting', !bar.hidden);
  $('#sel-count').textContent = `${selected.size} selected`;
  const to = $('#sel-to');
  const want = state.classes.names.join('\n');
  if (to.dataset.names !== want) {
    to.dataset.names = want;
    to.replaceChildren(el('option', { value: '' }, 'Move to…'), ...state.classes.names.map((n) => el('option', { value: n }, n)));
  }
}

function clearSelection() {
  selected.clear();
  for (const b of document.querySelectorAll('.thumb[aria-pressed=true]')) b.setAttribute('aria-pressed', 'false');
  renderSelection();
}

$('#sel-move').addEventListener('click', () => act($('#selbar'), async () => {
  const to = $('#sel-to').value;
  if (!to) throw new Error('choose the class to move the samples to');
  await api('POST', '/api/samples/move', { ids: [...selected.keys()], to });
  clearSelection();
}));
$('#sel-delete').addEventListener('click', () => act($('#selbar'), async () => {
  if (!confirm(`Delete ${selected.size} sample(s)?`)) return;
  await api('POST', '/api/samples/delete', { ids: [...selected.keys()] });
  clearSelection();
}));
$('#sel-clear').addEventListener('click', clearSelection);

// upload sends the files as multipart bodies of at most ~32 MB each (the
// server takes 64 MB per request); each body is one burst.
async function upload(name, files, card) {
  if (!files || !files.length) return;
  await act(card, async () => {
    let fd = new FormData(), size = 0, n = 0;
    const send = async () => { if (n) await api('POST', `${cls(name)}/samples`, fd); fd = new FormData(); size = 0; n = 0; };
    for (const f of files) {
      if (n && size + f.size > 32 << 20) await send();
      fd.append('files', f, f.name); size += f.size; n++;
    }
    await send();
  });
}

async function rename(name, card) {
  const to = prompt(`Rename class "${name}" to:`, name);
  if (!to || to === name) return;
  await act(card, () => api('PATCH', cls(name), { name: to }));
}

async function removeClass(name, card) {
  const n = state.classes.counts[name] || 0;
  if (!confirm(`Delete class "${name}" with ${n} samples?`)) return;
  await act(card, () => api('DELETE', cls(name)));
}

$('#add-class').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const label = form.label.value.trim();
  await act(form, async () => { await api('POST', '/api/classes', { name: label }); form.reset(); });
});

// ---- train ----
const trainForm = $('#train-form');
trainForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = trainForm;
  await act(f, async () => {
    await api('POST', '/api/train', { epochs: Number(f.epochs.value), batch_size: Number(f.batch_size.value), learning_rate: Number(f.learning_rate.value) });
    setTraining({ phase: 'starting', percent: 0 });
  });
});
$('#cancel-btn').addEventListener('click', () => act(trainForm, () => api('DELETE', '/api/train')));
$('#reset-btn').addEventListener('click', () => {
  trainForm.epochs.value = 50; trainForm.batch_size.value = 16; trainForm.learning_rate.value = 0.001;
});

let trainMax = 0;
function setTraining(p) {
  if (p.phase === 'starting') trainMax = 0;
  trainMax = Math.max(trainMax, p.percent || 0); // one monotonic bar
  $('#train-bar').style.width = `${trainMax}%`;
  trainForm.querySelector('.progress').setAttribute('aria-valuenow', Math.round(trainMax));
  let txt = `${p.phase} ${trainMax.toFixed(0)} %`;
  if (p.epochs) txt += ` · epoch ${p.epoch}/${p.epochs}`;
  if (p.accuracy != null && p.epochs) txt += ` · accuracy ${pct(p.accuracy)}`;
  $('#train-phase').textContent = txt;
  $('#train-btn').disabled = true;
  $('#cancel-btn').hidden = false;
}

async function onResult(r) {
  $('#train-btn').disabled = false;
  $('#cancel-btn').hidden = true;
  if (!r.ok) {
    $('#train-phase').textContent = r.cancelled ? 'cancelled' : 'failed';
    showError(trainForm, r.cancelled ? null : new Error(r.error));
    return;
  }
  trainMax = 100;
  $('#train-bar').style.width = '100%';
  $('#train-phase').textContent = `done: ${r.model_version} in use (${r.duration_s.toFixed(1)} s)`;
  try {
    const j = await api('GET', '/api/models');
    const m = (j.models || []).find((x) => x.version === r.model_version);
    if (m) { const card = $('#train-result'); card.replaceChildren(...resultCard(m)); card.hidden = false; }
  } catch (e) { showError(trainForm, e); }
}

function resultCard(m) {
  const out = [el('h2', {}, `Result ${m.version}`),
    el('p', { class: 'num' }, `Accuracy ${pct(m.accuracy)} on ${m.on || '?'} · trained on ${m.samples} samples`)];
  if (m.per_class && m.per_class.length) {
    out.push(el('table', { class: 'per-class' },
      el('tr', {}, el('th', {}, 'class'), el('th', {}, 'accuracy'), el('th', {}, 'validated')),
      m.per_class.map((c) => el('tr', {}, el('th', { style: `color:${colorOf(c.class)}` }, c.class), el('td', {}, pct(c.accuracy)), el('td', {}, c.support)))));
  }
  if (m.confusion && m.confusion.length) {
    const names = m.classes;
    const max = Math.max(1, ...m.confusion.flat());
    out.push(el('h3', {}, 'Confusion matrix (rows true, columns predicted)'),
      el('table', { class: 'matrix' },
        el('tr', {}, el('th', {}, ''), names.map((n) => el('th', {}, n))),
        m.confusion.map((row, i) => el('tr', {}, el('th', {}, names[i]),
          row.map((v) => el('td', { style: `background:color-mix(in srgb, var(--acc) ${Math.round(70 * v / max)}%, transparent)` }, v))))));
  }
  if (m.epochs && m.epochs.length > 1) {
    out.push(el('h3', {}, 'Loss and accuracy per epoch'), chart(m.epochs, 'loss', 'val_loss'), chart(m.epochs, 'accuracy', 'val_accuracy'));
  }
  return out;
}

// chart draws key and valKey per epoch as two lines, with the legend
// above the plot and the value range at the left.
function chart(epochs, key, valKey) {
  const ns = 'http://www.w3.org/2000/svg';
  const W = 320, H = 130, L = 40, T = 22, B = 6, R = 6;
  const all = epochs.flatMap((e) => [e[key], e[valKey]]).filter((v) => v != null);
  const max = Math.max(...all, 1e-9), min = Math.min(...all, 0);
  const x = (i) => L + (i / Math.max(1, epochs.length - 1)) * (W - L - R);
  const y = (v) => T + (1 - (v - min) / (max - min || 1)) * (H - T - B);
  const svg = document.createElementNS(ns, 'svg');
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text != null) n.textContent = text;
    svg.append(n);
  };
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${key} per epoch, training and validation`);
  add('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: 'none', stroke: 'var(--line)' });
  add('text', { x: L - 4, y: T + 10, 'text-anchor': 'end', 'font-size': 11, fill: 'currentColor' }, max.toPrecision(2));
  add('text', { x: L - 4, y: H - B, 'text-anchor': 'end', 'font-size': 11, fill: 'currentColor' }, min.toPrecision(2));
  for (const [k, color] of [[key, 'var(--acc)'], [valKey, '#e8590c']]) {
    const pts = epochs.map((e, i) => [i, e[k]]).filter(([, v]) => v != null).map(([i, v]) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    add('polyline', { points: pts.join(' '), fill: 'none', stroke: color, 'stroke-width': 2 });
  }
  add('text', { x: L, y: 14, 'font-size': 12, fill: 'currentColor' }, key);
  add('rect', { x: L + 70, y: 5, width: 12, height: 4, fill: 'var(--acc)' });
  add('text', { x: L + 86, y: 14, 'font-size': 12, fill: 'currentColor' }, 'training');
  add('rect', { x: L + 150, y: 5, width: 12, height: 4, fill: '#e8590c' });
  add('text', { x: L + 166, y: 14, 'font-size': 12, fill: 'currentColor' }, 'validation');
  return svg;
}

// ---- models ----
async function loadModels() {
  const box = $('#tab-models');
  showError(box, null);
  try {
    const j = await api('GET', '/api/models');
    if (!j.models.length) { $('#models').replaceChildren(el('p', { class: 'msg' }, 'No model yet: record two classes and train, or import one.')); return; }
    $('#models').replaceChildren(...j.models.map((m) => {
      const details = el('div', { class: 'details', hidden: true });
      return el('article', { class: 'card model', 'data-version': m.version },
        el('div', { class: 'card-head' }, el('h3', {}, m.version), m.current ? el('span', { class: 'badge' }, 'current') : null),
        el('p', { class: 'num' }, `${new Date(m.created).toLocaleString()} · ${m.samples} samples · ${m.classes.join(', ')} · accuracy ${pct(m.accuracy)}`),
        el('div', { class: 'row' },
          m.current ? null : el('button', { class: 'btn primary activate', type: 'button', onclick: () => activate(m.version) }, 'Activate'),
          el('a', { class: 'btn export', href: `/api/models/${encodeURIComponent(m.version)}/export`, download: `alphad-${m.version}.zip` }, 'Export (zip)'),
          m.per_class ? el('button', { class: 'btn', type: 'button', 'aria-expanded': 'false', onclick: (e) => {
            details.hidden = !details.hidden;
            e.currentTarget.setAttribute('aria-expanded', String(!details.hidden));
            if (!details.hidden && !details.childElementCount) details.append(...resultCard(m).slice(1));
          } }, 'Details') : null),
        details);
    }));
  } catch (e) { showError(box, e); }
}

async function activate(v) {
  const box = $('#tab-models');
  showError(box, null);
  try { await api('POST', `/api/models/${encodeURIComponent(v)}/activate`); await loadModels(); } catch (e) { showError(box, e); }
}

$('#import-file').addEventListener('change', async (e) => {
  const input = e.currentTarget, form = $('#import-form');
  if (!input.files.length) return;
  const fd = new FormData();
  fd.append('file', input.files[0], input.files[0].name);
  $('#import-msg').textContent = `importing ${input.files[0].name}…`;
  await act(form, async () => {
    const j = await api('POST', '/api/models/import', fd);
    $('#import-msg').textContent = j.message;
    await loadModels();
  }).finally(() => { input.value = ''; if ($('#import-msg').textContent.startsWith('importing')) $('#import-msg').textContent = ''; });
});

$('#logout').addEventListener('click', async () => {
  try { await api('POST', '/logout'); } finally { location.href = '/'; }
});

// ---- events ----
function connect() {
  const es = new EventSource('/api/events');
  document.dispatchEvent(new CustomEvent('alphad:events', { detail: es })); // review.js, camera.js
  es.onopen = () => { $('#dot').className = 'dot'; $('#dot').title = 'live'; refreshStatus(); };
  es.onerror = () => { $('#dot').className = 'dot off'; $('#dot').title = 'offline'; };
  const on = (name, fn) => es.addEventListener(name, (e) => fn(JSON.parse(e.data)));
  on('prediction', onPrediction);
  on('samples', (c) => {
    // names are the model's classes (what it decides); counts hold every
    // stored class: the cards show the stored ones, model order first.
    const counts = c.counts || {};
    const names = (c.names || []).filter((n) => n in counts);
    for (const n of Object.keys(counts)) if (!names.includes(n)) names.push(n);
    state.classes = { names, counts };
    renderClasses();
  });
  on('settings', (s) => { state.settings = s; });
  on('training', setTraining);
  on('result', (r) => { onResult(r); refreshStatus(); });
  on('model', (m) => { setModel(m.version); state.modelClasses = m.classes || []; if (state.tab === 'models') loadModels(); });
  on('camera', (c) => { state.camera = c; refreshStatus(); });
}

showTab('live');
connect();
refreshStatus();
setInterval(refreshStatus, 5000);
