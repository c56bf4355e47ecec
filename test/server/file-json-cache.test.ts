// GET /v1/files/{id} from the serialized-JSON cache: the same bytes and headers as without it, per origin and
// prefix, and fresh after any registry change — the engine's own writes and another connection's commits.
import path from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/server/index.js';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { startEngine } from '../support/engine.js';
import type { TestEngine } from '../support/engine.js';

const KEY = 'cache-key-0123456789';

describe('GET /v1/files/{id} with the File JSON cache', () => {
  let server: FixtureServer;
  let engine: TestEngine;
  let cached: FastifyInstance;
  let uncached: FastifyInstance;
  let fileId: string;

  beforeAll(async () => {
    ensureMedia();
    server = await startFixtureServer();
    server.route('GET', '/clip.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4')));
    engine = await startEngine({ connectTo: [connectToFor(server, ['cache.example.test'])] });
    const options = { ingest: engine.ingest, apiKeys: [KEY], logger: false as const, webhooks: false as const };
    cached = createServer({ ...options, prefix: '/media' });
    uncached = createServer({ ...options, prefix: '/media', cacheFileJson: false });
    const file = await engine.ingest.sync('http://cache.example.test/clip.mp4', { wait: true });
    expect(file.status).toBe('completed');
    fileId = file.id;
  });

  afterAll(async () => {
    await cached?.close();
    await uncached?.close();
    await engine?.close();
    await server?.close();
  });

  const get = async (app: FastifyInstance, host: string) => {
    const response = await app.inject({ method: 'GET', url: `/media/v1/files/${fileId}`, headers: { authorization: `Bearer ${KEY}`, host } });
    const { date: _date, ...headers } = response.headers;
    return { status: response.statusCode, headers, body: response.body };
  };

  const expectSame = async (host: string) => {
    const [a, b, again] = [await get(cached, host), await get(uncached, host), await get(cached, host)];
    expect(a).toEqual(b);
    expect(again).toEqual(b);
    return JSON.parse(a.body) as { thumbnail_url?: string; metadata: unknown };
  };

  it('answers byte for byte what the uncached route answers, per origin', async () => {
    const one = await expectSame('one.example.test');
    const two = await expectSame('two.example.test:8080');
    expect(one.thumbnail_url).toMatch(/^http:\/\/one\.example\.test\/media\/v1\/files\//);
    expect(two.thumbnail_url).toMatch(/^http:\/\/two\.example\.test:8080\/media\/v1\/files\//);
  });

  it('sees the engine\'s own writes at once', async () => {
    await expectSame('one.example.test');
    await engine.ingest.update(fileId, { metadata: { round: 1 } });
    expect((await expectSame('one.example.test')).metadata).toEqual({ round: 1 });
  });

  it('sees commits of another connection (another process on the data dir) at once', async () => {
    await expectSame('one.example.test');
    const other = new Database(path.join(engine.dataDir, 'registry.sqlite'));
    try {
      other.pragma('busy_timeout = 5000');
      other.prepare('UPDATE files SET metadata = ? WHERE id = ?').run(JSON.stringify({ round: 2 }), fileId);
      expect((await expectSame('one.example.test')).metadata).toEqual({ round: 2 });
      other.prepare('UPDATE thumbnails SET is_default = 0 WHERE file_id = ?').run(fileId);
      expect((await expectSame('one.example.test')).thumbnail_url).toBeUndefined();
    } finally {
      other.close();
    }
  });

  it('answers 404 for an unknown id the same way', async () => {
    const url = '/media/v1/files/00000000-0000-4000-8000-000000000000';
    const [a, b] = await Promise.all([cached, uncached].map((app) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${KEY}` } })));
    expect(a!.statusCode).toBe(404);
    expect(a!.body).toBe(b!.body);
  });

  const resync = async (app: FastifyInstance, body: Record<string, unknown>, host = 'one.example.test') => {
    const response = await app.inject({ method: 'POST', url: '/media/v1/files/sync', payload: body, headers: { authorization: `Bearer ${KEY}`, host } });
    const { date: _date, ...headers } = response.headers;
    return { status: response.statusCode, headers, body: response.body };
  };
  const acceptedSyncs = () => {
    let n = 0;
    const count = () => void n++;
    engine.ingest.on('sync.accepted', count);
    return { count: () => n, stop: () => engine.ingest.off('sync.accepted', count) };
  };

  it('answers an idempotent re-sync of a completed file byte for byte like the uncached route, counted as accepted', async () => {
    const body = { url: 'http://cache.example.test/clip.mp4' };
    const counted = acceptedSyncs();
    try {
      const [a, b, again, spelled] = [await resync(cached, body), await resync(uncached, body), await resync(cached, body),
        await resync(cached, { url: 'HTTP://CACHE.example.test:80/clip.mp4' })];
      expect(a.status).toBe(200);
      expect(a).toEqual(b);
      expect(again).toEqual(b);
      expect(JSON.parse(spelled.body)).toMatchObject({ id: fileId, status: 'completed' });
      expect(counted.count()).toBe(4);
    } finally {
      counted.stop();
    }
    // Another origin gets its own thumbnail URLs; an update shows at once; metadata is still validated every time.
    expect(await resync(cached, body, 'two.example.test')).toEqual(await resync(uncached, body, 'two.example.test'));
    await engine.ingest.update(fileId, { metadata: { round: 3 } });
    expect(JSON.parse((await resync(cached, body)).body).metadata).toEqual({ round: 3 });
    const refused = await resync(cached, { ...body, metadata: 'not an object' });
    expect(refused.status).toBe(400);
  });

  it('never keeps the answer for a file that is not completed (a failed file runs again on re-sync)', async () => {
    const other = new Database(path.join(engine.dataDir, 'registry.sqlite'));
    try {
      other.pragma('busy_timeout = 5000');
      other.prepare("UPDATE files SET status = 'failed', error_code = 'media_corrupt', error_message = 'test' WHERE id = ?").run(fileId);
    } finally {
      other.close();
    }
    const body = { url: 'http://cache.example.test/clip.mp4' };
    const first = JSON.parse((await resync(cached, body)).body) as { status: string };
    expect(first.status).not.toBe('failed');
    const done = await engine.ingest.waitFor(fileId);
    expect(done.status).toBe('completed');
    expect(JSON.parse((await resync(cached, body)).body)).toMatchObject({ id: fileId, status: 'completed' });
  });
});
