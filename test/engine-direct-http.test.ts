// End to end over real loopback HTTP, real ffprobe/ffmpeg/sharp and real SQLite: direct media URLs.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectToFor, serveBuffer, serveFile, sendText, startFixtureServer } from './support/fixture-server.js';
import type { FixtureServer } from './support/fixture-server.js';
import { ensureMedia, mediaPath } from './support/media.js';
import { startEngine } from './support/engine.js';
import type { TestEngine } from './support/engine.js';

const HOST = 'media.example.test';
const BASE = `http://${HOST}`;
let server: FixtureServer;
let engine: TestEngine;

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const filesIn = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesIn(path.join(dir, e.name)) : [path.join(dir, e.name)]));

beforeAll(async () => {
  ensureMedia();
  server = await startFixtureServer();
  for (const name of ['sample.mp4', 'sample.webm', 'sample.mov', 'sample.mp3', 'sample.wav', 'sample.m4a', 'truncated.mp4', 'garbage.mp4']) {
    server.route('GET', `/${name}`, (_req, res) => serveFile(res, mediaPath(name)));
  }
  engine = await startEngine({ connectTo: [connectToFor(server, [HOST])], thumbnails: { width: 160 } });
});

afterAll(async () => {
  await engine?.close();
  await server?.close();
});

beforeEach(() => server.clearRequests());

describe('direct http media', () => {
  it('syncs an MP4 to completed with media info, hash and thumbnails', async () => {
    const file = await engine.ingest.sync(`${BASE}/sample.mp4`, { metadata: { team: 'a' }, wait: true });
    expect(file.status).toBe('completed');
    expect(file.bytes).toBe(statSync(mediaPath('sample.mp4')).size);
    expect(file.content_sha256).toBe(sha256(mediaPath('sample.mp4')));
    expect(file.media_type).toBe('video');
    expect(Math.abs((file.media_info?.duration_seconds ?? 0) - 45)).toBeLessThan(0.1);
    expect(file.media_info).toMatchObject({ width: 320, height: 240, has_audio: true });
    expect(file.video_info).toMatchObject({ width: 320, height: 240, has_audio: true });
    expect(file.source).toBe('http');
    expect(file.source_metadata).toMatchObject({ source_type: 'http', final_url: `${BASE}/sample.mp4`, content_type: 'video/mp4' });
    expect(file.uri).toBe(`media-ingest://files/${file.id}`);
    expect(file.filename).toBe('sample.mp4');
    expect(file.thumbnail_url).toMatch(new RegExp(`/v1/files/${file.id}/thumbnails/.+\\.jpg$`));

    const thumbs = await engine.ingest.thumbnails(file.id);
    expect(thumbs.data.filter((t) => t.type === 'file')).toHaveLength(1);
    const segmentThumbs = thumbs.data.filter((t) => t.type === 'segment');
    expect(segmentThumbs).toHaveLength(3);
    const segments = (await engine.ingest.segments(file.id)).data;
    expect(segments.map((s) => [s.start_time, s.end_time])).toEqual([[0, 20], [20, 40], [40, expect.closeTo(45, 0)]]);
    for (const segment of segments) {
      const thumb = segmentThumbs.find((t) => t.segment_id === segment.id)!;
      expect(thumb.time).toBeGreaterThanOrEqual(segment.start_time);
      expect(thumb.time).toBeLessThan(segment.end_time);
    }
    for (const thumb of thumbs.data) {
      const image = await engine.ingest.thumbnailImage(file.id, thumb.id);
      const meta = await sharp(Buffer.concat(await image.body.toArray())).metadata();
      expect(meta.format).toBe('jpeg');
      expect(meta.width).toBe(160);
    }
  });

  it('makes only the default thumbnail when segment thumbnails are off', async () => {
    const file = await engine.ingest.sync(`${BASE}/sample.mov`, { enableSegmentThumbnails: false, wait: true });
    expect(file.status).toBe('completed');
    const thumbs = (await engine.ingest.thumbnails(file.id)).data;
    expect(thumbs.map((t) => t.type)).toEqual(['file']);
    expect((await engine.ingest.segments(file.id)).total).toBe(0);
  });

  it('reads WebM (VP9/Opus) as video', async () => {
    const file = await engine.ingest.sync(`${BASE}/sample.webm`, { wait: true });
    expect(file).toMatchObject({ status: 'completed', media_type: 'video', media_info: { has_audio: true } });
  });

  it.each(['sample.mp3', 'sample.wav', 'sample.m4a'])('treats %s as audio without thumbnails', async (name) => {
    const file = await engine.ingest.sync(`${BASE}/${name}`, { wait: true });
    expect(file.status).toBe('completed');
    expect(file.media_type).toBe('audio');
    expect(file.media_info?.sample_rate).toBeGreaterThan(0);
    expect(file.media_info?.channels).toBeGreaterThan(0);
    expect(file.media_info?.width).toBeNull();
    expect(file.thumbnail_url).toBeUndefined();
    expect((await engine.ingest.thumbnails(file.id)).total).toBe(0);
  });
});

