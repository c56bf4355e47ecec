import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectToFor, redirect, sendJson, serveFile, startFixtureServer, testCa, type FixtureServer,
} from './fixture-server';

const SIZE = 300_000;
let dir: string;
let file: string;
let content: Buffer;
let ca: Buffer;
let tlsServer: FixtureServer;
let plainServer: FixtureServer;

interface Result {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Set when the response body ended abnormally (connection closed early). */
  error?: Error;
}

/** A real request to the fixture server, addressed as `host` (SNI + Host header), connecting to 127.0.0.1. */
function request(
  server: FixtureServer,
  host: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; ca?: Buffer } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const common = {
      host: '127.0.0.1',
      port: server.port,
      path,
      method: opts.method ?? 'GET',
      headers: { host, ...opts.headers },
      agent: false as const,
    };
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      const done = (error?: Error): void =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error });
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(res.complete ? undefined : new Error('incomplete')));
      res.on('error', (e) => done(e));
      res.on('aborted', () => done(new Error('aborted')));
    };
    const req = server.https
      ? https.request({ ...common, servername: isIP(host) ? undefined : host, ca: opts.ca ?? ca }, onResponse)
      : http.request(common, onResponse);
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  const script = fileURLToPath(new URL('./make-certs.mjs', import.meta.url));
  execFileSync(process.execPath, [script], { stdio: 'inherit' });
  ca = testCa();
  dir = mkdtempSync(join(tmpdir(), 'fixture-server-test-'));
  file = join(dir, 'clip.mp4');
  content = randomBytes(SIZE);
  writeFileSync(file, content);
  tlsServer = await startFixtureServer({ https: true });
  plainServer = await startFixtureServer();
});

afterEach(() => {
  tlsServer.reset();
  plainServer.reset();
});

