// Dictum web UI. One small vanilla module; each page's part runs by <body data-page>.
// Pages are server-rendered; this script adds recording, uploads, live status (SSE),
// in-place editing and approval, and keyboard shortcuts.

const body = document.body;
const PAGE = body.dataset.page || '';
const CSRF = body.dataset.csrf || '';
const USER = body.dataset.user || '';

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// ---- API -------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, data) {
  const opt = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (method !== 'GET') opt.headers['X-CSRF-Token'] = CSRF;
  if (data !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(data);
  }
  let res;
  try {
    res = await fetch(path, opt);
  } catch (e) {
    throw new ApiError(0, 'network', 'The server cannot be reached. Check the network and try again.');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
  if (!res.ok) {
    const err = json && json.error ? json.error : { code: 'http_' + res.status, message: `The server answered ${res.status}.` };
    if (res.status === 401) err.message = 'Your session has ended. Reload the page and log in again.';
    throw new ApiError(res.status, err.code, err.message);
  }
  return json;
}

async function fetchHTML(path) {
  const res = await fetch(path, { headers: { Accept: 'text/x-fragment' }, credentials: 'same-origin' });
  if (!res.ok) throw new ApiError(res.status, 'http', `The server answered ${res.status}.`);
  const tpl = document.createElement('template');
  tpl.innerHTML = (await res.text()).trim();
  return tpl.content.firstElementChild;
}

// ---- Toast -------------------------------------------------------------------

let toastTimer = 0;
function toast(text, opts = {}) {
  const el = $('#toast');
  if (!el) return;
  const btn = $('#toast-action');
  $('#toast-text').textContent = text;
  el.classList.toggle('bad', !!opts.bad);
  btn.hidden = !opts.action;
  btn.onclick = null;
  if (opts.action) {
    btn.textContent = opts.actionLabel || 'Undo';
    btn.onclick = () => { el.hidden = true; opts.action(); };
  }
  el.hidden = false;
  clearTimeout(toastTimer);
  const hide = () => {
    if (el.contains(document.activeElement)) { toastTimer = setTimeout(hide, 3000); return; }
    el.hidden = true;
  };
  toastTimer = setTimeout(hide, opts.action ? 10000 : 5000);
}

// ---- Keyboard ------------------------------------------------------------------

