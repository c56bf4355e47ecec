// Real loopback HTTP/HTTPS fixture servers for tests. No network mocks: tests talk to these over real sockets.
// HTTPS servers present test/.certs/server.pem (issued by test/.certs/ca.pem, see make-certs.mjs), whose SANs cover
// the real hostnames the engine handles (www.tiktok.com, www.dropbox.com, ...). Route those hostnames here with
// MEDIA_INGEST_CONNECT_TO=connectToFor(server, [...hosts]).
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const CERT_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '.certs');
export const CERT_FILES = {
  ca: join(CERT_DIR, 'ca.pem'),
  cert: join(CERT_DIR, 'server.pem'),
  key: join(CERT_DIR, 'server-key.pem'),
} as const;
const MAKE_CERTS = fileURLToPath(new URL('./make-certs.mjs', import.meta.url));

/** Runs make-certs.mjs if the certificate files are missing (it is idempotent and fast). */
export function ensureCerts(): void {
  if (Object.values(CERT_FILES).every((f) => existsSync(f))) return;
  execFileSync(process.execPath, [MAKE_CERTS], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The test CA (PEM) to pass as `ca` to TLS clients that do not use NODE_EXTRA_CA_CERTS. */
export function testCa(): Buffer {
  ensureCerts();
  return readFileSync(CERT_FILES.ca);
}

export interface LoggedRequest {
  method: string;
  /** Host header, lowercased, without the port. */
  host: string;
  /** Pathname only. */
  path: string;
  /** Path plus query, as sent in the request line. */
  url: string;
  headers: IncomingHttpHeaders;
  /** Date.now() when the request arrived. */
  time: number;
}

export interface RouteContext {
  url: URL;
  host: string;
  path: string;
  query: URLSearchParams;
  /** The regex match for RegExp routes (capture groups), null for string routes. */
  match: RegExpExecArray | null;
  request: LoggedRequest;
  server: FixtureServer;
  /** Reads the whole request body. */
  body(): Promise<Buffer>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => void | Promise<void>;

export interface RouteOptions {
  /** Only match this Host (header value without port, case-insensitive). */
  host?: string | RegExp;
}

export interface FixtureServer {
  readonly port: number;
  /** e.g. https://127.0.0.1:PORT */
  readonly origin: string;
  readonly https: boolean;
  /** Every request received, matched or not, in arrival order. */
  readonly requests: LoggedRequest[];
  /** Errors thrown by handlers (the client got a 500 or a reset). */
  readonly errors: unknown[];
  /**
   * Registers a handler. `method` is case-insensitive, '*' matches any; HEAD falls back to GET routes.
   * A string matches the pathname exactly; a RegExp is tested against the pathname. The most recently
   * registered matching route wins; registering the same method+path+host again replaces it.
   * Returns a function that removes the route.
   */
  route(method: string, pathOrRegex: string | RegExp, handler: Handler, opts?: RouteOptions): () => void;
  /** Removes all routes and clears the request log and errors. */
  reset(): void;
  /** Clears the request log only. */
  clearRequests(): void;
  /** Number of logged requests with this method ('*' = any) and pathname (string = exact, RegExp = test). */
  count(method: string, path: string | RegExp, host?: string): number;
  /** origin + path. */
  url(path: string): string;
  /** Stops listening and destroys every open socket. */
  close(): Promise<void>;
}

interface Route {
  method: string;
  path: string | RegExp;
  host: string | RegExp | undefined;
  handler: Handler;
}

const samePattern = (a: string | RegExp | undefined, b: string | RegExp | undefined): boolean =>
  a instanceof RegExp && b instanceof RegExp ? a.source === b.source && a.flags === b.flags : a === b;

const testPattern = (p: string | RegExp, value: string): boolean => {
  if (typeof p === 'string') return p === value;
  p.lastIndex = 0;
  return p.test(value);
};

function hostWithoutPort(raw: string | undefined): string {
  const h = (raw ?? '').trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const i = h.lastIndexOf(':');
  return i >= 0 && h.indexOf(':') === i ? h.slice(0, i) : h;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startFixtureServer(opts: { https?: boolean } = {}): Promise<FixtureServer> {
  const secure = opts.https ?? false;
  let routes: Route[] = [];
  const requests: LoggedRequest[] = [];
  const errors: unknown[] = [];
  const sockets = new Set<Socket>();

  let self!: FixtureServer;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const method = (req.method ?? 'GET').toUpperCase();
    const host = hostWithoutPort(req.headers.host);
    const url = new URL(req.url ?? '/', 'http://fixture.invalid');
    const logged: LoggedRequest = {
      method, host, path: url.pathname, url: req.url ?? '/', headers: req.headers, time: Date.now(),
    };
    requests.push(logged);

    const find = (m: string): { route: Route; match: RegExpExecArray | null } | undefined => {
      for (let i = routes.length - 1; i >= 0; i--) {
        const r = routes[i]!;
        if (r.method !== '*' && r.method !== m) continue;
        if (r.host !== undefined && !testPattern(r.host, host)) continue;
        if (typeof r.path === 'string') {
          if (r.path === url.pathname) return { route: r, match: null };
        } else {
          r.path.lastIndex = 0;
          const match = r.path.exec(url.pathname);
          if (match) return { route: r, match };
        }
      }
      return undefined;
    };
    const found = find(method) ?? (method === 'HEAD' ? find('GET') : undefined);
    if (!found) {
      sendText(res, 404, `no fixture route for ${method} ${host}${url.pathname}\n`);
      return;
    }
    const ctx: RouteContext = {
      url, host, path: url.pathname, query: url.searchParams, match: found.match, request: logged, server: self,
      body: () => readBody(req),
    };
    const fail = (err: unknown): void => {
      errors.push(err);
      if (!res.headersSent) sendText(res, 500, `fixture handler failed: ${String(err)}\n`);
      else res.destroy();
    };
    try {
      Promise.resolve(found.route.handler(req, res, ctx)).catch(fail);
    } catch (err) {
      fail(err);
    }
  };

  let server: http.Server;
  if (secure) {
    ensureCerts();
    server = https.createServer({ cert: readFileSync(CERT_FILES.cert), key: readFileSync(CERT_FILES.key) }, onRequest);
  } else {
    server = http.createServer(onRequest);
  }
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // TLS handshake failures (e.g. a client rejecting the cert) must not crash the test process.
  server.on('tlsClientError', () => undefined);
  server.on('clientError', (_err: Error, socket: Socket) => socket.destroy());

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', fail);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `${secure ? 'https' : 'http'}://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;

  self = {
    port,
    origin,
    https: secure,
    requests,
    errors,
    route(method, pathOrRegex, handler, ropts = {}) {
      const r: Route = { method: method.toUpperCase(), path: pathOrRegex, host: ropts.host, handler };
      if (typeof r.host === 'string') r.host = r.host.toLowerCase();
      routes = routes.filter(
        (x) => !(x.method === r.method && samePattern(x.path, r.path) && samePattern(x.host, r.host)),
      );
      routes.push(r);
      return () => {
        routes = routes.filter((x) => x !== r);
      };
    },
    reset() {
      routes = [];
      requests.length = 0;
      errors.length = 0;
    },
    clearRequests() {
      requests.length = 0;
    },
    count(method, path, host) {
      const m = method.toUpperCase();
      const h = host?.toLowerCase();
      return requests.filter(
        (r) => (m === '*' || r.method === m) && testPattern(path, r.path) && (h === undefined || r.host === h),
      ).length;
    },
    url(path) {
      return origin + path;
    },
    close() {
      closed ??= new Promise<void>((ok) => {
        server.close(() => ok());
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
  return self;
}

/**
 * curl --connect-to routes for MEDIA_INGEST_CONNECT_TO: `host:PORT:127.0.0.1:server.port` joined by commas.
 * PORT (the port in the URL) defaults to 443 for an https server, 80 for an http one.
 */
export function connectToFor(server: Pick<FixtureServer, 'port' | 'https'>, hosts: string[], port?: number): string {
  const urlPort = port ?? (server.https ? 443 : 80);
  return hosts.map((h) => `${h}:${urlPort}:127.0.0.1:${server.port}`).join(',');
}

// ---------------------------------------------------------------------------------------------------------------
// Response helpers

const CONTENT_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4', '.m4v': 'video/mp4', '.mov': 'video/quicktime', '.webm': 'video/webm', '.mkv': 'video/x-matroska',
  '.mp3': 'audio/mpeg', '.m4a': 'audio/mp4', '.wav': 'audio/wav', '.ogg': 'audio/ogg', '.opus': 'audio/ogg',
  '.html': 'text/html; charset=utf-8', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
  '.jpg': 'image/jpeg', '.png': 'image/png', '.zip': 'application/zip', '.m3u8': 'application/vnd.apple.mpegurl',
};

export interface ServeOptions {
  /** Default: guessed from the file extension, else application/octet-stream. */
  contentType?: string;
  headers?: OutgoingHttpHeaders;
  /** Status for a full (non-range) response. Default 200. */
  status?: number;
  /** Honour `Range: bytes=a-b | a- | -n` with 206 + Content-Range (416 beyond the end); advertise Accept-Ranges. */
  supportRange?: boolean;
  /** Send without Content-Length (chunked transfer encoding). */
  chunked?: boolean;
  /** Throttle the body to about this many bytes per second. */
  dripBytesPerSecond?: number;
  /** Close the connection after this many body bytes (Content-Length still announces the full size). */
  truncateAfter?: number;
  /** Announce this Content-Length; sends at most that many bytes and closes the connection if the body is shorter. */
  contentLengthOverride?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));

function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'invalid' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // unsupported syntax (e.g. multi-range): ignore
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'invalid';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'invalid';
  return { start, end };
}

/** Ends the socket gracefully (all written bytes reach the client), without finishing the HTTP message. */
function cutConnection(res: ServerResponse): void {
  const socket = res.socket;
  if (!socket) return;
  socket.end(() => setTimeout(() => socket.destroy(), 1000).unref());
}

async function streamBody(
  res: ServerResponse,
  source: Readable,
  limit: number,
  opts: ServeOptions,
  afterLimit: 'end' | 'cut',
): Promise<void> {
  let sent = 0;
  const closed = (): boolean => res.destroyed || !res.socket || res.socket.destroyed;
  const write = (chunk: Buffer): Promise<void> =>
    new Promise((ok) => {
      if (res.write(chunk)) ok();
      else {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          ok();
        };
        res.on('drain', done);
        res.on('close', done);
      }
    });
  try {
    const rate = opts.dripBytesPerSecond;
    const slice = rate ? Math.max(1, Math.floor(rate / 20)) : Infinity;
    for await (const data of source) {
      let chunk = data as Buffer;
      if (sent + chunk.length > limit) chunk = chunk.subarray(0, limit - sent);
      for (let off = 0; off < chunk.length; off += slice === Infinity ? chunk.length : slice) {
        if (closed()) return;
        const part = slice === Infinity ? chunk : chunk.subarray(off, off + slice);
        await write(part);
        sent += part.length;
        if (rate) await sleep((part.length / rate) * 1000);
      }
      if (sent >= limit) break;
    }
  } finally {
    source.destroy();
  }
  if (closed()) return;
  if (afterLimit === 'cut') {
    // Close the connection mid-message; socket.end() still flushes what was already written.
    cutConnection(res);
  } else {
    res.end();
  }
}

async function serveSource(
  res: ServerResponse,
  size: number,
  open: (start: number, end: number) => Readable,
  contentType: string,
  opts: ServeOptions,
): Promise<void> {
  const req = res.req as IncomingMessage | undefined;
  const headers: OutgoingHttpHeaders = { 'content-type': contentType };
  if (opts.supportRange) headers['accept-ranges'] = 'bytes';
  let status = opts.status ?? 200;
  let start = 0;
  let end = size - 1;
  if (opts.supportRange) {
    const range = parseRange(req?.headers.range, size);
    if (range === 'invalid') {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}`, 'content-length': 0, ...opts.headers });
      res.end();
      return;
    }
    if (range) {
      ({ start, end } = range);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${size}`;
    }
  }
  const length = Math.max(0, end - start + 1);
  let limit = length;
  let afterLimit: 'end' | 'cut' = 'end';
  if (!opts.chunked) headers['content-length'] = opts.contentLengthOverride ?? length;
  if (opts.contentLengthOverride !== undefined && !opts.chunked) {
    limit = Math.min(length, opts.contentLengthOverride);
    if (opts.contentLengthOverride > length) afterLimit = 'cut';
  }
  if (opts.truncateAfter !== undefined && opts.truncateAfter < limit) {
    limit = opts.truncateAfter;
    afterLimit = 'cut';
  }
  res.writeHead(status, { ...headers, ...opts.headers });
  if (req?.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  res.flushHeaders();
  await streamBody(res, open(start, end), limit, opts, afterLimit);
}

/** Streams a file (never buffered whole). See ServeOptions for ranges, chunking, throttling and truncation. */
export async function serveFile(res: ServerResponse, filePath: string, opts: ServeOptions = {}): Promise<void> {
  const size = statSync(filePath).size;
  const type = opts.contentType ?? CONTENT_TYPES[extname(filePath).toLowerCase()] ?? 'application/octet-stream';
  await serveSource(res, size, (start, end) => createReadStream(filePath, { start, end, highWaterMark: 64 * 1024 }), type, opts);
}

/** Like serveFile, for an in-memory body. */
export async function serveBuffer(res: ServerResponse, body: Buffer, opts: ServeOptions = {}): Promise<void> {
  const type = opts.contentType ?? 'application/octet-stream';
  const open = (start: number, end: number): Readable => {
    const part = body.subarray(start, end + 1);
    const chunks: Buffer[] = [];
    for (let i = 0; i < part.length; i += 64 * 1024) chunks.push(part.subarray(i, i + 64 * 1024));
    return Readable.from(chunks);
  };
  await serveSource(res, body.length, open, type, opts);
}

export function sendText(res: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders = {}): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': buf.length, ...headers });
  res.end(buf);
}

export function sendJson(res: ServerResponse, status: number, obj: unknown, headers: OutgoingHttpHeaders = {}): void {
  sendText(res, status, JSON.stringify(obj), { 'content-type': 'application/json; charset=utf-8', ...headers });
}

export function redirect(res: ServerResponse, status: number, location: string): void {
  sendText(res, status, `Redirecting to ${location}\n`, { location });
}