afterAll(async () => {
  await tlsServer?.close();
  await plainServer?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('fixture server over HTTPS with the test CA', () => {
  it('answers for www.tiktok.com with a certificate that verifies against the test CA', async () => {
    expect(tlsServer.origin).toBe(`https://127.0.0.1:${tlsServer.port}`);
    tlsServer.route('GET', '/@user/video/123', (_req, res, ctx) => sendJson(res, 200, { host: ctx.host, q: ctx.query.get('a') }));
    const r = await request(tlsServer, 'www.tiktok.com', '/@user/video/123?a=1');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(r.body.toString())).toEqual({ host: 'www.tiktok.com', q: '1' });
  });

  it('covers wildcard CDN names and IP 127.0.0.1', async () => {
    tlsServer.route('GET', '/v.mp4', (_req, res) => serveFile(res, file));
    for (const host of ['v16-webapp.tiktokcdn-us.com', 'ucab.dl.dropboxusercontent.com', 'a.test-cdn.test', '127.0.0.1']) {
      const r = await request(tlsServer, host, '/v.mp4');
      expect(r.status, host).toBe(200);
      expect(r.body.equals(content), host).toBe(true);
    }
  });

  it('really verifies: a client without the test CA is refused, and so is a name outside the SANs', async () => {
    await expect(request(tlsServer, 'www.tiktok.com', '/', { ca: Buffer.alloc(0) as Buffer })).rejects.toThrow();
    await expect(request(tlsServer, 'www.example.com', '/')).rejects.toThrow(/altnames|Hostname/i);
  });

  it('filters routes by Host', async () => {
    tlsServer.route('GET', '/video.mp4', (_req, res) => serveFile(res, file), { host: 'media.example.test' });
    expect((await request(tlsServer, 'media.example.test', '/video.mp4')).status).toBe(200);
    expect((await request(tlsServer, 'other.example.test', '/video.mp4')).status).toBe(404);
  });
});

describe('serveFile', () => {
  it('serves the whole file with Content-Length and a guessed Content-Type', async () => {
    plainServer.route('GET', '/clip.mp4', (_req, res) => serveFile(res, file));
    const r = await request(plainServer, 'media.example.test', '/clip.mp4');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('video/mp4');
    expect(r.headers['content-length']).toBe(String(SIZE));
    expect(r.body.equals(content)).toBe(true);
  });

  it('answers Range requests with 206 and the right bytes, and 416 beyond the end', async () => {
    tlsServer.route('GET', '/clip.mp4', (_req, res) => serveFile(res, file, { supportRange: true }));
    const open = await request(tlsServer, 'www.loom.com', '/clip.mp4', { headers: { range: 'bytes=1000-' } });
    expect(open.status).toBe(206);
    expect(open.headers['content-range']).toBe(`bytes 1000-${SIZE - 1}/${SIZE}`);
    expect(open.headers['accept-ranges']).toBe('bytes');
    expect(open.body.equals(content.subarray(1000))).toBe(true);

    const closed = await request(tlsServer, 'www.loom.com', '/clip.mp4', { headers: { range: 'bytes=10-19' } });
    expect(closed.status).toBe(206);
    expect(closed.body.equals(content.subarray(10, 20))).toBe(true);

    const suffix = await request(tlsServer, 'www.loom.com', '/clip.mp4', { headers: { range: 'bytes=-5' } });
    expect(suffix.body.equals(content.subarray(SIZE - 5))).toBe(true);

    const beyond = await request(tlsServer, 'www.loom.com', '/clip.mp4', { headers: { range: `bytes=${SIZE}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${SIZE}`);
  });

  it('ignores Range without supportRange', async () => {
    plainServer.route('GET', '/clip.mp4', (_req, res) => serveFile(res, file));
    const r = await request(plainServer, 'x.test', '/clip.mp4', { headers: { range: 'bytes=1000-' } });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(SIZE);
  });

  it('truncateAfter cuts the body after N bytes (HTTP and HTTPS)', async () => {
    for (const server of [plainServer, tlsServer]) {
      server.route('GET', '/cut.mp4', (_req, res) => serveFile(res, file, { truncateAfter: 70_000 }));
      const r = await request(server, 'www.dropbox.com', '/cut.mp4');
      expect(r.status).toBe(200);
      expect(r.headers['content-length']).toBe(String(SIZE));
      expect(r.error).toBeDefined();
      expect(r.body.length).toBe(70_000);
      expect(r.body.equals(content.subarray(0, 70_000))).toBe(true);
    }
  });

  it('chunked omits Content-Length; contentLengthOverride larger than the body closes early', async () => {
    plainServer.route('GET', '/chunked', (_req, res) => serveFile(res, file, { chunked: true }));
    plainServer.route('GET', '/liar', (_req, res) => serveFile(res, file, { contentLengthOverride: SIZE * 10 }));
    const c = await request(plainServer, 'x.test', '/chunked');
    expect(c.headers['content-length']).toBeUndefined();
    expect(c.headers['transfer-encoding']).toBe('chunked');
    expect(c.body.equals(content)).toBe(true);
    const l = await request(plainServer, 'x.test', '/liar');
    expect(l.headers['content-length']).toBe(String(SIZE * 10));
    expect(l.error).toBeDefined();
    expect(l.body.length).toBe(SIZE);
  });

  it('dripBytesPerSecond throttles the body', async () => {
    plainServer.route('GET', '/slow', (_req, res) => serveFile(res, file, { dripBytesPerSecond: 40_000, truncateAfter: 20_000 }));
    const t0 = Date.now();
    const r = await request(plainServer, 'x.test', '/slow');
    expect(r.body.length).toBe(20_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
  });

  it('HEAD falls back to the GET route and sends no body', async () => {
    plainServer.route('GET', '/clip.mp4', (_req, res) => serveFile(res, file));
    const r = await request(plainServer, 'x.test', '/clip.mp4', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(SIZE));
    expect(r.body.length).toBe(0);
  });
});

describe('routing, request log and helpers', () => {
  it('logs every request (matched or not) and counts them', async () => {
    plainServer.route('GET', /^\/v\/(\d+)$/, (_req, res, ctx) => sendJson(res, 200, { id: ctx.match?.[1] }));
    const a = await request(plainServer, 'vm.tiktok.com', '/v/42?x=y');
    expect(JSON.parse(a.body.toString())).toEqual({ id: '42' });
    await request(plainServer, 'vm.tiktok.com', '/v/43');
    const miss = await request(plainServer, 'vm.tiktok.com', '/nope');
    expect(miss.status).toBe(404);
    expect(plainServer.count('GET', /^\/v\//)).toBe(2);
    expect(plainServer.count('GET', '/nope')).toBe(1);
    expect(plainServer.count('*', /.*/, 'vm.tiktok.com')).toBe(3);
    expect(plainServer.requests[0]).toMatchObject({ method: 'GET', host: 'vm.tiktok.com', path: '/v/42', url: '/v/42?x=y' });
    expect(typeof plainServer.requests[0]!.time).toBe('number');
  });

  it('replaces a route registered twice and removes routes', async () => {
    plainServer.route('GET', '/a', (_req, res) => sendJson(res, 200, 1));
    const remove = plainServer.route('get', '/a', (_req, res) => sendJson(res, 200, 2));
    expect((await request(plainServer, 'x.test', '/a')).body.toString()).toBe('2');
    remove();
    expect((await request(plainServer, 'x.test', '/a')).status).toBe(404);
  });

  it('redirect sets Location; a throwing handler yields 500', async () => {
    plainServer.route('GET', '/r', (_req, res) => redirect(res, 302, 'https://www.tiktok.com/x'));
    plainServer.route('GET', '/boom', () => { throw new Error('boom'); });
    const r = await request(plainServer, 'vt.tiktok.com', '/r');
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('https://www.tiktok.com/x');
    expect((await request(plainServer, 'x.test', '/boom')).status).toBe(500);
    expect(plainServer.errors).toHaveLength(1);
  });

  it('connectToFor builds curl --connect-to routes', () => {
    expect(connectToFor(tlsServer, ['www.tiktok.com', 'vm.tiktok.com'])).toBe(
      `www.tiktok.com:443:127.0.0.1:${tlsServer.port},vm.tiktok.com:443:127.0.0.1:${tlsServer.port}`,
    );
    expect(connectToFor(plainServer, ['a.test'])).toBe(`a.test:80:127.0.0.1:${plainServer.port}`);
    expect(connectToFor(plainServer, ['a.test'], 8080)).toBe(`a.test:8080:127.0.0.1:${plainServer.port}`);
  });

  it('close() does not hang on a request that never gets an answer', async () => {
    const s = await startFixtureServer({ https: true });
    s.route('GET', '/hang', () => undefined);
    const pending = request(s, 'www.tiktok.com', '/hang').catch((e: Error) => e);
    while (s.count('GET', '/hang') === 0) await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    await s.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
  });
});