function isTyping(el) {
  if (!el || el === body) return false;
  if (el.isContentEditable) return true;
  if (el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') return true;
  if (el.tagName === 'INPUT') {
    return !['checkbox', 'radio', 'button', 'submit', 'reset', 'file', 'range', 'color'].includes(el.type);
  }
  return false;
}

const keyHandlers = {};
let lastKey = '';
document.addEventListener('keydown', (e) => {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
  if (isTyping(e.target)) return;
  const prev = lastKey;
  lastKey = e.key;
  if (prev === 'g' && e.key === 'i') { e.preventDefault(); location.href = '/inbox'; return; }
  const h = keyHandlers[e.key];
  if (h) {
    e.preventDefault();
    h(e);
  }
});

// ---- Live events (SSE) -----------------------------------------------------------

function liveEvents(onRecording, onReconnect, onEntry) {
  if (!window.EventSource) return;
  let lost = false;
  const es = new EventSource('/api/v1/events');
  es.addEventListener('recording', (e) => {
    try { onRecording(JSON.parse(e.data)); } catch (err) { /* ignore a bad event */ }
  });
  if (onEntry) {
    es.addEventListener('entry', (e) => {
      try { onEntry(JSON.parse(e.data)); } catch (err) { /* ignore a bad event */ }
    });
  }
  es.addEventListener('open', () => {
    if (lost && onReconnect) onReconnect();
    lost = false;
  });
  es.addEventListener('error', () => { lost = true; });
  window.addEventListener('pagehide', () => es.close());
}

// ---- Recording list items -----------------------------------------------------------

const STATUS_TEXT = { queued: 'Queued', transcribing: 'Transcribing', drafting: 'Drafting', done: 'Ready', failed: 'Failed',
  uploading: 'Uploading', pending: 'Waiting to upload' };

function recItem(id, status, title) {
  const li = document.createElement('li');
  li.className = 'rec';
  li.dataset.rec = id;
  li.innerHTML = '<span class="badge" data-role="badge"></span><span class="rec-main"><span class="rec-title"></span>' +
    '<span class="rec-detail" data-role="detail"></span></span>' +
    '<progress max="100" value="0" data-role="progress" aria-label="Progress" hidden></progress>' +
    '<a class="btn btn-small" data-role="link" href="/inbox" hidden>Review draft</a>';
  $('.rec-title', li).textContent = title;
  updateRec(li, { status });
  return li;
}

function updateRec(li, ev) {
  const status = ev.status || li.dataset.status;
  li.dataset.status = status;
  const badge = $('[data-role=badge]', li);
  badge.className = 'badge badge-' + status;
  badge.textContent = STATUS_TEXT[status] || status;
  const detail = $('[data-role=detail]', li);
  if (ev.detail !== undefined) detail.textContent = ev.detail || '';
  if (status === 'done') detail.textContent = 'The draft is in your inbox.';
  const prog = $('[data-role=progress]', li);
  prog.hidden = status !== 'transcribing';
  if (ev.progress !== undefined) prog.value = Math.max(0, Math.min(100, ev.progress || 0));
  const link = $('[data-role=link]', li);
  if (ev.entry_id) link.href = '/inbox#entry-' + ev.entry_id;
  link.hidden = !(status === 'done' && (ev.entry_id || !link.href.endsWith('/inbox')));
  if (status === 'failed' && !ev.detail && ev.id) {
    api('GET', '/api/v1/recordings/' + encodeURIComponent(ev.id)).then((r) => {
      detail.textContent = r.error || 'Transcription failed.';
    }).catch(() => {});
  }
}

async function refreshRecs(root) {
  for (const li of $$('[data-rec]', root)) {
    if (['done', 'failed'].includes(li.dataset.status)) continue;
    try {
      const r = await api('GET', '/api/v1/recordings/' + encodeURIComponent(li.dataset.rec));
      updateRec(li, { id: r.id, status: r.status, detail: r.status === 'failed' ? (r.error || '') : (r.status_detail || ''), progress: r.progress, entry_id: r.entry_id });
      if (r.status === 'done' && r.entry_id && li.closest('#working-list')) arrived(li, r.entry_id, r.id);
    } catch (e) { /* next reconnect tries again */ }
  }
}

function nowTitle() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `Recording of ${d.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short' }).replace(',', '')} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// ---- Pending uploads (IndexedDB) ------------------------------------------------------

const Pending = {
  db: null,
  async open() {
    if (this.db) return this.db;
    if (!window.indexedDB) return null;
    this.db = await new Promise((resolve) => {
      const req = indexedDB.open('dictum', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('pending', { keyPath: 'id' });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => resolve(null);
    });
    return this.db;
  },
  async run(mode, fn) {
    const db = await this.open();
    if (!db) return null;
    return new Promise((resolve, reject) => {
      const tx = db.transaction('pending', mode);
      const req = fn(tx.objectStore('pending'));
      tx.oncomplete = () => resolve(req ? req.result : null);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  },
  put(item) { return this.run('readwrite', (s) => s.put(item)); },
  del(id) { return this.run('readwrite', (s) => s.delete(id)); },
  async all() {
    const items = (await this.run('readonly', (s) => s.getAll())) || [];
    return items.filter((i) => i.user === USER).sort((a, b) => a.created - b.created);
  },
};

// uploadBlob sends audio with XMLHttpRequest (for upload progress). key makes a retry of
// an upload whose answer was lost return the recording the server already has.
function uploadBlob(blob, type, onProgress, key) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/recordings');
    xhr.setRequestHeader('X-CSRF-Token', CSRF);
    if (key) xhr.setRequestHeader('Idempotency-Key', String(key));
    xhr.setRequestHeader('Content-Type', type || 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let json = null;
      try { json = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      resolve({ status: xhr.status, json });
    };
    xhr.onerror = () => resolve({ status: 0, json: null });
    xhr.ontimeout = () => resolve({ status: 0, json: null });
    xhr.send(blob);
  });
}

function guessType(file) {
  if (file.type) return file.type;
  const ext = (file.name.split('.').pop() || '').toLowerCase();
  return { wav: 'audio/wav', mp3: 'audio/mpeg', m4a: 'audio/mp4', mp4: 'audio/mp4', aac: 'audio/aac', webm: 'audio/webm', ogg: 'audio/ogg', opus: 'audio/ogg' }[ext] || 'application/octet-stream';
}

// ---- Record page -------------------------------------------------------------------------

function initRecord() {
  const btn = $('#rec-btn');
  const label = $('#rec-label');
  const state = $('#rec-state');
  const timeEl = $('#rec-time');
  const level = $('#rec-level');
  const recent = $('#recent');
  const uploads = $('#uploads');
  const uploadList = $('#upload-list');
  const pendingBox = $('#pending');
  const pendingList = $('#pending-list');

  const canRecord = window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.AudioWorkletNode;
  if (!window.isSecureContext) {
    $('#insecure').hidden = false;
    label.textContent = 'Recording unavailable';
    state.textContent = 'Recording needs a secure (https) address; see the note above.';
  } else if (!canRecord) {
    label.textContent = 'Recording unavailable';
    state.textContent = 'This browser cannot record here. Upload a file instead, or use a current Chrome, Edge, Firefox or Safari.';
  } else {
    btn.disabled = false;
  }

  let rec = null; // the running recording

  function addRecent(id, status) {
    const empty = $('.empty', recent);
    if (empty) empty.remove();
    const li = recItem(id, status, nowTitle());
    recent.prepend(li);
    return li;
  }

  // send uploads one item (a recording or a file), keeping it in IndexedDB until the server has it.
  async function send(item) {
    uploads.hidden = false;
    const row = document.createElement('li');
    row.innerHTML = '<span class="badge badge-uploading">Uploading</span><span class="rec-main"><span class="rec-title"></span>' +
      '<span class="rec-detail" role="status"></span></span><progress max="100" value="0"></progress>';
    $('.rec-title', row).textContent = item.name;
    const prog = $('progress', row);
    prog.setAttribute('aria-label', 'Upload progress of ' + item.name);
    uploadList.prepend(row);
    const res = await uploadBlob(item.blob, item.type, (f) => { prog.value = Math.round(f * 100); }, item.id);
    row.remove();
    if (!uploadList.children.length) uploads.hidden = true;
    if ((res.status === 202 || res.status === 200) && res.json) {
      await Pending.del(item.id).catch(() => {});
      addRecent(res.json.id, res.json.status);
      state.textContent = 'Uploaded. Dictum is transcribing it; the draft will appear in your inbox.';
      toast('Uploaded — the draft will appear in your inbox.');
      renderPending();
      return true;
    }
    const transient = res.status === 0 || res.status === 401 || res.status === 408 || res.status === 429 || res.status >= 500;
    item.attempts = (item.attempts || 0) + 1;
    item.error = res.json && res.json.error ? res.json.error.message : (res.status === 0 ? 'the server could not be reached' : `the server answered ${res.status}`);
    if (res.status === 401) item.error = 'your session has ended; log in again and it will be sent';
    item.permanent = !transient;
    await Pending.put(item).catch(() => {});
    state.textContent = transient ? 'Not uploaded yet: ' + item.error + '. It is kept in this browser and retried.' : 'Not uploaded: ' + item.error + '.';
    toast(transient ? 'Upload failed; kept in this browser and retried.' : 'Upload refused: ' + item.error, { bad: true });
    renderPending();
    return false;
  }

  let urls = [];
  async function renderPending() {
    const items = await Pending.all().catch(() => []);
    urls.forEach((u) => URL.revokeObjectURL(u));
    urls = [];
    pendingList.textContent = '';
    pendingBox.hidden = items.length === 0;
    for (const it of items) {
      const li = document.createElement('li');
      li.innerHTML = '<span class="badge badge-pending"></span><span class="rec-main"><span class="rec-title"></span><span class="rec-detail"></span></span>' +
        '<a class="btn btn-small" data-role="dl">Download</a><button type="button" class="btn btn-small btn-danger" data-role="discard">Discard</button>';
      $('.badge', li).textContent = it.permanent ? 'Refused' : 'Waiting';
      $('.rec-title', li).textContent = it.name;
      $('.rec-detail', li).textContent = (it.error ? 'Last try: ' + it.error + '. ' : '') + `${Math.round(it.blob.size / 1024)} KB, kept since ${new Date(it.created).toLocaleTimeString()}.`;
      const url = URL.createObjectURL(it.blob);
      urls.push(url);
      const dl = $('[data-role=dl]', li);
      dl.href = url;
      dl.download = it.name;
      $('[data-role=discard]', li).addEventListener('click', async () => {
        if (!confirm('Discard this recording? It has not reached the server.')) return;
        await Pending.del(it.id).catch(() => {});
        renderPending();
      });
      pendingList.append(li);
    }
  }

  let retrying = false;
  async function retryPending(all) {
    if (retrying) return;
    retrying = true;
    try {
      for (const it of await Pending.all().catch(() => [])) {
        if (it.permanent && !all) continue;
        if (!(await send(it)) && !it.permanent) break; // still offline: stop for now
      }
    } finally {
      retrying = false;
    }
  }
  $('#retry-all').addEventListener('click', () => retryPending(true));
  window.addEventListener('online', () => retryPending(false));
  setInterval(() => { if (!pendingBox.hidden) retryPending(false); }, 30000);
  renderPending().then(() => retryPending(false));

  async function keepAndSend(blob, name, type) {
    const item = { id: (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()), user: USER, blob, name, type, created: Date.now(), attempts: 0 };
    await Pending.put(item).catch(() => {}); // a crash or closed tab before the upload ends keeps it
    return send(item);
  }

  async function start() {
    state.textContent = 'Starting the microphone…';
    btn.disabled = true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: true, autoGainControl: true } });
    } catch (e) {
      btn.disabled = false;
      state.textContent = e && e.name === 'NotAllowedError'
        ? 'The browser blocked the microphone. Allow it in the site settings (the icon left of the address), then try again.'
        : e && e.name === 'NotFoundError' ? 'No microphone was found. Plug one in, or upload a file below.'
          : 'The microphone could not start: ' + (e && e.message ? e.message : e);
      return;
    }
    try {
      const ctx = new AudioContext();
      await ctx.audioWorklet.addModule(body.dataset.worklet);
      const src = ctx.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(ctx, 'dictum-capture', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' });
      const mute = ctx.createGain();
      mute.gain.value = 0;
      src.connect(node);
      node.connect(mute);
      mute.connect(ctx.destination);
      const down = new Downsampler(ctx.sampleRate, 16000);
      let smooth = 0;
      let doneResolve;
      const done = new Promise((r) => { doneResolve = r; });
      node.port.onmessage = (e) => {
        if (e.data.done) { doneResolve(); return; }
        down.push(e.data.pcm);
        smooth = Math.max(e.data.rms, smooth * 0.85);
      };
      const t0 = performance.now();
      const maxSeconds = Number(btn.dataset.maxSeconds) || 7200;
      const tick = setInterval(() => {
        const s = Math.floor((performance.now() - t0) / 1000);
        timeEl.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
        if (s >= maxSeconds && rec) {
          toast('The recording reached the longest allowed length and was stopped.');
          stop();
        }
      }, 250);
      let raf = 0;
      const draw = () => {
        const db = 20 * Math.log10(smooth + 1e-6);
        level.style.transform = `scaleX(${Math.max(0, Math.min(1, (db + 60) / 60)).toFixed(3)})`;
        raf = requestAnimationFrame(draw);
      };
      draw();
      rec = { ctx, node, stream, down, done, tick, raf };
      btn.dataset.recording = 'true';
      label.textContent = 'Stop recording';
      btn.disabled = false;
      state.textContent = 'Recording… press the button (or r) to stop.';
      btn.focus();
    } catch (e) {
      stream.getTracks().forEach((t) => t.stop());
      btn.disabled = false;
      state.textContent = 'Recording could not start: ' + (e && e.message ? e.message : e);
    }
  }

  async function stop() {
    const r = rec;
    rec = null;
    btn.disabled = true;
    state.textContent = 'Finishing…';
    r.node.port.postMessage('stop');
    await Promise.race([r.done, new Promise((res) => setTimeout(res, 1000))]);
    clearInterval(r.tick);
    cancelAnimationFrame(r.raf);
    level.style.transform = 'scaleX(0)';
    r.stream.getTracks().forEach((t) => t.stop());
    r.ctx.close().catch(() => {});
    btn.dataset.recording = 'false';
    label.textContent = 'Start recording';
    btn.disabled = false;
    const wav = r.down.wav();
    if (r.down.length < 16000 * 0.5) {
      state.textContent = 'That was too short to be a dictation; nothing was sent.';
      return;
    }
    state.textContent = 'Uploading…';
    const stamp = new Date().toISOString().slice(0, 16).replace(':', '');
    await keepAndSend(wav, `dictation-${stamp}.wav`, 'audio/wav');
  }

  btn.addEventListener('click', () => { if (rec) stop(); else start(); });
  keyHandlers.r = () => { if (!btn.disabled) btn.click(); };

  $('#upload-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('#upload-file');
    const file = input.files && input.files[0];
    if (!file) { state.textContent = 'Choose an audio file first.'; input.focus(); return; }
    input.value = '';
    await keepAndSend(file, file.name, guessType(file));
  });

  const dform = $('#dictation-form');
  dform.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('#dictation-text');
    const err = $('#dictation-error');
    const status = $('#dictation-status');
    err.textContent = '';
    status.textContent = '';
    if (!text.value.trim()) { err.textContent = 'Type or paste what you did first.'; text.focus(); return; }
    const data = { text: text.value };
    if ($('#dictation-date').value) data.date = $('#dictation-date').value;
    const btn = dform.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const r = await api('POST', '/api/v1/dictations', data);
      const n = r.entries.length;
      text.value = '';
      status.textContent = `${n} draft${n === 1 ? '' : 's'} ready in the inbox.`;
      api('GET', '/api/v1/entries?status=draft&mine=1&limit=500').then((c) => setNavCount(c.count)).catch(() => {});
    } catch (ex) {
      err.textContent = ex.message;
      text.focus();
    } finally {
      btn.disabled = false;
    }
  });

  liveEvents((ev) => {
    const li = recent.querySelector(`[data-rec="${CSS.escape(ev.id)}"]`);
    if (!li) return;
    const was = li.dataset.status;
    updateRec(li, ev);
    if (ev.status === 'done' && was !== 'done') toast('Your draft is ready in the inbox.');
    if (ev.status === 'failed' && was !== 'failed') toast('A recording could not be transcribed; see Recent recordings.', { bad: true });
  }, () => refreshRecs(recent));
}

// Downsampler turns float PCM at any rate into 16 kHz 16-bit PCM (box-filter averaging, which
// also removes most of what would alias), kept as 1-second Int16Array chunks.
class Downsampler {
  constructor(inRate, outRate) {
    this.step = inRate / outRate;
    this.next = this.step;
    this.pos = 0;
    this.sum = 0;
    this.n = 0;
    this.chunks = [];
    this.cur = new Int16Array(outRate);
    this.ci = 0;
    this.length = 0;
  }

  push(pcm) {
    for (let i = 0; i < pcm.length; i++) {
      this.sum += pcm[i];
      this.n++;
      this.pos++;
      if (this.pos >= this.next) {
        const v = Math.max(-1, Math.min(1, this.sum / this.n));
        this.cur[this.ci++] = v < 0 ? v * 0x8000 : v * 0x7fff;
        this.length++;
        if (this.ci === this.cur.length) { this.chunks.push(this.cur); this.cur = new Int16Array(this.cur.length); this.ci = 0; }
        this.sum = 0;
        this.n = 0;
        this.next += this.step;
      }
    }
  }

  wav() {
    const parts = this.chunks.slice();
    if (this.ci) parts.push(this.cur.slice(0, this.ci));
    const dataBytes = this.length * 2;
    const h = new DataView(new ArrayBuffer(44));
    const str = (o, s) => { for (let i = 0; i < s.length; i++) h.setUint8(o + i, s.charCodeAt(i)); };
    str(0, 'RIFF'); h.setUint32(4, 36 + dataBytes, true); str(8, 'WAVE');
    str(12, 'fmt '); h.setUint32(16, 16, true); h.setUint16(20, 1, true); h.setUint16(22, 1, true);
    h.setUint32(24, 16000, true); h.setUint32(28, 32000, true); h.setUint16(32, 2, true); h.setUint16(34, 16, true);
    str(36, 'data'); h.setUint32(40, dataBytes, true);
    return new Blob([h.buffer, ...parts], { type: 'audio/wav' });
  }
}

// ---- Inbox -------------------------------------------------------------------------------

let current = null;

function cards() { return $$('#cards .card'); }

function selectCard(card, focus = true) {
  if (!card) return;
  if (current && current !== card) current.removeAttribute('aria-current');
  current = card;
  card.setAttribute('aria-current', 'true');
  if (focus) {
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: 'nearest', behavior: 'auto' });
  }
}

function move(delta) {
  const list = cards();
  if (!list.length) return;
  let i = list.indexOf(current);
  i = i < 0 ? 0 : Math.max(0, Math.min(list.length - 1, i + delta));
  selectCard(list[i]);
}

function updateCounts() {
  const list = cards();
  const n = list.length;
  let total = 0;
  for (const c of list) total += parseFloat($('[name=hours]', c).value) || 0;
  const dc = $('#draft-count');
  if (dc) dc.textContent = String(n);
  const dh = $('#draft-hours');
  if (dh) dh.textContent = total.toFixed(1);
  const empty = $('#empty');
  if (empty) empty.hidden = n > 0;
  const all = $('#select-all');
  if (all) all.disabled = n === 0;
  setNavCount(n);
  updateBulk();
}

function setNavCount(n) {
  const el = $('#nav-inbox-count');
  if (!el) return;
  el.textContent = String(n);
  el.hidden = n === 0;
  el.setAttribute('aria-label', `${n} drafts`);
}

function updateBulk() {
  const sel = $$('#cards [data-role=select]:checked');
  const b = $('#bulk-approve');
  if (!b) return;
  b.disabled = sel.length === 0;
  b.textContent = sel.length ? `Approve selected (${sel.length})` : 'Approve selected';
}

function matterIdFor(input) {
  const text = input.value.trim();
  if (!text) return { id: null };
  for (const o of $$('#matters option')) {
    if (o.value === text) return { id: o.dataset.id };
  }
  if (input.dataset.id && input.defaultValue === input.value) return { id: input.dataset.id };
  // A bare matter number also works.
  for (const o of $$('#matters option')) {
    if (o.value.split(' — ')[0].toLowerCase() === text.toLowerCase()) return { id: o.dataset.id, label: o.value };
  }
  return { error: `“${text}” is not a matter. Choose one from the list (type part of its number, client or name).` };
}

function formFields(form) {
  const m = matterIdFor(form.elements.matter);
  if (m.error) return { error: m.error, field: form.elements.matter };
  if (m.label) form.elements.matter.value = m.label;
  const hoursText = form.elements.hours.value.trim();
  const hours = Number(hoursText);
  if (hoursText === '' || !Number.isFinite(hours) || hours < 0 || hours > 24) {
    return { error: 'Hours must be a number from 0 to 24, in tenths (0.3 is 18 minutes).', field: form.elements.hours };
  }
  if (!form.elements.date.value) return { error: 'Enter the date.', field: form.elements.date };
  return {
    data: {
      matter: m.id,
      date: form.elements.date.value,
      hours,
      activity: form.elements.activity.value || null,
      task: form.elements.task.value || null,
      narrative: form.elements.narrative.value,
      billable: form.elements.billable.checked,
    },
  };
}

function showError(card, msg, field) {
  const el = $('[data-role=error]', card);
  el.textContent = msg || '';
  if (field) field.setAttribute('aria-invalid', 'true');
}

async function saveCard(card) {
  const form = $('form', card);
  $$('[aria-invalid]', form).forEach((f) => f.removeAttribute('aria-invalid'));
  const f = formFields(form);
  if (f.error) { showError(card, f.error, f.field); f.field.focus(); return false; }
  showError(card, '');
  const saved = $('[data-role=saved]', card);
  saved.textContent = 'Saving…';
  try {
    const e = await api('PATCH', '/api/v1/entries/' + encodeURIComponent(card.dataset.entryId), f.data);
    form.elements.hours.value = e.hours.toFixed(1);
    form.elements.matter.dataset.id = e.matter || '';
    form.elements.matter.defaultValue = form.elements.matter.value;
    const title = $('[data-role=title]', card);
    title.textContent = form.elements.matter.value || 'No matter yet';
    title.nextElementSibling.textContent = `· ${e.hours.toFixed(1)} h · ${e.date}`;
    delete card.dataset.dirty;
    saved.textContent = 'Saved';
    updateCounts();
    return true;
  } catch (err) {
    saved.textContent = '';
    showError(card, err.message);
    return false;
  }
}

function removeCard(card, focusNext = true) {
  const list = cards();
  const i = list.indexOf(card);
  card.remove();
  if (current === card) current = null;
  const rest = cards();
  updateCounts();
  if (focusNext && rest.length) selectCard(rest[Math.min(i, rest.length - 1)]);
  else if (!rest.length) $('#main').focus();
  return i;
}

const inflight = new Set(); // entry ids whose card is being fetched

async function reinsert(id, index, focus = true) {
  if (document.getElementById('entry-' + id) || inflight.has(id)) return;
  inflight.add(id);
  let card;
  try {
    card = await fetchHTML('/inbox/entries/' + encodeURIComponent(id));
  } finally {
    inflight.delete(id);
  }
  if (document.getElementById('entry-' + id)) return;
  const list = cards();
  const cont = $('#cards');
  if (index >= 0 && index < list.length) cont.insertBefore(card, list[index]); else cont.append(card);
  wireCard(card);
  updateCounts();
  if (focus) selectCard(card);
}

async function approveCard(card, next) {
  if (!card || card.classList.contains('busy')) return;
  if (card.dataset.dirty && !(await saveCard(card))) return;
  const id = card.dataset.entryId;
  card.classList.add('busy');
  try {
    await api('POST', `/api/v1/entries/${encodeURIComponent(id)}/approve`);
  } catch (err) {
    card.classList.remove('busy');
    showError(card, err.message);
    selectCard(card);
    return;
  }
  const list = cards();
  const i = list.indexOf(card);
  card.remove();
  if (current === card) current = null;
  updateCounts();
  const rest = cards();
  if (rest.length) selectCard(rest[next ? Math.min(i, rest.length - 1) : Math.min(i, rest.length - 1)]);
  else $('#main').focus();
  toast('Approved.', {
    action: async () => {
      try { await api('POST', `/api/v1/entries/${encodeURIComponent(id)}/reopen`); await reinsert(id, i); toast('Reopened as a draft.'); } catch (e) { toast(e.message, { bad: true }); }
    },
  });
}

async function deleteCard(card) {
  if (!card) return;
  if (card.classList.contains('busy')) return;
  const id = card.dataset.entryId;
  card.classList.add('busy');
  try {
    await api('DELETE', '/api/v1/entries/' + encodeURIComponent(id));
  } catch (err) { card.classList.remove('busy'); showError(card, err.message); return; }
  const i = removeCard(card);
  toast('Draft deleted.', {
    action: async () => {
      try { await api('POST', `/api/v1/entries/${encodeURIComponent(id)}/restore`); await reinsert(id, i); toast('Draft restored.'); } catch (e) { toast(e.message, { bad: true }); }
    },
  });
}

function wireCard(card) {
  const form = $('form', card);
  form.addEventListener('submit', (e) => { e.preventDefault(); saveCard(card); });
  form.addEventListener('input', (e) => {
    if (e.target.dataset.role === 'select') return;
    card.dataset.dirty = '1';
    $('[data-role=saved]', card).textContent = 'Unsaved changes';
  });
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); saveCard(card); }
    if (e.key === 'Escape' && isTyping(e.target)) { e.preventDefault(); selectCard(card); }
  });
  card.addEventListener('focusin', () => selectCard(card, false));
  $('[data-action=approve]', card).addEventListener('click', () => approveCard(card, false));
  $('[data-action=approve-next]', card).addEventListener('click', () => approveCard(card, true));
  $('[data-action=delete]', card).addEventListener('click', () => deleteCard(card));
  $('[data-role=select]', card).addEventListener('change', updateBulk);
}

// arrived replaces a finished recording in the "in progress" list by its drafts' cards (a day
// dictated in one go gives several drafts: they are shown in spoken order).
async function arrived(li, entryId, recId) {
  let ids = [entryId];
  if (recId) {
    try {
      const r = await api('GET', '/api/v1/recordings/' + encodeURIComponent(recId));
      if (r.entry_ids && r.entry_ids.length) ids = r.entry_ids;
    } catch (e) { /* the first draft still arrives */ }
  }
  const fresh = ids.filter((id) => !document.getElementById('entry-' + id));
  if (!fresh.length) { li.remove(); return; }
  try {
    const got = [];
    for (const id of fresh) got.push(await fetchHTML('/inbox/entries/' + encodeURIComponent(id)));
    for (const card of got.reverse()) {
      $('#cards').prepend(card);
      wireCard(card);
    }
    updateCounts();
    if (!current) selectCard($('#cards .card'), false);
    toast(got.length === 1 ? 'A new draft is ready to review.' : `${got.length} new drafts are ready to review.`);
  } catch (e) { return; }
  setTimeout(() => {
    li.remove();
    const wl = $('#working-list');
    if (wl && !wl.children.length) $('#working').hidden = true;
  }, 1500);
}

function initInbox() {
  cards().forEach(wireCard);
  updateCounts();
  const hash = location.hash.startsWith('#entry-') ? document.getElementById(location.hash.slice(1)) : null;
  if (hash) selectCard(hash); else if (cards().length) selectCard(cards()[0], false);

  $('#select-all').addEventListener('change', (e) => {
    $$('#cards [data-role=select]').forEach((c) => { c.checked = e.target.checked; });
    updateBulk();
  });
  $('#bulk-approve').addEventListener('click', async () => {
    const chosen = $$('#cards [data-role=select]:checked').map((c) => c.closest('.card'));
    for (const c of chosen) if (c.dataset.dirty && !(await saveCard(c))) return;
    try {
      const res = await api('POST', '/api/v1/entries/approve', { ids: chosen.map((c) => c.dataset.entryId) });
      for (const id of res.approved) { const c = document.getElementById('entry-' + id); if (c) c.remove(); }
      for (const f of res.errors) { const c = document.getElementById('entry-' + f.id); if (c) showError(c, 'Not approved: ' + f.message); }
      current = null;
      updateCounts();
      $('#select-all').checked = false;
      if (cards().length) selectCard(cards()[0]);
      toast(res.errors.length ? `Approved ${res.approved.length}; ${res.errors.length} need attention.` : `Approved ${res.approved.length}.`, { bad: res.errors.length > 0 });
    } catch (err) { toast(err.message, { bad: true }); }
  });

  // New manual entry.
  const panel = $('#new-entry');
  const toggle = $('#new-entry-btn');
  const openNew = (show) => {
    panel.hidden = !show;
    toggle.setAttribute('aria-expanded', String(show));
    if (show) $('#new-matter').focus(); else toggle.focus();
  };
  toggle.addEventListener('click', () => openNew(panel.hidden));
  $('#new-entry-cancel').addEventListener('click', () => openNew(false));
  const emptyNew = $('#empty-new');
  if (emptyNew) emptyNew.addEventListener('click', (e) => { e.preventDefault(); openNew(true); });
  const nform = $('#new-entry-form');
  nform.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); openNew(false); }
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); nform.requestSubmit(); }
  });
  nform.addEventListener('submit', async (e) => {
    e.preventDefault();
    const err = $('[data-role=error]', nform);
    const f = formFields(nform);
    if (f.error) { err.textContent = f.error; f.field.focus(); return; }
    err.textContent = '';
    try {
      const created = await api('POST', '/api/v1/entries', f.data);
      const card = await fetchHTML('/inbox/entries/' + encodeURIComponent(created.id));
      $('#cards').prepend(card);
      wireCard(card);
      const date = nform.elements.date.value;
      nform.reset();
      nform.elements.date.value = date;
      panel.hidden = true;
      toggle.setAttribute('aria-expanded', 'false');
      updateCounts();
      selectCard(card);
      toast('Draft added. Review it, then approve.');
    } catch (ex) { err.textContent = ex.message; }
  });

  keyHandlers.j = () => move(1);
  keyHandlers.k = () => move(-1);
  keyHandlers.e = () => { if (current) $('[name=narrative]', current).focus(); };
  keyHandlers.m = () => { if (current) $('[name=matter]', current).focus(); };
  keyHandlers.a = () => approveCard(current, false);
  keyHandlers.A = () => approveCard(current, true);
  keyHandlers.x = () => {
    if (!current) return;
    const c = $('[data-role=select]', current);
    c.checked = !c.checked;
    updateBulk();
  };
  keyHandlers['#'] = () => deleteCard(current);
  keyHandlers.n = () => openNew(true);

  const working = $('#working-list');
  liveEvents((ev) => {
    let li = working.querySelector(`[data-rec="${CSS.escape(ev.id)}"]`);
    if (!li) {
      if (ev.status === 'done') { if (ev.entry_id) arrivedFromNowhere(ev.entry_id, ev.id); return; }
      li = recItem(ev.id, ev.status, nowTitle());
      working.prepend(li);
      $('#working').hidden = false;
    }
    updateRec(li, ev);
    if (ev.status === 'done' && ev.entry_id) arrived(li, ev.entry_id, ev.id);
  }, () => refreshRecs(working), (ev) => {
    // The same timekeeper acted in another tab or device: keep this page in step.
    const card = document.getElementById('entry-' + ev.id);
    if (ev.status === 'draft') {
      if (!card) reinsert(ev.id, 0, false).catch(() => {});
    } else if (card && !card.classList.contains('busy')) {
      removeCard(card, card === current);
    }
  });
}

async function arrivedFromNowhere(entryId, recId) {
  const li = document.createElement('li');
  await arrived(li, entryId, recId);
}

// ---- Approved / billing lists -----------------------------------------------------------------

function initEntries() {
  for (const b of $$('[data-action=reopen]')) {
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await api('POST', `/api/v1/entries/${encodeURIComponent(b.dataset.id)}/reopen`);
        const row = b.closest('tr');
        const badge = $('.badge-approved', row);
        if (badge) { badge.className = 'badge badge-draft'; badge.textContent = 'Reopened'; }
        b.parentElement.textContent = 'Now a draft again';
        toast('Reopened: the entry is a draft again.');
      } catch (err) {
        b.disabled = false;
        toast(err.message, { bad: true });
      }
    });
  }
  for (const link of $$('.export-link')) {
    link.addEventListener('click', async (e) => {
      e.preventDefault();
      const msg = $('#export-msg');
      msg.textContent = 'Preparing the file…';
      try {
        const res = await fetch(link.href, { credentials: 'same-origin', headers: { Accept: 'text/csv, text/plain' } });
        if (res.status === 404) { msg.textContent = 'Export is not available yet on this server.'; return; }
        if (!res.ok) { msg.textContent = 'Not exported: ' + (await errorText(res)); return; }
        await saveResponse(res, link.id === 'export-ledes' ? 'dictum-ledes.txt' : 'dictum-entries.csv');
        msg.textContent = 'Downloaded. Nothing was marked exported.';
      } catch (err) {
        msg.textContent = 'The server cannot be reached.';
      }
    });
  }
  const mark = $('#export-mark');
  if (mark) {
    mark.addEventListener('click', async () => {
      const n = mark.dataset.count;
      if (!confirm(`Export ${n} approved entr${n === '1' ? 'y' : 'ies'} as CSV and mark ${n === '1' ? 'it' : 'them'} exported? Exported entries are locked: nobody can reopen or edit them.`)) return;
      const msg = $('#export-msg');
      mark.disabled = true;
      msg.textContent = 'Exporting…';
      const body = { format: 'csv', mark: true };
      for (const k of ['from', 'to', 'matter', 'timekeeper']) if (mark.dataset[k]) body[k] = mark.dataset[k];
      try {
        const r = await api('POST', '/api/v1/exports', body);
        const res = await fetch(r.download, { credentials: 'same-origin' });
        if (res.ok) await saveResponse(res, r.export.filename || 'dictum-export.csv');
        msg.textContent = `Exported and locked. The file stays available under exports (${r.export.id}).`;
        setTimeout(() => location.reload(), 1500);
      } catch (err) {
        mark.disabled = false;
        msg.textContent = 'Not exported: ' + err.message;
      }
    });
  }
}

async function errorText(res) {
  try { const j = await res.json(); if (j.error) return j.error.message; } catch (x) { /* not JSON */ }
  return `the server answered ${res.status}.`;
}

async function saveResponse(res, fallback) {
  const blob = await res.blob();
  const cd = res.headers.get('Content-Disposition') || '';
  const m = /filename="?([^";]+)"?/.exec(cd);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = m ? m[1] : fallback;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// ---- Two-factor authentication -------------------------------------------------------------

function initTwoFA() {
  const start = $('#tfa-start');
  if (start) {
    start.addEventListener('click', async () => {
      start.disabled = true;
      try {
        const r = await api('POST', '/api/v1/me/2fa');
        $('#tfa-qr').src = r.qr_png;
        $('#tfa-secret').textContent = r.secret;
        $('#tfa-start-box').hidden = true;
        $('#tfa-enrol').hidden = false;
        $('#tfa-code').focus();
      } catch (e) {
        start.disabled = false;
        toast(e.message, { bad: true });
      }
    });
    $('#tfa-confirm').addEventListener('submit', async (e) => {
      e.preventDefault();
      const err = $('#tfa-error');
      err.textContent = '';
      try {
        const r = await api('POST', '/api/v1/me/2fa/confirm', { code: $('#tfa-code').value.replace(/\s/g, '') });
        $('#tfa-enrol').hidden = true;
        const list = $('#tfa-codes');
        for (const c of r.recovery_codes) { const li = document.createElement('li'); li.textContent = c; list.append(li); }
        $('#tfa-done').hidden = false;
        $('#tfa-done h2').focus();
      } catch (ex) {
        err.textContent = ex.message;
        $('#tfa-code').focus();
      }
    });
  }
  const off = $('#tfa-off');
  if (off) {
    off.addEventListener('submit', async (e) => {
      e.preventDefault();
      const err = $('[data-role=error]', off);
      try {
        await api('DELETE', '/api/v1/me/2fa', { password: off.elements.password.value });
        location.reload();
      } catch (ex) { err.textContent = ex.message; }
    });
  }
}

// ---- Account: matter aliases ----------------------------------------------------------------

function initAccount() {
  const form = $('#alias-form');
  if (!form) return;
  const err = $('#alias-error');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    const data = { phrase: $('#alias-phrase').value, matter: $('#alias-matter').value, scope: $('#alias-scope') ? $('#alias-scope').value : 'user' };
    if (!data.phrase.trim()) { err.textContent = 'Type the words you use for the matter.'; $('#alias-phrase').focus(); return; }
    if (!data.matter) { err.textContent = 'Pick the matter.'; $('#alias-matter').focus(); return; }
    try {
      await api('POST', '/api/v1/aliases', data);
      location.reload();
    } catch (ex) { err.textContent = ex.message; }
  });
  $$('#aliases tr[data-alias-id]').forEach((tr) => {
    const save = $('[data-action=alias-save]', tr);
    const del = $('[data-action=alias-delete]', tr);
    if (save) save.addEventListener('click', async () => {
      try {
        await api('POST', '/api/v1/aliases', { phrase: tr.dataset.phrase, matter: $('[data-role=alias-matter]', tr).value, scope: tr.dataset.scope });
        toast('Alias saved.');
      } catch (ex) { toast(ex.message, { bad: true }); }
    });
    if (del) del.addEventListener('click', async () => {
      try {
        await api('DELETE', '/api/v1/aliases?id=' + encodeURIComponent(tr.dataset.aliasId));
        tr.remove();
        toast('Alias deleted.');
      } catch (ex) { toast(ex.message, { bad: true }); }
    });
  });
}

// ---- Start -------------------------------------------------------------------------------

if (USER) {
  if (!keyHandlers.r) keyHandlers.r = () => { location.href = '/record'; };
  if (PAGE !== 'inbox') {
    api('GET', '/api/v1/entries?status=draft&mine=1&limit=500').then((r) => setNavCount(r.count)).catch(() => {});
  }
}
if (PAGE === 'record') initRecord();
if (PAGE === 'inbox') initInbox();
if (PAGE === 'entries') initEntries();
if (PAGE === 'twofa') initTwoFA();
if (PAGE === 'account') initAccount();
