// The media-ingest console: a grid of files with live progress, a sync form, and a page per file. Plain DOM, no
// build step; every text from the API goes in through textContent (never as HTML).
import {
  ApiError, Unauthorized, checkAccess, followEvents, forgetKey, json, loadImage, storeKey, storedKey,
} from './api.js';

const TERMINAL = new Set(['completed', 'failed', 'not_applicable']);
/** Event streams held open at once (the browser allows about six connections to one origin). */
const MAX_STREAMS = 3;
const PAGE_SIZE = 48;

const main = document.getElementById('main');
const session = document.getElementById('session');
const announcer = document.getElementById('announce');

/** What the current view holds: aborted and revoked when the view changes. */
let view = { controller: new AbortController(), urls: new Set() };

function newView() {
  view.controller.abort();
  for (const url of view.urls) URL.revokeObjectURL(url);
  view = { controller: new AbortController(), urls: new Set() };
  main.replaceChildren();
  return view;
}

/** `el('p', {class: 'x'}, 'text', child)`: an element with attributes and children (strings become text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return node;
}

function announce(text) {
  announcer.textContent = '';
  window.setTimeout(() => (announcer.textContent = text), 50);
}

function formatSize(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function formatTime(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

function formatDate(epoch) {
  if (typeof epoch !== 'number') return '—';
  const ms = epoch > 1e12 ? epoch : epoch * 1000;
  return new Date(ms).toLocaleString();
}

/** `downloading · 45% · 2.3 MB / 5.0 MB`, or the status. */
function progressText(file) {
  const p = file.progress;
  if (!p) return file.status;
  const parts = [p.stage ?? file.status];
  if (p.stage === 'downloading' || !p.stage) {
    if (p.bytes_total) parts.push(`${Math.floor((100 * p.bytes_received) / p.bytes_total)}%`);
    parts.push(p.bytes_total ? `${formatSize(p.bytes_received)} / ${formatSize(p.bytes_total)}` : formatSize(p.bytes_received));
  }
  if (p.retries) parts.push(`${p.retries} ${p.retries === 1 ? 'retry' : 'retries'}`);
  return parts.join(' · ');
}

function statusBadge(status) {
  return el('span', { class: `badge status-${status}` }, status.replace('_', ' '));
}

function progressBar(file) {
  const p = file.progress;
  const bar = el('progress', { 'aria-label': `Progress of ${file.filename}`, max: 100 });
  if (p && p.bytes_total && (p.stage === 'downloading' || !p.stage)) bar.value = Math.floor((100 * p.bytes_received) / p.bytes_total);
  else if (p && p.stage && p.stage !== 'downloading' && p.stage !== 'resolving') bar.value = 100;
  else bar.removeAttribute('value'); // indeterminate
  return bar;
}

function showError(where, error) {
  const text = error instanceof ApiError ? `${error.message} (${error.code})` : error.message;
  where.replaceChildren(el('p', { class: 'error', role: 'alert' }, text));
}

/** Runs `work`, sending the user back to the key form when the API refuses the key. */
async function guarded(work, errorTarget = main) {
  try {
    await work();
  } catch (error) {
    if (error.name === 'AbortError') return;
    if (error instanceof Unauthorized) {
      forgetKey();
      renderKeyForm('The API key was not accepted. Enter it again.');
      return;
    }
    showError(errorTarget, error);
  }
}

// ---- session ----------------------------------------------------------------------------------------------

function renderSession() {
  if (!storedKey()) {
    session.replaceChildren();
    return;
  }
  session.replaceChildren(
    el('button', { type: 'button', class: 'link', onclick: () => { forgetKey(); renderKeyForm('The key was forgotten for this tab.'); } }, 'Forget key'),
  );
}

