// alphad web app: the Review page. Frames the model was unsure about
// (GET /api/review), newest first, each with its top two scores; one tap
// files a frame into a class (POST /api/review/{id} {"class"}) or
// discards it ({"discard":true}). The tab's badge counts queued frames
// and follows the "review" server-sent event.

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
// Floored: an unsure 99.6 % must not read as a sure 100 %.
const pct = (x) => `${Math.floor(x * 100)} %`;
const PALETTE = ['#2563eb', '#e8590c', '#16a34a', '#9333ea', '#db2777', '#0891b2', '#ca8a04', '#4b5563'];

const page = $('#tab-review');
let shown = false;
let classes = [];

function setBadge(n) {
  const b = $('#review-badge');
  b.textContent = n > 0 ? String(n) : '';
  b.hidden = !(n > 0);
}

function showError(err) {
  page.querySelector('.err').textContent = err ? err.message || String(err) : '';
}

async function api(url, opts) {
  const r = await fetch(url, opts);
  const j = await r.json().catch(() => ({ error: `${url}: HTTP ${r.status}` }));
  if (!r.ok || j.ok === false) throw new Error(j.error || `${url}: HTTP ${r.status}`);
  return j;
}

// top2 is the two best scores of an item as "class 45 %".
function top2(it) {
  return (it.scores || []).map((s, i) => [s, (it.classes || [])[i]]).sort((a, b) => b[0] - a[0]).slice(0, 2)
    .map(([s, c]) => `${c} ${pct(s)}`);
}

function itemCard(it) {
  const card = el('article', { class: 'card review-item', 'data-id': it.id });
  const why = it.reason === 'flip' ? `flip ${it.previous} → ${it.label}` : 'unsure';
  const when = new Date(it.time).toLocaleTimeString();
  const act = async (body, btn) => {
    for (const b of card.querySelectorAll('button')) b.disabled = true;
    btn.classList.add('busy');
    showError(null);
    try {
      await api(`/api/review/${encodeURIComponent(it.id)}`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      });
      card.remove();
      if (!$('#review-grid').children.length) empty();
    } catch (e) {
      showError(e);
      for (const b of card.querySelectorAll('button')) b.disabled = false;
      btn.classList.remove('busy');
    }
  };
  // The stored classes (where samples go); before any, the model's.
  const names = classes.length ? classes : (it.classes || []).slice(0, 12);
  card.append(
    el('img', { src: `/api/review/${encodeURIComponent(it.id)}/image`, alt: `unsure frame, ${top2(it).join(', ')}`, loading: 'lazy', width: 224, height: 224 }),
    el('p', { class: 'num scores' }, top2(it).join(' · ')),
    el('p', { class: 'msg small' }, `${why} · ${when}`),
    el('div', { class: 'file-row' },
      names.map((c, i) => el('button', { type: 'button', class: 'btn file', 'data-class': c, style: `border-color:${PALETTE[i % PALETTE.length]}`,
        onclick: (e) => act({ class: c }, e.currentTarget) }, c)),
      el('button', { type: 'button', class: 'btn danger discard', onclick: (e) => act({ discard: true }, e.currentTarget) }, 'Discard')));
  return card;
}

function empty() {
  $('#review-grid').replaceChildren(el('p', { class: 'msg' }, 'Nothing to review: the model was sure of every frame lately.'));
}

let loading = null;
async function load() {
  if (loading) return loading;
  loading = (async () => {
    try {
      const j = await api('/api/review');
      classes = j.classes || [];
      const items = j.items || [];
      setBadge(items.length);
      if (!items.length) { empty(); return; }
      // Cards already shown stay where they are (a finger may be on
      // one); gone ones leave, new ones come in at their place.
      const grid = $('#review-grid');
      const ids = new Set(items.map((it) => it.id));
      for (const c of [...grid.children]) if (!ids.has(c.dataset.id)) c.remove();
      const have = new Map([...grid.children].map((c) => [c.dataset.id, c]));
      let cur = grid.firstElementChild;
      for (const it of items) {
        if (cur && cur.dataset.id === it.id) { cur = cur.nextElementSibling; continue; }
        grid.insertBefore(have.get(it.id) || itemCard(it), cur);
      }
      showError(null);
    } catch (e) { showError(e); } finally { loading = null; }
  })();
  return loading;
}

document.addEventListener('alphad:tab', (e) => {
  shown = e.detail === 'review';
  if (shown) load();
});

document.addEventListener('alphad:events', (e) => {
  const es = e.detail;
  es.addEventListener('review', (m) => {
    const r = JSON.parse(m.data);
    setBadge(r.items);
    if (shown) load();
  });
  es.addEventListener('classes', (m) => {
    // New or renamed classes: the cards' buttons change.
    const names = Object.keys(JSON.parse(m.data).counts || {});
    if (shown && names.some((n) => !classes.includes(n))) { $('#review-grid').replaceChildren(); load(); }
  });
  es.addEventListener('open', () => { if (shown) load(); else api('/api/review').then((j) => setBadge((j.items || []).length), () => {}); });
});
