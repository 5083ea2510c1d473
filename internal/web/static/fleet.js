// alphad web app: the fleet page (GET /api/fleet) — the devices of this
// device's fleet group as the broker's retained messages show them. It adds
// its own panel and follows the tab bar; app.js knows nothing about it.

const panel = document.createElement('section');
panel.id = 'tab-fleet';
panel.className = 'panel tab';
panel.hidden = true;
document.querySelector('main').append(panel);

const ago = (t) => {
  if (!t || t.startsWith('0001-')) return '–';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(t)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
};

function text(tag, value, cls) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  e.textContent = value;
  return e;
}

function render(j) {
  panel.replaceChildren();
  if (!j.enabled) {
    const c = text('div', 'This device is not in a fleet (set fleet.group and mqtt.broker; see docs/fleet.md).', 'card');
    panel.append(c);
    return;
  }
  const st = j.status || {};
  const head = document.createElement('div');
  head.className = 'card';
  head.append(text('h2', `Fleet ${st.group}`));
  const from = st.adopted ? `model ${st.adopted.local_version} from ${st.adopted.publisher}/${st.adopted.version}` : 'own model';
  head.append(text('p', `${st.connected ? 'connected' : 'not connected'} · ${from} · ${st.refused || 0} refused publication(s)`, 'num'));
  if (st.last_refused) head.append(text('p', `last refused: ${st.last_refused}`, 'err'));
  panel.append(head);
  const list = document.createElement('div');
  list.className = 'cards';
  list.setAttribute('role', 'list');
  for (const m of j.members) {
    const c = document.createElement('div');
    c.className = 'card';
    c.setAttribute('role', 'listitem');
    c.dataset.device = m.device_id;
    c.style.borderLeftColor = m.availability === 'online' ? 'var(--ok)' : 'var(--line)';
    c.append(text('h3', m.device_id + (m.trainer ? ' (trainer)' : '')));
    const fps = m.fps == null ? '–' : m.fps.toFixed(1);
    c.append(text('p', `${m.availability || 'unknown'} · model ${m.model_version || '–'}${m.adopted ? ` (${m.adopted})` : ''} · ${fps} fps · seen ${ago(m.last_seen)}`, 'num'));
    list.append(c);
  }
  if (!j.members.length) list.append(text('p', 'No devices seen yet.', 'num'));
  panel.append(list);
}

let timer = 0;
async function load() {
  try {
    const r = await fetch('/api/fleet');
    const j = await r.json();
    if (!r.ok) throw new Error(j.error || `HTTP ${r.status}`);
    render(j);
  } catch (err) {
    panel.replaceChildren(text('p', `fleet: ${err.message}`, 'err'));
  }
}

for (const b of document.querySelectorAll('.tabs button')) {
  b.addEventListener('click', () => {
    const on = b.dataset.tab === 'fleet';
    panel.hidden = !on;
    clearInterval(timer);
    if (!on) return;
    for (const s of document.querySelectorAll('section.tab')) if (s !== panel) s.hidden = true;
    load();
    timer = setInterval(load, 5000);
  });
}