function renderKeyForm(message) {
  const current = newView();
  renderSession();
  const input = el('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const feedback = el('div', { id: 'key-feedback' });
  if (message) feedback.append(el('p', { class: 'error', role: 'alert' }, message));
  const form = el('form', { class: 'card narrow', 'aria-labelledby': 'key-title' },
    el('h1', { id: 'key-title' }, 'Open the console'),
    el('p', {}, 'Enter an API key of this server (one of MEDIA_INGEST_API_KEYS). It is kept for this browser tab only.'),
    el('label', { for: 'api-key' }, 'API key'),
    input,
    el('button', { type: 'submit' }, 'Open'),
    feedback,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    void guarded(async () => {
      if (current.controller.signal.aborted) return;
      if (await checkAccess(key)) {
        storeKey(key);
        renderSession();
        announce('Key accepted');
        route();
      } else {
        feedback.replaceChildren(el('p', { class: 'error', role: 'alert' }, 'That key was not accepted.'));
        input.select();
      }
    }, feedback);
  });
  main.append(form);
  input.focus();
}

// ---- live updates -----------------------------------------------------------------------------------------

/** Follows files' event streams, at most MAX_STREAMS at a time; the rest wait their turn. */
class Followers {
  constructor(signal, onFile) {
    this.signal = signal;
    this.onFile = onFile;
    this.queue = [];
    this.running = new Set();
  }

  add(id) {
    if (this.running.has(id) || this.queue.includes(id)) return;
    this.queue.push(id);
    this.pump();
  }

  pump() {
    while (this.running.size < MAX_STREAMS && this.queue.length > 0 && !this.signal.aborted) {
      const id = this.queue.shift();
      this.running.add(id);
      followEvents(id, (name, file) => this.onFile(name, file), this.signal)
        .catch((error) => {
          if (error.name !== 'AbortError' && !(error instanceof ApiError && error.status === 404)) console.warn('event stream', error.message);
        })
        .finally(() => {
          this.running.delete(id);
          this.pump();
        });
    }
  }
}

// ---- the files grid ---------------------------------------------------------------------------------------

function posterImage(file, current, alt) {
  if (!file.thumbnail_url) return el('div', { class: 'poster placeholder', 'aria-hidden': 'true' }, file.media_type === 'audio' ? '♪' : '…');
  const img = el('img', { class: 'poster', alt, width: 320, height: 180, decoding: 'async' });
  loadImage(img, file.thumbnail_url, current.urls, current.controller.signal).catch((error) => {
    if (error.name !== 'AbortError') img.alt = `${alt} (image unavailable)`;
  });
  return img;
}

function fileCard(file, current) {
  const progress = TERMINAL.has(file.status)
    ? null
    : el('div', { class: 'live' }, progressBar(file), el('span', { class: 'progress-text' }, progressText(file)));
  return el('li', { class: 'tile', 'data-id': file.id, 'data-status': file.status },
    el('a', { href: `#/files/${encodeURIComponent(file.id)}`, class: 'tile-link' },
      posterImage(file, current, `Poster of ${file.filename}`),
      el('span', { class: 'name' }, file.filename),
    ),
    el('div', { class: 'meta' }, statusBadge(file.status), file.video_info ? el('span', {}, formatTime(file.video_info.duration_seconds)) : null, file.bytes ? el('span', {}, formatSize(file.bytes)) : null),
    progress,
    file.error ? el('p', { class: 'error small' }, file.error.code) : null,
  );
}

