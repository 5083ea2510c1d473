// alphad web app: one page, one event stream, every action a command
// (POST /api/cmd/<name>). No build step, no dependencies.

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

// cmd runs a command; it throws an Error with the daemon's message.
export async function cmd(name, args = {}) {
  const r = await fetch(`/api/cmd/${encodeURIComponent(name)}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(args),
  });
  const j = await r.json().catch(() => ({ ok: false, error: `${name}: HTTP ${r.status}` }));
  if (!r.ok || !j.ok) throw new Error(j.error || `${name}: HTTP ${r.status}`);
  return j;
}

async function getJSON(url) {
  const r = await fetch(url);
  const j = await r.json();
  if (!r.ok) throw new Error(j.error || `${url}: HTTP ${r.status}`);
  return j;
}

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
    const s = await getJSON('/api/status');
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
const thumbCache = new Map(); // label -> count the strip was loaded at
function renderClasses() {
  const { names, counts } = state.classes;
  const cards = $('#cards');
  const have = new Map([...cards.children].map((c) => [c.dataset.class, c]));
  const list = names.map((name) => {
    let card = have.get(name);
    if (!card) card = classCard(name);
    card.style.borderLeftColor = colorOf(name);
    card.querySelector('.count').textContent = `${counts[name] || 0} samples`;
    if (thumbCache.get(name) !== (counts[name] || 0)) loadThumbs(name, card);
    return card;
  });
  // Touch the DOM only when the set or order changed: a card moved in
  // the DOM loses its pointer capture (a hold in progress would stop).
  const same = list.length === cards.children.length && list.every((c, i) => cards.children[i] === c);
  if (!same) cards.replaceChildren(...list);
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
    hold,
    el('div', { class: 'row' },
      el('button', { class: 'btn', type: 'button', onclick: () => act(card, () => cmd('capture', { label: name, count: 1 })) }, '+1'),
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
function bindHold(btn, name, card) {
  let on = false;
  const stop = () => {
    if (!on) return;
    on = false;
    btn.classList.remove('on');
    btn.textContent = 'Hold to record';
    act(card, () => cmd('record_stop'));
  };
  btn.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    if (on) return;
    on = true;
    btn.setPointerCapture(e.pointerId);
    btn.classList.add('on');
    btn.textContent = 'Recording…';
    act(card, () => cmd('record_start', { label: name })).then((r) => { if (!r) stop(); });
  });
  for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) btn.addEventListener(ev, stop);
  btn.addEventListener('contextmenu', (e) => e.preventDefault());
  // Keyboard: space/enter held records too.
  btn.addEventListener('keydown', (e) => {
    if ((e.key === ' ' || e.key === 'Enter') && !e.repeat && !on) {
      e.preventDefault(); on = true; btn.classList.add('on'); btn.textContent = 'Recording…';
      act(card, () => cmd('record_start', { label: name }));
    }
  });
  btn.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') stop(); });
}

async function loadThumbs(name, card) {
  thumbCache.set(name, state.classes.counts[name] || 0);
  try {
    const j = await getJSON(`/api/samples?label=${encodeURIComponent(name)}`);
    const newest = (j.samples || []).slice(-12).reverse();
    card.querySelector('.thumbs').replaceChildren(...newest.map((s) =>
      el('img', { src: `/api/samples/${encodeURIComponent(s.id)}/image`, alt: `sample of ${name}`, loading: 'lazy' })));
  } catch (e) { showError(card, e); }
}

const b64 = (buf) => {
  let s = '';
  const b = new Uint8Array(buf);
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
};

async function upload(name, files, card) {
  if (!files || !files.length) return;
  await act(card, async () => {
    const list = [];
    for (const f of files) list.push({ name: f.name, data: b64(await f.arrayBuffer()) });
    await cmd('add_samples', { label: name, files: list });
  });
}

async function rename(name, card) {
  const to = prompt(`Rename class "${name}" to:`, name);
  if (!to || to === name) return;
  await act(card, () => cmd('rename_class', { label: name, to }));
}

async function removeClass(name, card) {
  const n = state.classes.counts[name] || 0;
  if (!confirm(`Delete class "${name}" with ${n} samples?`)) return;
  await act(card, () => cmd('delete_class', { label: name }));
}

$('#add-class').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const label = form.label.value.trim();
  await act(form, async () => { await cmd('create_class', { label }); form.reset(); });
});

// ---- train ----
const trainForm = $('#train-form');
trainForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = trainForm;
  await act(f, async () => {
    await cmd('train', { epochs: Number(f.epochs.value), batch_size: Number(f.batch_size.value), learning_rate: Number(f.learning_rate.value) });
    setTraining({ phase: 'starting', percent: 0 });
  });
});
$('#cancel-btn').addEventListener('click', () => act(trainForm, () => cmd('cancel_training')));
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
    const j = await getJSON('/api/models');
    const m = (j.models || []).find((x) => x.version === r.model_version);
    if (m) { const card = $('#train-result'); card.replaceChildren(...resultCard(m)); card.hidden = false; }
  } catch (e) { showError(trainForm, e); }
}

function resultCard(m) {
  const out = [el('h2', {}, `Result ${m.version}`),
    el('p', { class: 'num' }, `Accuracy ${pct(m.accuracy)} on ${m.on || '?'} · ${m.samples} samples`)];
  if (m.per_class && m.per_class.length) {
    out.push(el('table', { class: 'per-class' },
      el('tr', {}, el('th', {}, 'class'), el('th', {}, 'accuracy'), el('th', {}, 'samples')),
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

function chart(epochs, key, valKey) {
  const ns = 'http://www.w3.org/2000/svg';
  const W = 300, H = 100;
  const all = epochs.flatMap((e) => [e[key], e[valKey]]).filter((v) => v != null);
  const max = Math.max(...all, 1e-9), min = Math.min(...all, 0);
  const pts = (k) => epochs.filter((e) => e[k] != null).map((e, i) =>
    `${(i / Math.max(1, epochs.length - 1)) * W},${H - ((e[k] - min) / (max - min || 1)) * H}`).join(' ');
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${key} per epoch`);
  for (const [k, color] of [[key, 'var(--acc)'], [valKey, '#e8590c']]) {
    const pl = document.createElementNS(ns, 'polyline');
    pl.setAttribute('points', pts(k));
    pl.setAttribute('fill', 'none');
    pl.setAttribute('stroke', color);
    pl.setAttribute('stroke-width', '2');
    svg.append(pl);
  }
  const t = document.createElementNS(ns, 'text');
  t.setAttribute('x', 4); t.setAttribute('y', 14); t.setAttribute('fill', 'currentColor'); t.setAttribute('font-size', 12);
  t.textContent = `${key} (blue: training, orange: validation)`;
  svg.append(t);
  return svg;
}

