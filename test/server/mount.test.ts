// Embedding: the Fastify plugin under a prefix inside another app with its own auth hook, and the plain Node
// request handler behind a bare http.Server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequestHandler, mediaIngestApi } from '../../src/server/index.js';
import type { MediaIngestRequestHandler } from '../../src/server/index.js';
import { startEngine } from '../support/engine.js';
import type { TestEngine } from '../support/engine.js';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { ApiClient, pollUntilTerminal, syncOk } from './support.js';

const MEDIA_HOST = 'mounted.example.test';
let engine: TestEngine;
let fixtures: FixtureServer;
let host: FastifyInstance;
let hostUrl: string;

beforeAll(async () => {
  ensureMedia();
  fixtures = await startFixtureServer();
  fixtures.route('GET', '/clip.mov', (_req, res) => serveFile(res, mediaPath('sample.mov')));
  engine = await startEngine({ publicBaseUrl: 'http://backend.example/media', connectTo: [connectToFor(fixtures, [MEDIA_HOST])] });
  host = Fastify();
  host.get('/', async () => ({ app: 'host' }));
  host.get('/private', async () => ({ secret: true }));
  await host.register(mediaIngestApi, {
    prefix: '/media',
    ingest: engine.ingest,
    auth: async (request) => request.headers['x-session'] === 'valid-session',
  });
  hostUrl = await host.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await host?.close();
  await engine?.close();
  await fixtures?.close();
});

describe('mediaIngestApi plugin under a prefix', () => {
  it('serves the API under /media with the host auth hook, and leaves the host alone', async () => {
    const session = { 'x-session': 'valid-session' };
    const api = await ApiClient.connect(hostUrl, '/media', session);
    expect(api.spec.servers).toEqual([{ url: '/media' }]);
    const list = await api.get('/v1/files', { key: false, headers: session });
    expect(list).toMatchObject({ status: 200, json: { object: 'list', total: 0 } });
    expect(await api.get('/v1/files', { key: false, headers: { 'x-session': 'nope' } })).toMatchObject({ status: 401, json: { code: 'unauthorized' } });
    expect((await api.get('/v1/files', { key: false })).status).toBe(401);
    expect((await api.get('/healthz', { key: false })).json).toEqual({ status: 'ok' });
    expect((await api.get('/v1/files?limit=0', { key: false, headers: session })).json.code).toBe('invalid_request');
    expect(await api.get('/v1/unknown', { key: false, headers: session, undocumented: true })).toMatchObject({ status: 404, json: { code: 'not_found' } });

    // The host's own routes, 404s and errors keep Fastify's defaults: nothing leaked out of the plugin.
    expect(await (await fetch(`${hostUrl}/`)).json()).toEqual({ app: 'host' });
    expect((await fetch(`${hostUrl}/private`)).status).toBe(200);
    const hostMissing = await fetch(`${hostUrl}/elsewhere`);
    expect(hostMissing.status).toBe(404);
    expect(await hostMissing.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect((await fetch(`${hostUrl}/v1/files`)).status).toBe(404);

    // A file synced through the mount: thumbnail URLs carry the publicBaseUrl (with the prefix) and resolve there.
    const synced = await syncOk(api, { url: `http://${MEDIA_HOST}/clip.mov` }, { key: false, headers: session });
    const file = await pollUntilTerminal(api, synced.id as string, { key: false, headers: session });
    expect(file.thumbnail_url).toMatch(new RegExp(`^http://backend\\.example/media/v1/files/${file.id as string}/thumbnails/`));
    const imagePath = new URL(file.thumbnail_url as string).pathname;
    expect((await fetch(`${hostUrl}${imagePath}`)).status).toBe(401);
    const image = await fetch(`${hostUrl}${imagePath}`, { headers: session });
    expect([image.status, image.headers.get('content-type')]).toEqual([200, 'image/jpeg']);
  });

  it('refuses to register with no keys, no hook and no explicit opt-out', async () => {
    const app = Fastify();
    await expect(app.register(mediaIngestApi, { ingest: engine.ingest }).ready()).rejects.toThrow(/apiKeys|auth/);
    const open = Fastify();
    await open.register(mediaIngestApi, { ingest: engine.ingest, allowUnauthenticated: true });
    const response = await open.inject({ method: 'GET', url: '/v1/files' });
    expect(response.statusCode).toBe(200);
    await open.close();
  });
});

describe('createRequestHandler', () => {
  let handler: MediaIngestRequestHandler;
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    handler = createRequestHandler({ ingest: engine.ingest, apiKeys: ['handler-key'], prefix: '/api', logger: false, publicThumbnails: true });
    server = http.createServer((req, res) => {
      if (req.url?.startsWith('/api/')) handler(req, res);
      else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('other');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await handler?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('serves the API from a bare Node server', async () => {
    const api = await ApiClient.connect(base, '/api', { authorization: 'Bearer handler-key' });
    expect(await api.get('/v1/files', { key: 'handler-key' })).toMatchObject({ status: 200, json: { object: 'list' } });
    expect((await api.get('/v1/files', { key: 'wrong' })).status).toBe(401);
    expect((await api.get('/healthz', { key: false })).status).toBe(200);
    expect(await (await fetch(`${base}/other`)).text()).toBe('other');
    // publicThumbnails: images need no key, everything else still does.
    const files = await api.get('/v1/files?status=completed', { key: 'handler-key' });
    const thumbs = await api.get(`/v1/files/${files.json.data[0].id as string}/thumbnails`, { key: 'handler-key' });
    const image = await fetch(`${base}/api${new URL(thumbs.json.data[0].url as string).pathname.replace(/^\/media/, '')}`);
    expect([image.status, image.headers.get('content-type')]).toEqual([200, 'image/jpeg']);
  });
});