async function renderFiles() {
  const current = newView();
  renderSession();
  const urlInput = el('input', { id: 'sync-url', name: 'url', type: 'url', required: true, placeholder: 'https://example.com/video.mp4', inputmode: 'url', autocomplete: 'off' });
  const segments = el('input', { id: 'sync-segments', name: 'segments', type: 'checkbox', checked: true });
  const syncFeedback = el('div', { id: 'sync-feedback' });
  const form = el('form', { class: 'sync', 'aria-labelledby': 'sync-title' },
    el('h2', { id: 'sync-title' }, 'Sync a URL'),
    el('div', { class: 'row' },
      el('label', { for: 'sync-url' }, 'Media URL'),
      urlInput,
      el('button', { type: 'submit' }, 'Sync'),
    ),
    el('div', { class: 'row' }, segments, el('label', { for: 'sync-segments' }, 'Segment thumbnails')),
    syncFeedback,
  );
  const grid = el('ul', { class: 'grid', id: 'files', 'aria-label': 'Files' });
  const summary = el('p', { class: 'muted', id: 'files-summary' }, 'Loading files…');
  const refresh = el('button', { type: 'button', class: 'secondary', onclick: () => void renderFiles() }, 'Refresh');
  const heading = el('h1', { tabindex: '-1' }, 'Files');
  main.append(heading, form, el('section', { 'aria-label': 'All files' }, el('div', { class: 'bar' }, summary, refresh), grid));

  const cards = new Map();
  let total = 0;
  const count = () => {
    summary.textContent = total === 0
      ? 'No files yet: sync a URL above.'
      : `${total} ${total === 1 ? 'file' : 'files'}${total > cards.size ? `, newest ${cards.size} shown` : ''}`;
  };
  const place = (file, first = false) => {
    const card = fileCard(file, current);
    const old = cards.get(file.id);
    if (old) old.replaceWith(card);
    else {
      if (first) grid.prepend(card);
      else grid.append(card);
      if (first) total += 1;
    }
    cards.set(file.id, card);
    count();
  };
  const followers = new Followers(current.controller.signal, (name, file) => {
    if (name === 'file.deleted') {
      if (cards.has(file.id)) total -= 1;
      cards.get(file.id)?.remove();
      cards.delete(file.id);
      count();
      return;
    }
    place(file);
    if (name === 'file.completed' || name === 'file.failed') announce(`${file.filename}: ${file.status}`);
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    syncFeedback.replaceChildren();
    void guarded(async () => {
      const file = await json('v1/files/sync', { method: 'POST', body: { url: urlInput.value.trim(), enable_segment_thumbnails: segments.checked }, signal: current.controller.signal });
      place(file, true);
      if (!TERMINAL.has(file.status)) followers.add(file.id);
      urlInput.value = '';
      announce(`Syncing ${file.filename}`);
      syncFeedback.replaceChildren(el('p', { class: 'ok' }, `Accepted: ${file.filename} (${file.status})`));
    }, syncFeedback);
  });

  await guarded(async () => {
    const page = await json(`v1/files?limit=${PAGE_SIZE}`, { signal: current.controller.signal });
    total = page.total;
    count();
    for (const file of page.data) {
      place(file);
      if (!TERMINAL.has(file.status)) followers.add(file.id);
    }
  }, summary);
  heading.focus();
}

// ---- one file ---------------------------------------------------------------------------------------------

