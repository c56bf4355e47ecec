// Limits and deadlines through the engine config, and cancellation: delete() or close() of an in-flight file stops
// its network transfer (the server sees the connection close) and its ffmpeg work.
import { existsSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestConfigInput } from '../../src/config/define-config.js';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { startEngine, tempDataDir } from '../support/engine.js';
import { childProcesses, filesUnder, waitUntil } from './support.js';

const HOST = 'limits.example.test';
const URL_MP4 = `http://${HOST}/sample.mp4`;
let server: FixtureServer;
const closedResponses: ServerResponse[] = [];

beforeAll(async () => {
  ensureMedia();
  server = await startFixtureServer();
  server.route('GET', '/sample.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4')));
  let closeRuns = 0;
  server.route('GET', '/close.mp4', (_req, res) => {
    res.on('close', () => closedResponses.push(res));
    const drip = ++closeRuns === 1 ? 400_000 : 8_000_000;
    return serveFile(res, mediaPath('sample.mp4'), { supportRange: true, dripBytesPerSecond: drip, headers: { etag: '"slow"' } });
  });
  server.route('GET', '/slow.mp4', (_req, res) => {
    res.on('close', () => closedResponses.push(res));
    return serveFile(res, mediaPath('sample.mp4'), { supportRange: true, dripBytesPerSecond: 400_000, headers: { etag: '"slow"' } });
  });
});
afterAll(async () => {
  await server?.close();
});

async function withEngine<T>(config: IngestConfigInput, work: (engine: Awaited<ReturnType<typeof startEngine>>) => Promise<T>): Promise<T> {
  const engine = await startEngine({ connectTo: [connectToFor(server, [HOST])], thumbnails: { width: 160 }, ...config });
  try {
    return await work(engine);
  } finally {
    await engine.close();
  }
}

const noMediaChildren = (): Promise<true> =>
  waitUntil(() => childProcesses(/^ff(mpeg|probe)$/).length === 0 || undefined, 3000, 'ffmpeg/ffprobe to exit') as Promise<true>;

describe('limits and deadlines through the engine config', () => {
  it.each([
    ['the duration limit', 'duration_too_long', { limits: { maxDurationSeconds: 10 } }],
    ['the pixel dimension limit', 'media_limits_exceeded', { limits: { maxPixelDimension: 200 } }],
    ['the stream count limit', 'media_limits_exceeded', { limits: { maxStreams: 1 } }],
    ['an ffprobe past its deadline', 'timeout', { probeTimeoutMs: 5 }],
    ['an ffmpeg past its deadline', 'timeout', { ffmpegTimeoutMs: 150, thumbnails: { width: 160, segmentSeconds: 1 } }],
  ] as Array<[string, string, IngestConfigInput]>)('%s fails the file with %s, leaving no process or output', async (_name, code, config) => {
    await withEngine(config, async (engine) => {
      const file = await engine.ingest.sync(URL_MP4, { wait: true });
      expect(file.status).toBe('failed');
      expect(file.error?.code).toBe(code);
      await noMediaChildren();
      expect(filesUnder(path.join(engine.dataDir, 'blobs'))).toEqual([]);
      expect(filesUnder(path.join(engine.dataDir, 'thumbnails'))).toEqual([]);
      expect(filesUnder(path.join(engine.dataDir, 'tmp'))).toEqual([]);
    });
  });
});

describe('cancellation', () => {
  it('delete() of a downloading file closes its connection and leaves nothing behind', async () => {
    await withEngine({}, async (engine) => {
      closedResponses.length = 0;
      const file = await engine.ingest.sync(`http://${HOST}/slow.mp4`);
      await waitUntil(async () => ((await engine.ingest.get(file.id)).progress?.bytes_received ?? 0) > 100_000, 10_000, 'download progress');
      const started = Date.now();
      await engine.ingest.delete(file.id);
      await waitUntil(() => closedResponses.length === 1, 2000, 'the server to see the connection close');
      expect(Date.now() - started).toBeLessThan(2000);
      await expect(engine.ingest.get(file.id)).rejects.toMatchObject({ code: 'not_found' });
      expect(filesUnder(path.join(engine.dataDir, 'tmp'))).toEqual([]);
      expect(filesUnder(path.join(engine.dataDir, 'blobs'))).toEqual([]);
    });
  });

  it('close() during a download closes the connection, keeps the partial, and the next start resumes it with Range', async () => {
    const dataDir = tempDataDir('mi-close-');
    closedResponses.length = 0;
    server.clearRequests();
    const first = await startEngine({ dataDir, connectTo: [connectToFor(server, [HOST])] });
    const file = await first.ingest.sync(`http://${HOST}/close.mp4`);
    await waitUntil(async () => ((await first.ingest.get(file.id)).progress?.bytes_received ?? 0) > 1_000_000, 10_000, 'download progress');
    await first.ingest.close();
    await waitUntil(() => closedResponses.length === 1, 2000, 'the server to see the connection close');
    const part = path.join(dataDir, 'tmp', `${file.id}.part`);
    expect(statSync(part).size).toBeGreaterThan(1_000_000);
    const second = await startEngine({ dataDir, connectTo: [connectToFor(server, [HOST])], thumbnails: { width: 160 } });
    try {
      const done = await second.ingest.waitFor(file.id);
      expect(done.status).toBe('completed');
      expect(done.bytes).toBe(statSync(mediaPath('sample.mp4')).size);
      const ranges = server.requests.filter((r) => r.path === '/close.mp4').map((r) => r.headers.range);
      expect(ranges[0]).toBeUndefined();
      expect(Number(/^bytes=(\d+)-$/.exec(String(ranges[1]))?.[1])).toBeGreaterThan(500_000);
      expect(existsSync(part)).toBe(false);
    } finally {
      await second.close();
    }
  });

  it('delete() while thumbnails are made kills ffmpeg and removes the outputs', async () => {
    await withEngine({ thumbnails: { width: 640, segmentSeconds: 1 }, concurrency: { cpu: 1 } }, async (engine) => {
      const file = await engine.ingest.sync(URL_MP4);
      await waitUntil(() => childProcesses(/^ffmpeg$/).length > 0, 15_000, 'ffmpeg to start');
      await engine.ingest.delete(file.id);
      await noMediaChildren();
      expect(existsSync(path.join(engine.dataDir, 'thumbnails', file.id))).toBe(false);
      expect(filesUnder(path.join(engine.dataDir, 'tmp'))).toEqual([]);
      expect(filesUnder(path.join(engine.dataDir, 'blobs'))).toEqual([]);
    });
  });
});
