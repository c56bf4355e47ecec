// The HTTP API end to end, driven only through HTTP with fetch: sync → poll → list → thumbnails (decoded with
// sharp) → update → delete → 404. Every JSON response is validated against our /openapi.json and, for Cloudglue's
// schemas, against the Cloudglue reference spec (see support.ts).
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { API_KEY, pollUntilTerminal, startApi, syncOk } from './support.js';
import type { ApiHarness } from './support.js';
import { CLOUDGLUE_SPEC_PATH } from './openapi-validator.js';

const HOST = 'media.example.test';
let fixtures: FixtureServer;
let harness: ApiHarness;

beforeAll(async () => {
  ensureMedia();
  fixtures = await startFixtureServer();
  fixtures.route('GET', '/clip.mov', (_req, res) => serveFile(res, mediaPath('sample.mov')));
  fixtures.route('GET', '/tone.m4a', (_req, res) => serveFile(res, mediaPath('sample.m4a')));
  harness = await startApi({ connectTo: [connectToFor(fixtures, [HOST])] });
});

afterAll(async () => {
  await harness?.close();
  await fixtures?.close();
});

describe('HTTP API end to end', () => {
  it('syncs, lists, serves thumbnails, updates and deletes a video', async () => {
    const { api } = harness;
    const synced = await syncOk(api, { url: `http://${HOST}/clip.mov`, metadata: { team: 'a' } });
    expect(synced).toMatchObject({ status: expect.stringMatching(/^(pending|processing|completed)$/), metadata: { team: 'a' }, source: 'http' });
    const id = synced.id as string;

    const again = await api.post('/v1/files/sync', { url: `http://${HOST}/clip.mov`, metadata: { ignored: true } });
    expect(again.json.id).toBe(id);

    const file = await pollUntilTerminal(api, id);
    expect(file).toMatchObject({ id, status: 'completed', media_type: 'video', filename: 'clip.mov', metadata: { team: 'a' } });
    expect(file.source_metadata).toMatchObject({ source_type: 'http', final_url: `http://${HOST}/clip.mov` });
    // Absolute, for this request's origin (the engine has no publicBaseUrl).
    expect(file.thumbnail_url).toMatch(new RegExp(`^${harness.baseUrl}/v1/files/${id}/thumbnails/[0-9a-f-]{36}\\.jpg$`));
    const thumbnailPath = new URL(file.thumbnail_url as string).pathname;

    const list = await api.get('/v1/files?limit=10');
    expect(list.json).toMatchObject({ object: 'list', limit: 10, offset: 0 });
    expect(list.json.data.map((f: { id: string }) => f.id)).toContain(id);
    const completed = await api.get('/v1/files?status=completed&order=filename&sort=asc');
    expect(completed.json.data.map((f: { id: string }) => f.id)).toContain(id);
    const failed = await api.get('/v1/files?status=failed');
    expect(failed.json).toMatchObject({ total: 0, data: [] });
    const today = new Date().toISOString().slice(0, 10);
    expect((await api.get(`/v1/files?created_before=2000-01-01`)).json.total).toBe(0);
    expect((await api.get(`/v1/files?created_after=2000-01-01&created_before=${today}T23:59:59Z`)).json.total).toBeGreaterThanOrEqual(1);

    const thumbs = await api.get(`/v1/files/${id}/thumbnails`);
    expect(thumbs.status).toBe(200);
    expect(thumbs.json.data.map((t: { type: string }) => t.type).sort()).toEqual(['file', 'segment']);
    const onlyDefault = await api.get(`/v1/files/${id}/thumbnails?is_default=true`);
    expect(onlyDefault.json.data).toHaveLength(1);
    expect(onlyDefault.json.data[0]).toMatchObject({ type: 'file', is_default: true, width: 160 });
    expect((await api.get(`/v1/files/${id}/thumbnails?type=segment&limit=1`)).json).toMatchObject({ total: 1, limit: 1 });

    const image = await fetch(file.thumbnail_url as string, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/jpeg');
    expect(image.headers.get('cache-control')).toContain('max-age=31536000');
    const meta = await sharp(Buffer.from(await image.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 160 });
    expect((await fetch(file.thumbnail_url as string)).status).toBe(401);
    const etag = image.headers.get('etag')!;
    const cached = await fetch(file.thumbnail_url as string, { headers: { authorization: `Bearer ${API_KEY}`, 'if-none-match': etag } });
    expect(cached.status).toBe(304);
    const segmentThumb = thumbs.json.data.find((t: { type: string }) => t.type === 'segment');
    const segmentImage = await fetch(segmentThumb.url as string, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect((await sharp(Buffer.from(await segmentImage.arrayBuffer())).metadata()).format).toBe('jpeg');
    const wrongExtension = await api.get(thumbnailPath.replace(/\.jpg$/, '.webp'));
    expect(wrongExtension.status).toBe(404);

    const segments = await api.get(`/v1/files/${id}/segments`);
    expect(segments.json).toMatchObject({ object: 'list', total: 1 });
    expect(segments.json.data[0]).toMatchObject({ file_id: id, start_time: 0, index: 0, thumbnail_url: segmentThumb.url });

    const updated = await api.put(`/v1/files/${id}`, { metadata: { team: 'b', n: 2 }, filename: 'renamed.mov' });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ id, metadata: { team: 'b', n: 2 }, filename: 'renamed.mov' });
    expect((await api.get(`/v1/files/${id}`)).json.metadata).toEqual({ team: 'b', n: 2 });
    expect((await api.put(`/v1/files/${id}`, { metadata: null })).json.metadata).toBeNull();

    const deleted = await api.delete(`/v1/files/${id}`);
    expect(deleted).toMatchObject({ status: 200, json: { id, object: 'file' } });
    for (const path of [`/v1/files/${id}`, `/v1/files/${id}/thumbnails`, `/v1/files/${id}/segments`, thumbnailPath]) {
      const gone = await api.get(path);
      expect(gone.status, path).toBe(404);
      expect(gone.json.code).toBe('not_found');
    }
    expect((await api.delete(`/v1/files/${id}`)).status).toBe(404);
    expect((await api.put(`/v1/files/${id}`, { filename: 'x' })).status).toBe(404);
    // 22 requests above, plus at least one poll (how many depends on the machine's speed).
    expect(api.validated).toBeGreaterThanOrEqual(23);
  });

  it('serves an audio file without thumbnails, and refuses what the engine refuses', async () => {
    const { api } = harness;
    const synced = await syncOk(api, { url: `http://${HOST}/tone.m4a`, enable_segment_thumbnails: false });
    const file = await pollUntilTerminal(api, synced.id as string);
    expect(file).toMatchObject({ status: 'completed', media_type: 'audio' });
    expect(file.thumbnail_url).toBeUndefined();
    expect((await api.get(`/v1/files/${file.id as string}/thumbnails`)).json).toMatchObject({ total: 0, data: [] });

    const refusals: Array<[string, number, string]> = [
      ['ftp://example.com/a.mp4', 400, 'unsupported_scheme'],
      ['https://www.youtube.com/watch?v=dQw4w9WgXcQ', 400, 'youtube_not_supported'],
      ['not a url', 400, 'invalid_url'],
      [`http://${HOST}/missing.mp4`, 404, 'source_not_found'],
    ];
    for (const [url, status, code] of refusals) {
      const refused = await api.post('/v1/files/sync', { url });
      expect([url, refused.status, refused.json.code]).toEqual([url, status, code]);
      expect(typeof refused.json.error).toBe('string');
    }
  });

  it('serves its own OpenAPI document and an open health check', async () => {
    const { api } = harness;
    const spec = await api.get('/openapi.json');
    expect(spec.json.servers).toEqual([{ url: '/' }]);
    const schemas = spec.json.components.schemas;
    expect(schemas.ErrorCode.enum).toEqual(expect.arrayContaining(['invalid_request', 'unauthorized', 'not_found', 'blocked_address']));
    expect(Object.keys(spec.json.paths)).toEqual(expect.arrayContaining(['/v1/files/sync', '/v1/files', '/v1/files/{file_id}', '/v1/files/{file_id}/events', '/healthz']));
    expect((await api.get('/healthz', { key: false })).json).toEqual({ status: 'ok' });

    // It mirrors every Cloudglue operation we implement under /v1, and documents every Cloudglue File field.
    const cloudglue = JSON.parse(readFileSync(CLOUDGLUE_SPEC_PATH, 'utf8'));
    const mirrored: Array<[string, string]> = [
      ['/files/sync', 'post'], ['/files', 'get'], ['/files/{file_id}', 'get'], ['/files/{file_id}', 'put'],
      ['/files/{file_id}', 'delete'], ['/files/{file_id}/thumbnails', 'get'], ['/files/{file_id}/segments', 'get'],
    ];
    for (const [path, method] of mirrored) {
      expect(cloudglue.paths[path][method], `${method} ${path} in Cloudglue`).toBeDefined();
      expect(spec.json.paths[`/v1${path}`][method], `${method} /v1${path} in ours`).toBeDefined();
      expect(spec.json.paths[`/v1${path}`][method].operationId).toBe(cloudglue.paths[path][method].operationId);
    }
    for (const name of ['File', 'FileSegment', 'Thumbnail', 'FileList', 'ThumbnailList', 'FileSegmentListResponse', 'FileDelete']) {
      const theirs = cloudglue.components.schemas[name];
      const ours = schemas[name];
      expect(ours.required, name).toEqual(expect.arrayContaining(theirs.required ?? []));
    }
    expect(Object.keys(schemas.File.properties)).toEqual(expect.arrayContaining(Object.keys(cloudglue.components.schemas.File.properties)));
  });
});
