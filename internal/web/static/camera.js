// alphad web app: the Camera page. The whole frame (turned and mirrored
// as set, not cropped: GET /api/camera/stream.mjpeg) with the region the
// model sees outlined; drag a rectangle (mouse, pen or finger) to set a
// new one and Save; Mirror and Rotate apply at once (PATCH /api/camera),
// so the frame shows them live, and a small view shows what the model
// sees.

const $ = (sel, root = document) => root.querySelector(sel);
const BLANK = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
const page = $('#tab-camera');
const area = $('#crop-area');
const view = $('#cam-view');
const box = $('#crop-box');
let cam = { crop: 'center', mirror: false, rotate: 0 };
let draft = null; // the rectangle being drawn / not saved yet: {x,y,w,h} fractions

function showError(err) {
  page.querySelector('.err').textContent = err ? err.message || String(err) : '';
}

async function api(url, opts) {
  const r = await fetch(url, opts);
  const j = await r.json().catch(() => ({ error: `${url}: HTTP ${r.status}` }));
  if (!r.ok || j.ok === false) throw new Error(j.error || `${url}: HTTP ${r.status}`);
  return j;
}

// region is the rectangle the model sees, as fractions of the frame.
function region() {
  if (draft) return draft;
  if (cam.crop === 'roi' && cam.region) return cam.region;
  if (cam.crop === 'full') return { x: 0, y: 0, w: 1, h: 1 };
  const W = view.naturalWidth || 4, H = view.naturalHeight || 3, s = Math.min(W, H);
  return { x: (W - s) / 2 / W, y: (H - s) / 2 / H, w: s / W, h: s / H };
}

function drawBox() {
  const r = region();
  box.hidden = false;
  box.style.left = `${r.x * 100}%`;
  box.style.top = `${r.y * 100}%`;
  box.style.width = `${r.w * 100}%`;
  box.style.height = `${r.h * 100}%`;
  box.classList.toggle('draft', !!draft);
  $('#crop-save').disabled = !draft;
}

function render() {
  $('#cam-mirror').setAttribute('aria-pressed', String(!!cam.mirror));
  $('#cam-mirror').textContent = cam.mirror ? 'Mirror: on' : 'Mirror: off';
  $('#cam-rot').textContent = `turned ${cam.rotate}°`;
  const r = cam.region;
  $('#cam-state').textContent = cam.crop === 'roi' && r
    ? `Region ${Math.round(r.x * 100)},${Math.round(r.y * 100)} % · ${Math.round(r.w * 100)}×${Math.round(r.h * 100)} % of the frame`
    : (cam.crop === 'full' ? 'Region: the whole frame' : 'Region: the centre square');
  drawBox();
}

async function load() {
  try { cam = await api('/api/camera'); render(); showError(null); } catch (e) { showError(e); }
}

async function patch(body) {
  showError(null);
  try {
    const j = await api('/api/camera', { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    cam = j.camera;
    draft = null;
    render();
  } catch (e) { showError(e); }
}

// Drawing: pointer down starts a rectangle at the pointer, move grows
// it, up ends it (a tap without a drag changes nothing).
let start = null;
const at = (e) => {
  const b = view.getBoundingClientRect();
  return { x: Math.min(1, Math.max(0, (e.clientX - b.left) / b.width)), y: Math.min(1, Math.max(0, (e.clientY - b.top) / b.height)) };
};
area.addEventListener('pointerdown', (e) => {
  e.preventDefault();
  area.setPointerCapture(e.pointerId);
  start = at(e);
});
area.addEventListener('pointermove', (e) => {
  if (!start) return;
  const p = at(e);
  const r = { x: Math.min(start.x, p.x), y: Math.min(start.y, p.y), w: Math.abs(p.x - start.x), h: Math.abs(p.y - start.y) };
  if (r.w >= 0.02 && r.h >= 0.02) { draft = r; drawBox(); }
});
const end = () => { start = null; };
for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) area.addEventListener(ev, end);

$('#crop-save').addEventListener('click', () => draft && patch({ crop: draft }));
$('#crop-center').addEventListener('click', () => patch({ crop: 'center' }));
$('#crop-full').addEventListener('click', () => patch({ crop: 'full' }));
$('#cam-mirror').addEventListener('click', () => patch({ mirror: !cam.mirror }));
$('#cam-rotate').addEventListener('click', () => patch({ rotate: (cam.rotate + 90) % 360 }));
$('#cam-done').addEventListener('click', () => document.dispatchEvent(new CustomEvent('alphad:show', { detail: 'live' })));
$('#camera-btn').addEventListener('click', () => document.dispatchEvent(new CustomEvent('alphad:show', { detail: 'camera' })));
// The centre square depends on the frame's shape: redraw once it is known.
function whenSized() {
  if (page.hidden) return;
  if (view.naturalWidth > 0) { drawBox(); return; }
  requestAnimationFrame(whenSized);
}

// The streams run only while the page shows (pointing an image elsewhere
// ends its request).
function streams(on) {
  for (const [img, url] of [[view, '/api/camera/stream.mjpeg'], [$('#cam-model'), '/api/stream.mjpeg']]) {
    if (on && !img.dataset.on) { img.dataset.on = '1'; img.src = `${url}?v=${Date.now()}`; }
    if (!on && img.dataset.on) { delete img.dataset.on; img.src = BLANK; }
  }
}

document.addEventListener('alphad:tab', (e) => {
  const shown = e.detail === 'camera';
  streams(shown);
  if (shown) { draft = null; load().then(whenSized); }
});

document.addEventListener('alphad:events', (e) => {
  // A change from elsewhere (CLI, MQTT, another page) shows at once.
  e.detail.addEventListener('settings', () => { if (!page.hidden && !draft) load(); });
});
