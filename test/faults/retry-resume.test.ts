// Retries and resume through the real engine over loopback: Retry-After, budgets, Range resumes, restarts from
// zero, 416, changed validators, idle timeouts, expired signed URLs.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IngestError } from '../../src/errors.js';
import type { SourcePlugin } from '../../src/plugin-api.js';
import type { IngestFile } from '../../src/engine/file-view.js';
import { directHttp } from '../../plugins/direct-http/index.js';
import { connectToFor, sendText, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer, ServeOptions } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { startEngine } from '../support/engine.js';
import type { TestEngine } from '../support/engine.js';
import { filesUnder } from './support.js';

const HOST = 'retry.example.test';
const BASE = `http://${HOST}`;
const MEDIA = (): string => mediaPath('sample.mp4');
const SIZE = (): number => statSync(MEDIA()).size;
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const VALIDATORS = { etag: '"v1"', 'last-modified': 'Tue, 01 Apr 2025 10:00:00 GMT' };

let server: FixtureServer;
let engine: TestEngine;

/** A handler that answers its n-th request (1-based) with `answer(n)`. */
function sequence(route: string, answer: (n: number, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => unknown): void {
  let n = 0;
  server.route('GET', route, (req, res) => answer(++n, req, res) as Promise<void>);
}

const cut = (fraction: number, extra: ServeOptions = {}): ServeOptions => ({
  supportRange: true, headers: VALIDATORS, truncateAfter: Math.floor(SIZE() * fraction), ...extra,
});
const whole: ServeOptions = { supportRange: true, headers: VALIDATORS };

beforeAll(async () => {
  ensureMedia();
  server = await startFixtureServer();
  engine = await startEngine({
    connectTo: [connectToFor(server, [HOST, 'signed.example.test', 'cdn.example.test'])],
    retry: { baseDelayMs: 20, maxDelayMs: 200 },
    thumbnails: { width: 160 },
    plugins: [signedPlugin(), directHttp()],
  });
});

afterAll(async () => {
  await engine?.close();
  await server?.close();
});

afterEach(() => {
  expect(filesUnder(path.join(engine.dataDir, 'tmp'))).toEqual([]);
});

const requestsTo = (route: string) => server.requests.filter((r) => r.path === route);

/**
 * The offset of a `Range: bytes=<n>-` header, checked to be a resume of a body cut at `cutAt`: above zero and at most
 * the cut (the client may lose up to its read-ahead buffer, 1 MiB, of what arrived just before the cut).
 */
function resumeOffset(range: string | string[] | undefined, cutAt: number): number {
  const match = /^bytes=(\d+)-$/.exec(String(range));
  expect(match, `a Range header, got ${String(range)}`).not.toBeNull();
  const offset = Number(match![1]);
  expect(offset).toBeGreaterThan(0);
  expect(offset).toBeLessThanOrEqual(cutAt);
  expect(offset).toBeGreaterThanOrEqual(cutAt - (1 << 20));
  return offset;
}

describe('retries at open', () => {
  it('waits what Retry-After says (503 twice with Retry-After: 1, then 200) and shows the retries', async () => {
    sequence('/busy.mp4', (n, _req, res) => (n <= 2 ? sendText(res, 503, 'busy', { 'retry-after': '1' }) : serveFile(res, MEDIA(), whole)));
    const file = await engine.ingest.sync(`${BASE}/busy.mp4`);
    expect(file.progress).toMatchObject({ attempt: 3, retries: 2, last_retry_error: { code: 'upstream_error' } });
    const done = await engine.ingest.waitFor(file.id);
    expect(done.status).toBe('completed');
    expect(done.content_sha256).toBe(sha256(MEDIA()));
    const times = requestsTo('/busy.mp4').map((r) => r.time);
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(990);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(990);
    expect(times[2]! - times[0]!).toBeLessThan(4000);
  });

  it('honours Retry-After as an HTTP-date', async () => {
    sequence('/busy-date.mp3', (n, _req, res) => {
      const at = new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000).toUTCString();
      return n === 1 ? sendText(res, 429, 'slow down', { 'retry-after': at }) : serveFile(res, mediaPath('sample.mp3'));
    });
    const file = await engine.ingest.sync(`${BASE}/busy-date.mp3`, { wait: true });
    expect(file.status).toBe('completed');
    const [a, b] = requestsTo('/busy-date.mp3').map((r) => r.time);
    expect(b! - a!).toBeGreaterThanOrEqual(900);
  });

  it('gives up at once when Retry-After asks for more than the cap', async () => {
    server.route('GET', '/later.mp4', (_req, res) => sendText(res, 503, 'later', { 'retry-after': '3600' }));
    const started = Date.now();
    const error = await engine.ingest.sync(`${BASE}/later.mp4`).catch((e: unknown) => e as IngestError);
    expect(error).toMatchObject({ code: 'upstream_error' });
    expect((error as IngestError).message).toMatch(/retry after 3600 s/);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(requestsTo('/later.mp4')).toHaveLength(1);
  });

  it('stops after the configured attempts, and fails non-retryable statuses at once', async () => {
    server.route('GET', '/down.mp4', (_req, res) => sendText(res, 502, 'bad gateway'));
    server.route('GET', '/limited.mp4', (_req, res) => sendText(res, 429, 'too many'));
    server.route('GET', '/gone.mp4', (_req, res) => sendText(res, 410, 'gone'));
    await expect(engine.ingest.sync(`${BASE}/down.mp4`)).rejects.toMatchObject({ code: 'upstream_error', message: expect.stringMatching(/gave up after 5 attempts/) });
    expect(requestsTo('/down.mp4')).toHaveLength(5);
    await expect(engine.ingest.sync(`${BASE}/limited.mp4`)).rejects.toMatchObject({ code: 'upstream_blocked' });
    expect(requestsTo('/limited.mp4')).toHaveLength(5);
    await expect(engine.ingest.sync(`${BASE}/gone.mp4`)).rejects.toMatchObject({ code: 'source_not_found' });
    expect(requestsTo('/gone.mp4')).toHaveLength(1);
  });

  it('stops when the retry time budget is spent', async () => {
    const tight = await startEngine({
      connectTo: [connectToFor(server, [HOST])], retry: { attempts: 50, baseDelayMs: 150, maxDelayMs: 150, maxTotalMs: 500 },
    });
    try {
      server.route('GET', '/budget.mp4', (_req, res) => sendText(res, 503, 'no'));
      const started = Date.now();
      await expect(tight.ingest.sync(`${BASE}/budget.mp4`)).rejects.toMatchObject({ code: 'upstream_error', message: expect.stringMatching(/longer than 500 ms/) });
      expect(Date.now() - started).toBeLessThan(1500);
      expect(requestsTo('/budget.mp4').length).toBeLessThanOrEqual(6);
    } finally {
      await tight.close();
    }
  });
});