function infoList(file) {
  const info = file.media_info ?? {};
  const rows = [
    ['Status', statusBadge(file.status)],
    ['Media type', file.media_type ?? '—'],
    ['Duration', formatTime(info.duration_seconds)],
    ['Size', formatSize(file.bytes)],
    ['Resolution', info.width && info.height ? `${info.width} × ${info.height}` : '—'],
    ['Format', info.format ?? '—'],
    ['Bitrate', info.bitrate ? `${Math.round(info.bitrate / 1000)} kbit/s` : '—'],
    ['Audio', info.has_audio === false ? 'none' : info.sample_rate ? `${info.sample_rate} Hz${info.channels ? `, ${info.channels} ch` : ''}` : '—'],
    ['Source', file.source],
    ['URL', el('span', { class: 'break' }, file.url)],
    ['Created', formatDate(file.created_at)],
    ['SHA-256', el('code', { class: 'break' }, file.content_sha256 ?? '—')],
    ['ID', el('code', {}, file.id)],
  ];
  return el('dl', { class: 'info' }, rows.flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
}

async function renderFile(id) {
  const current = newView();
  renderSession();
  const back = el('p', {}, el('a', { href: '#/' }, '← All files'));
  main.append(back);
  await guarded(async () => {
    const signal = current.controller.signal;
    let file = await json(`v1/files/${encodeURIComponent(id)}`, { signal });
    const heading = el('h1', { tabindex: '-1', class: 'break' }, file.filename);
    const live = el('div', { class: 'live', id: 'file-progress' });
    const failure = el('div', { id: 'file-error' });
    const details = el('div', { class: 'details' });
    const strip = el('section', { 'aria-labelledby': 'strip-title', id: 'strip' });
    const actions = el('div', { class: 'actions' });
    main.append(heading, live, failure, details, strip, actions);

    const paint = async (latest) => {
      file = latest;
      live.replaceChildren(...(TERMINAL.has(file.status) ? [] : [progressBar(file), el('span', { class: 'progress-text' }, progressText(file))]));
      failure.replaceChildren(...(file.error
        ? [el('div', { class: 'error-box', role: 'alert' }, el('h2', {}, 'Failed'), el('p', {}, el('code', {}, file.error.code)), el('p', {}, file.error.message))]
        : []));
      details.replaceChildren(
        el('figure', { class: 'poster-large' }, posterImage(file, current, `Poster of ${file.filename}`)),
        infoList(file),
      );
      if (file.status === 'completed') await paintStrip();
      else strip.replaceChildren();
    };
    const paintStrip = async () => {
      const segments = await json(`v1/files/${encodeURIComponent(id)}/segments?limit=100`, { signal });
      const items = segments.data.filter((segment) => segment.thumbnail_url);
      strip.replaceChildren(el('h2', { id: 'strip-title' }, `Segment thumbnails (${items.length})`));
      if (items.length === 0) {
        strip.append(el('p', { class: 'muted' }, 'No segment thumbnails for this file.'));
        return;
      }
      const list = el('ol', { class: 'strip' });
      for (const segment of items) {
        const label = `Segment ${segment.index + 1}, ${formatTime(segment.start_time)} to ${formatTime(segment.end_time)}`;
        const img = el('img', { alt: label, width: 240, height: 135, decoding: 'async' });
        list.append(el('li', {}, el('figure', {}, img, el('figcaption', {}, `${formatTime(segment.start_time)}–${formatTime(segment.end_time)}`))));
        loadImage(img, segment.thumbnail_url, current.urls, signal).catch((error) => {
          if (error.name !== 'AbortError') img.alt = `${label} (image unavailable)`;
        });
      }
      strip.append(list);
    };

    const remove = el('button', { type: 'button', class: 'danger' }, 'Delete file');
    remove.addEventListener('click', () => {
      if (!window.confirm(`Delete ${file.filename}, its thumbnails and its stored media?`)) return;
      void guarded(async () => {
        await json(`v1/files/${encodeURIComponent(id)}`, { method: 'DELETE', signal });
        announce(`${file.filename} was deleted`);
        window.location.hash = '#/';
      }, actions);
    });
    actions.append(remove);

    await paint(file);
    heading.focus();
    if (!TERMINAL.has(file.status)) {
      await followEvents(id, (name, latest) => {
        if (name === 'file.deleted') {
          window.location.hash = '#/';
          return;
        }
        void guarded(() => paint(latest), failure);
        if (name === 'file.completed' || name === 'file.failed') announce(`${latest.filename}: ${latest.status}`);
      }, signal);
    }
  });
}

// ---- routing ----------------------------------------------------------------------------------------------

async function route() {
  const hash = window.location.hash;
  if (hash && !hash.startsWith('#/')) return; // in-page anchors such as the skip link
  if (!storedKey() && !(await checkAccess(null).catch(() => false))) {
    renderKeyForm();
    return;
  }
  const match = /^#\/files\/([^/]+)$/.exec(hash);
  if (match) await renderFile(decodeURIComponent(match[1]));
  else await renderFiles();
}

window.addEventListener('hashchange', () => void route());
void route();