describe('idempotency', () => {
  it('returns the same file for the same URL and its spelling variants, keeping the first metadata', async () => {
    server.route('GET', '/same.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp3'), { contentType: 'audio/mpeg' }));
    const first = await engine.ingest.sync(`${BASE}/same.mp4`, { metadata: { first: true }, wait: true });
    for (const variant of [`${BASE}/same.mp4`, `http://MEDIA.Example.TEST/same.mp4`, `http://${HOST}:80/same.mp4`, `${BASE}/same.mp4#t=10`]) {
      const again = await engine.ingest.sync(variant, { metadata: { first: false } });
      expect(again.id).toBe(first.id);
      expect(again.metadata).toEqual({ first: true });
    }
    expect(server.count('GET', '/same.mp4')).toBe(1);
  });

  it('makes one file and one upstream GET for 25 concurrent syncs of a new URL', async () => {
    server.route('GET', '/concurrent.mp3', (_req, res) => serveFile(res, mediaPath('sample.mp3'), { dripBytesPerSecond: 400_000 }));
    const results = await Promise.all(Array.from({ length: 25 }, () => engine.ingest.sync(`${BASE}/concurrent.mp3`)));
    expect(new Set(results.map((f) => f.id)).size).toBe(1);
    const done = await engine.ingest.waitFor(results[0]!.id);
    expect(done.status).toBe('completed');
    expect(server.count('GET', '/concurrent.mp3')).toBe(1);
  });

  it('stores identical bytes from two URLs once', async () => {
    server.route('GET', '/copy-a.wav', (_req, res) => serveFile(res, mediaPath('sample.wav')));
    server.route('GET', '/copy-b.wav', (_req, res) => serveFile(res, mediaPath('sample.wav')));
    const a = await engine.ingest.sync(`${BASE}/copy-a.wav`, { wait: true });
    const b = await engine.ingest.sync(`${BASE}/copy-b.wav`, { wait: true });
    expect(a.id).not.toBe(b.id);
    expect(a.content_sha256).toBe(b.content_sha256);
    const blobs = filesIn(path.join(engine.dataDir, 'blobs')).filter((f) => f.endsWith(a.content_sha256!));
    expect(blobs).toHaveLength(1);
  });
});

describe('filenames', () => {
  it('prefers filename* over filename', async () => {
    server.route('GET', '/dl/1', (_req, res) =>
      serveFile(res, mediaPath('sample.m4a'), {
        headers: { 'content-disposition': `attachment; filename="plain.m4a"; filename*=UTF-8''%E2%82%AC%20rates.m4a` },
      }),
    );
    const file = await engine.ingest.sync(`${BASE}/dl/1`, { wait: true });
    expect(file.filename).toBe('€ rates.m4a');
  });

  it('never lets a remote name reach a path', async () => {
    server.route('GET', '/dl/2', (_req, res) =>
      serveFile(res, mediaPath('sample.wav'), {
        headers: { 'content-disposition': `attachment; filename="../../x.wav"; filename*=UTF-8''..%2F..%2Fevil%07name.wav` },
      }),
    );
    const file = await engine.ingest.sync(`${BASE}/dl/2`, { wait: true });
    expect(file.status).toBe('completed');
    expect(file.filename).toBe('evilname.wav');
    const stored = filesIn(engine.dataDir);
    expect(stored.some((f) => f.includes('evil'))).toBe(false);
  });
});

describe('refusals and failures', () => {
  it.each([
    ['/missing.mp4', 404, 'source_not_found'],
    ['/secret.mp4', 403, 'source_forbidden'],
  ])('%s answering %d → %s with no file', async (route, status, code) => {
    server.route('GET', route, (_req, res) => sendText(res, status, 'nope'));
    const before = (await engine.ingest.list({ limit: 100 })).total;
    await expect(engine.ingest.sync(`${BASE}${route}`)).rejects.toMatchObject({ code });
    expect((await engine.ingest.list({ limit: 100 })).total).toBe(before);
  });

  it('refuses an HTML page served as .mp4', async () => {
    server.route('GET', '/page.mp4', (_req, res) => sendText(res, 200, '<!doctype html><html><body>hi</body></html>', { 'content-type': 'video/mp4' }));
    await expect(engine.ingest.sync(`${BASE}/page.mp4`)).rejects.toMatchObject({ code: 'unsupported_media_type', httpStatus: 415 });
  });

  it.each(['truncated.mp4', 'garbage.mp4'])('fails %s with media_corrupt', async (name) => {
    const file = await engine.ingest.sync(`${BASE}/${name}`, { wait: true });
    expect(file.status).toBe('failed');
    expect(file.error?.code).toBe('media_corrupt');
  });

  it('refuses an HLS playlist under a media name without reading what it references', async () => {
    const secret = path.join(engine.dataDir, 'secret.ts');
    writeFileSync(secret, 'secret');
    const playlist = `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://${secret}\n#EXTINF:10,\nhttp://${HOST}/internal.ts\n#EXT-X-ENDLIST\n`;
    server.route('GET', '/playlist.mp4', (_req, res) => serveBuffer(res, Buffer.from(playlist), { contentType: 'video/mp4' }));
    await expect(engine.ingest.sync(`${BASE}/playlist.mp4`)).rejects.toMatchObject({ code: 'unsupported_media_type' });
    expect(server.count('*', '/internal.ts')).toBe(0);
  });

  it('refuses a body over the byte limit by Content-Length and by a chunked body', async () => {
    const small = await startEngine({ connectTo: [connectToFor(server, [HOST])], limits: { maxBytes: 100_000 } });
    try {
      server.route('GET', '/big.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4')));
      server.route('GET', '/big-chunked.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4'), { chunked: true }));
      await expect(small.ingest.sync(`${BASE}/big.mp4`)).rejects.toMatchObject({ code: 'file_too_large' });
      const chunked = await small.ingest.sync(`${BASE}/big-chunked.mp4`, { wait: true });
      expect(chunked.status).toBe('failed');
      expect(chunked.error?.code).toBe('file_too_large');
      expect(filesIn(path.join(small.dataDir, 'blobs'))).toHaveLength(0);
    } finally {
      await small.close();
    }
  });

  it('times out a server that drips bytes', async () => {
    const slow = await startEngine({ connectTo: [connectToFor(server, [HOST])], network: { totalTimeoutMs: 1500 } });
    try {
      server.route('GET', '/drip.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4'), { dripBytesPerSecond: 20_000 }));
      const file = await slow.ingest.sync(`${BASE}/drip.mp4`, { wait: true });
      expect(file.status).toBe('failed');
      expect(file.error?.code).toBe('timeout');
    } finally {
      await slow.close();
    }
  });
});