describe('connection failures before any response', () => {
  it('retries connections reset before the response (a cut handshake), then succeeds', async () => {
    let connections = 0;
    const proxy = net.createServer((socket) => {
      if (++connections <= 2) return void socket.destroy();
      const upstream = net.connect(server.port, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      const close = (): void => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    const proxied = await startEngine({
      connectTo: [`reset.example.test:80:127.0.0.1:${(proxy.address() as AddressInfo).port}`],
      retry: { baseDelayMs: 20 },
    });
    try {
      server.route('GET', '/through-proxy.mp3', (_req, res) => serveFile(res, mediaPath('sample.mp3')));
      const file = await proxied.ingest.sync('http://reset.example.test/through-proxy.mp3', { wait: true });
      expect(file.status).toBe('completed');
      expect(connections).toBeGreaterThanOrEqual(3);
    } finally {
      await proxied.close();
      await new Promise((ok) => proxy.close(ok));
    }
  });

  it('retries a refused connection and gives up after the configured attempts', async () => {
    const closed = net.createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    const refused = await startEngine({ connectTo: [`refused.example.test:80:127.0.0.1:${deadPort}`], retry: { attempts: 3, baseDelayMs: 20 } });
    try {
      await expect(refused.ingest.sync('http://refused.example.test/a.mp4')).rejects.toMatchObject({
        code: 'upstream_error', message: expect.stringMatching(/ECONNREFUSED.*gave up after 3 attempts/s),
      });
    } finally {
      await refused.close();
    }
  });
});

describe('resume of a body cut mid-transfer', () => {
  it('continues with Range from where the cut happened, and the progress shows the retry', async () => {
    sequence('/cut.mp4', (n, _req, res) => serveFile(res, MEDIA(), n === 1 ? cut(0.4) : whole));
    const progress: IngestFile[] = [];
    const listener = (file: IngestFile): void => void progress.push(file);
    engine.ingest.on('file.progress', listener);
    const file = await engine.ingest.sync(`${BASE}/cut.mp4`, { wait: true });
    engine.ingest.off('file.progress', listener);
    expect(file.status).toBe('completed');
    expect(file.content_sha256).toBe(sha256(MEDIA()));
    const requests = requestsTo('/cut.mp4');
    expect(requests).toHaveLength(2);
    expect(requests[0]!.headers.range).toBeUndefined();
    resumeOffset(requests[1]!.headers.range, Math.floor(SIZE() * 0.4));
    expect(requests[1]!.headers['if-range']).toBe(VALIDATORS.etag);
    expect(progress.some((f) => f.id === file.id && f.progress?.retries === 1 && f.progress.last_retry_error?.code === 'upstream_error')).toBe(true);
  });

  it('restarts from zero when the server ignores Range', async () => {
    sequence('/norange.mp4', (n, _req, res) => serveFile(res, MEDIA(), { headers: VALIDATORS, ...(n === 1 ? { truncateAfter: Math.floor(SIZE() * 0.5) } : {}) }));
    const file = await engine.ingest.sync(`${BASE}/norange.mp4`, { wait: true });
    expect(file.status).toBe('completed');
    expect(file.content_sha256).toBe(sha256(MEDIA()));
    expect(file.bytes).toBe(SIZE());
    expect(requestsTo('/norange.mp4')).toHaveLength(2);
  });

  it('refuses a gzip-encoded media body at once, without retrying (media is never decoded)', async () => {
    const encoded = zlib.gzipSync(readFileSync(mediaPath('sample.wav')));
    sequence('/gzip-cut.wav', (_n, _req, res) => {
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-encoding': 'gzip', 'content-length': encoded.length, etag: '"g"' });
      res.end(encoded);
    });
    await expect(engine.ingest.sync(`${BASE}/gzip-cut.wav`, { wait: true })).rejects.toMatchObject({ code: 'unsupported_encoding' });
    expect(requestsTo('/gzip-cut.wav')).toHaveLength(1);
  });

  it('retries a 5xx on the resume and keeps the partial file', async () => {
    sequence('/flaky-resume.mp4', (n, _req, res) =>
      n === 1 ? serveFile(res, MEDIA(), cut(0.3)) : n === 2 ? sendText(res, 503, 'again') : serveFile(res, MEDIA(), whole));
    const file = await engine.ingest.sync(`${BASE}/flaky-resume.mp4`, { wait: true });
    expect(file.status).toBe('completed');
    expect(file.content_sha256).toBe(sha256(MEDIA()));
    const ranges = requestsTo('/flaky-resume.mp4').map((r) => r.headers.range);
    expect(ranges).toHaveLength(3);
    expect(ranges[0]).toBeUndefined();
    resumeOffset(ranges[1], Math.floor(SIZE() * 0.3));
    expect(ranges[2]).toBe(ranges[1]);
  });

  it('re-requests without Range after a 416', async () => {
    sequence('/416.mp4', (n, _req, res) =>
      n === 1 ? serveFile(res, MEDIA(), cut(0.6)) : n === 2 ? sendText(res, 416, 'no', { 'content-range': `bytes */${SIZE()}` }) : serveFile(res, MEDIA(), whole));
    const file = await engine.ingest.sync(`${BASE}/416.mp4`, { wait: true });
    expect(file).toMatchObject({ status: 'completed', content_sha256: sha256(MEDIA()) });
    const ranges = requestsTo('/416.mp4').map((r) => r.headers.range);
    expect(ranges).toHaveLength(3);
    resumeOffset(ranges[1], Math.floor(SIZE() * 0.6));
    expect([ranges[0], ranges[2]]).toEqual([undefined, undefined]);
  });

  it.each([
    ['the ETag changed', { ...VALIDATORS, etag: '"v2"' }, undefined],
    ['Last-Modified changed', { ...VALIDATORS, 'last-modified': 'Wed, 02 Apr 2025 10:00:00 GMT' }, undefined],
    ['the 206 starts elsewhere', VALIDATORS, 'bytes 0-99/'],
    ['the length changed', VALIDATORS, 'length'],
  ])('restarts from zero when %s', async (_name, headers, contentRange) => {
    const route = `/changed-${Math.random().toString(36).slice(2)}.mp4`;
    sequence(route, (n, req, res) => {
      if (n === 1) return serveFile(res, MEDIA(), cut(0.5));
      if (n === 2 && req.headers.range) {
        const start = Number(/bytes=(\d+)-/.exec(req.headers.range)![1]);
        const range = contentRange === 'length' ? `bytes ${start}-${SIZE() - 1}/${SIZE() + 10}` : contentRange ? `${contentRange}${SIZE()}` : `bytes ${start}-${SIZE() - 1}/${SIZE()}`;
        res.writeHead(206, { ...headers, 'content-range': range, 'content-length': 100 });
        res.end(Buffer.alloc(100));
        return undefined;
      }
      return serveFile(res, MEDIA(), whole);
    });
    const file = await engine.ingest.sync(`${BASE}${route}`, { wait: true });
    expect(file).toMatchObject({ status: 'completed', content_sha256: sha256(MEDIA()), bytes: SIZE() });
    expect(requestsTo(route).map((r) => r.headers.range === undefined)).toEqual([true, false, true]);
  });

  it('resumes after an idle timeout (a stalled body)', async () => {
    const idle = await startEngine({ connectTo: [connectToFor(server, [HOST])], retry: { baseDelayMs: 20 }, network: { idleTimeoutMs: 400 } });
    try {
      const stalls: Array<import('node:http').ServerResponse> = [];
      sequence('/stall.mp4', (n, _req, res) => {
        if (n > 1) return serveFile(res, MEDIA(), whole);
        const head = readFileSync(MEDIA()).subarray(0, Math.floor(SIZE() * 0.3));
        res.writeHead(200, { ...VALIDATORS, 'content-type': 'video/mp4', 'content-length': SIZE(), 'accept-ranges': 'bytes' });
        res.write(head);
        stalls.push(res); // never ends: the engine must give up on it after idleTimeoutMs
        return undefined;
      });
      const file = await idle.ingest.sync(`${BASE}/stall.mp4`, { wait: true });
      expect(file).toMatchObject({ status: 'completed', content_sha256: sha256(MEDIA()) });
      resumeOffset(requestsTo('/stall.mp4')[1]!.headers.range, Math.floor(SIZE() * 0.3));
      for (const res of stalls) res.destroy();
    } finally {
      await idle.close();
    }
  });

  it('re-resolves an expired signed URL (403 on the resume) through the plugin before resuming', async () => {
    resolves = 0;
    const valid = new Set<string>();
    server.route('GET', '/media.mp4', (req, res, ctx) => {
      const token = ctx.query.get('token') ?? '';
      if (!valid.has(token)) return sendText(res, 403, 'expired');
      if (!req.headers.range) {
        valid.delete(token); // the signature expires while the body is on its way
        return serveFile(res, MEDIA(), cut(0.45));
      }
      return serveFile(res, MEDIA(), whole);
    }, { host: 'cdn.example.test' });
    issue = (token) => valid.add(token);
    const file = await engine.ingest.sync('http://signed.example.test/v/abc', { wait: true });
    expect(file).toMatchObject({ status: 'completed', content_sha256: sha256(MEDIA()), source: 'signed' });
    expect(resolves).toBe(2);
    const cdn = server.requests.filter((r) => r.host === 'cdn.example.test');
    expect(cdn.map((r) => r.url.replace(/^.*token=/, ''))).toEqual(['t1', 't1', 't2']);
    expect(cdn[0]!.headers.range).toBeUndefined();
    resumeOffset(cdn[1]!.headers.range, Math.floor(SIZE() * 0.45));
    expect(cdn[2]!.headers.range).toBe(cdn[1]!.headers.range);
  });
});

let resolves = 0;
let issue: (token: string) => void = () => undefined;

/** A source whose media URLs are signed and expire: every resolution issues a new token. */
function signedPlugin(): SourcePlugin {
  return {
    id: 'signed',
    description: 'test source with expiring signed media URLs',
    urlForms: ['http://signed.example.test/v/<id>'],
    matches: (url) => url.hostname === 'signed.example.test',
    identify: (url) => ({ key: `signed:${url.pathname}`, canonicalUrl: url.href }),
    resolve: async (url) => {
      const token = `t${++resolves}`;
      issue(token);
      return {
        identity: { key: `signed:${url.pathname}`, canonicalUrl: url.href },
        download: { url: `http://cdn.example.test/media.mp4?token=${token}` },
      };
    },
  };
}