// ---- models ----
async function loadModels() {
  const box = $('#tab-models');
  showError(box, null);
  try {
    const j = await getJSON('/api/models');
    if (!j.models.length) { $('#models').replaceChildren(el('p', { class: 'msg' }, 'No model yet: record two classes and train.')); return; }
    $('#models').replaceChildren(...j.models.map((m) => el('article', { class: 'card model', 'data-version': m.version },
      el('div', { class: 'card-head' }, el('h3', {}, m.version), m.current ? el('span', { class: 'badge' }, 'current') : null),
      el('p', { class: 'num' }, `${new Date(m.created).toLocaleString()} · ${m.samples} samples · ${m.classes.join(', ')} · accuracy ${pct(m.accuracy)}`),
      el('div', { class: 'row' },
        m.current ? null : el('button', { class: 'btn primary', type: 'button', onclick: () => activate(m.version) }, 'Activate'),
        el('a', { class: 'btn', href: `/api/models/${encodeURIComponent(m.version)}/export`, download: true, style: 'display:inline-flex;align-items:center;text-decoration:none' }, 'Export (zip)')))));
  } catch (e) { showError(box, e); }
}

async function activate(v) {
  const box = $('#tab-models');
  showError(box, null);
  try { await cmd('activate', { version: v }); await loadModels(); } catch (e) { showError(box, e); }
}

// ---- events ----
function connect() {
  const es = new EventSource('/api/events');
  document.dispatchEvent(new CustomEvent('alphad:events', { detail: es })); // review.js, camera.js
  es.onopen = () => { $('#dot').className = 'dot'; $('#dot').title = 'live'; refreshStatus(); };
  es.onerror = () => { $('#dot').className = 'dot off'; $('#dot').title = 'offline'; };
  const on = (name, fn) => es.addEventListener(name, (e) => fn(JSON.parse(e.data)));
  on('prediction', onPrediction);
  on('classes', (c) => {
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