describe('lifecycle', () => {
  it('restarts a failed file under the same id when it is synced again', async () => {
    let broken = true;
    server.route('GET', '/flaky.mp3', (_req, res) =>
      serveFile(res, mediaPath(broken ? 'garbage.mp4' : 'sample.mp3'), { contentType: 'audio/mpeg' }),
    );
    const failed = await engine.ingest.sync(`${BASE}/flaky.mp3`, { wait: true });
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'media_corrupt' } });
    broken = false;
    const again = await engine.ingest.sync(`${BASE}/flaky.mp3`, { wait: true });
    expect(again.error).toBeUndefined();
    expect(again.id).toBe(failed.id);
    expect(again.status).toBe('completed');
    expect(again.error).toBeUndefined();
  });

  it('emits processing, progress and completed events, and lists, updates and deletes', async () => {
    server.route('GET', '/events.m4a', (_req, res) => serveFile(res, mediaPath('sample.m4a'), { dripBytesPerSecond: 200_000 }));
    const seen: string[] = [];
    const listeners = (['file.processing', 'file.progress', 'file.completed'] as const).map((event) => {
      const listener = (): void => {
        seen.push(event);
      };
      engine.ingest.on(event, listener);
      return () => engine.ingest.off(event, listener);
    });
    const file = await engine.ingest.sync(`${BASE}/events.m4a`);
    expect(['processing', 'pending']).toContain(file.status);
    await engine.ingest.waitFor(file.id);
    listeners.forEach((off) => off());
    expect(seen[0]).toBe('file.processing');
    expect(seen).toContain('file.progress');
    expect(seen[seen.length - 1]).toBe('file.completed');

    const completed = await engine.ingest.list({ status: 'completed', limit: 100 });
    expect(completed.data.every((f) => f.status === 'completed')).toBe(true);
    expect(completed.data.map((f) => f.id)).toContain(file.id);
    await expect(engine.ingest.list({ limit: 0 })).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(engine.ingest.list({ limit: 101 })).rejects.toMatchObject({ code: 'invalid_request' });

    const updated = await engine.ingest.update(file.id, { metadata: { tag: 'x' }, filename: 'renamed.m4a' });
    expect(updated).toMatchObject({ metadata: { tag: 'x' }, filename: 'renamed.m4a' });
    await expect(engine.ingest.update(file.id, { metadata: [1, 2] })).rejects.toMatchObject({ code: 'invalid_request' });

    await engine.ingest.delete(file.id);
    await expect(engine.ingest.get(file.id)).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('interrupted files', () => {
  it('resumes a file that close() left pending when its URL is synced again, without start-up recovery', async () => {
    server.route('GET', '/interrupted.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4'), { dripBytesPerSecond: 1_000_000 }));
    const first = await startEngine({ connectTo: [connectToFor(server, [HOST])], thumbnails: { width: 160 } });
    const started = await first.ingest.sync(`${BASE}/interrupted.mp4`);
    await first.ingest.close();
    const second = await startEngine({ dataDir: first.dataDir, recover: false, connectTo: [connectToFor(server, [HOST])], thumbnails: { width: 160 } });
    try {
      expect((await second.ingest.get(started.id)).status).toBe('pending');
      const resumed = await second.ingest.sync(`${BASE}/interrupted.mp4`, { wait: true });
      expect(resumed.id).toBe(started.id);
      expect(resumed.status).toBe('completed');
      expect(resumed.content_sha256).toBe(sha256(mediaPath('sample.mp4')));
    } finally {
      await second.close();
    }
  });
});
