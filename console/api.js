// The console's access to the media-ingest API: the bearer key lives in sessionStorage (this tab only, gone when
// it closes) and travels only in the Authorization header — never in a URL. Event streams are read with fetch
// (EventSource cannot send headers); thumbnail images are fetched with the header into blob: object URLs.

const KEY_NAME = 'media-ingest.console.key';

/** The API root: the console lives at `<prefix>/console/`, the API at `<prefix>/`. */
export const apiBase = new URL('../', window.location.href);

/** Raised when the API answers 401: the key is missing or wrong. */
export class Unauthorized extends Error {}

/** An `{error, code}` answer of the API. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body && typeof body.error === 'string' ? body.error : `HTTP ${status}`);
    this.status = status;
    this.code = body && typeof body.code === 'string' ? body.code : 'http_error';
  }
}

export function storedKey() {
  try {
    return window.sessionStorage.getItem(KEY_NAME);
  } catch {
    return null;
  }
}

export function storeKey(key) {
  window.sessionStorage.setItem(KEY_NAME, key);
}

export function forgetKey() {
  window.sessionStorage.removeItem(KEY_NAME);
}

/** The same-origin API URL of `pathOrUrl` (absolute thumbnail URLs of another origin are mapped by their path). */
export function apiUrl(pathOrUrl) {
  const text = String(pathOrUrl);
  const at = text.lastIndexOf('/v1/files/');
  const relative = at >= 0 ? text.slice(at + 1) : text.replace(/^\//, '');
  return new URL(relative, apiBase);
}

/** fetch() against the API with the key; throws Unauthorized on 401 and ApiError on other failures. */
export async function request(path, { method = 'GET', body, signal, accept = 'application/json', key = storedKey() } = {}) {
  const headers = { accept };
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(apiUrl(path), {
    method, headers, signal, credentials: 'same-origin', cache: 'no-store', referrerPolicy: 'no-referrer',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (response.status === 401) throw new Unauthorized('The API key was not accepted');
  if (!response.ok) {
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      // not JSON
    }
    throw new ApiError(response.status, payload);
  }
  return response;
}

/** GET/POST/DELETE returning the JSON body. */
export async function json(path, options) {
  const response = await request(path, options);
  return response.json();
}

/** True when the API lets this key (or the host's own session) in. */
export async function checkAccess(key) {
  try {
    await request('v1/files?limit=1', { key });
    return true;
  } catch (error) {
    if (error instanceof Unauthorized) return false;
    throw error;
  }
}

/**
 * Follows `GET /v1/files/{id}/events` and calls `onEvent(name, file)` for each event until the stream ends or
 * `signal` aborts. Resolves when the stream ends.
 */
export async function followEvents(id, onEvent, signal) {
  const response = await request(`v1/files/${encodeURIComponent(id)}/events`, { signal, accept: 'text/event-stream' });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length > 0) onEvent(name, JSON.parse(data.join('\n')));
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** Loads an API image into `img` through an object URL; `urls` collects the URLs to revoke later. */
export async function loadImage(img, url, urls, signal) {
  const response = await request(url, { signal, accept: 'image/*' });
  const blob = await response.blob();
  const objectUrl = URL.createObjectURL(blob);
  urls.add(objectUrl);
  await new Promise((resolve, reject) => {
    img.addEventListener('load', resolve, { once: true });
    img.addEventListener('error', () => reject(new Error('The image could not be decoded')), { once: true });
    img.src = objectUrl;
  });
}
