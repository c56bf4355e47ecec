// Auth on every protected route, and 400 invalid_request for malformed input (our checks and Fastify's own).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startApi } from './support.js';
import { buildOpenApiDocument } from '../../src/server/openapi.js';
import { builtinPlugins } from '../../pipeline.config.js';
import type { ApiHarness } from './support.js';
import { cloudglueValidator, SpecValidator } from './openapi-validator.js';

let harness: ApiHarness;

beforeAll(async () => {
  harness = await startApi({}, { bodyLimit: 64 * 1024 });
});

afterAll(async () => {
  await harness?.close();
});

/** Every operation of our spec, with placeholders filled in. */
function operations(spec: Record<string, any>): Array<[string, string]> {
  const id = randomUUID();
  return Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([template, ops]) =>
    Object.keys(ops).map((method): [string, string] => [
      method.toUpperCase(),
      template.replace('{file_id}', id).replace('{thumbnail_file}', `${randomUUID()}.jpg`),
    ]),
  );
}

describe('authentication', () => {
  it('answers 401 unauthorized on every protected route without a key or with a wrong one', async () => {
    const { api } = harness;
    const ops = operations(api.spec).filter(([, path]) => path !== '/healthz');
    expect(ops.length).toBeGreaterThanOrEqual(10);
    const wrongKeys: Array<string | false> = [false, 'wrong-key', `${API_KEY}x`, API_KEY.slice(0, -1), ''];
    for (const [method, path] of ops) {
      for (const key of wrongKeys) {
        const body = method === 'POST' || method === 'PUT' ? { url: 'http://x.test/a.mp4' } : undefined;
        const response = await api.request(method, path, { key, ...(body ? { body } : {}) });
        expect([method, path, key, response.status, response.json?.code]).toEqual([method, path, key, 401, 'unauthorized']);
      }
    }
    expect((await api.get('/v1/files', { key: false })).headers.get('www-authenticate')).toMatch(/^Bearer/);
    // Unknown routes do not reveal themselves before auth either.
    expect((await api.get('/v2/nothing', { key: false, undocumented: true })).status).toBe(401);
  });

  it('accepts any configured key, case-insensitive scheme; /healthz needs none', async () => {
    const { api } = harness;
    expect((await api.get('/v1/files', { key: 'second-key' })).status).toBe(200);
    expect((await api.get('/v1/files', { key: false, headers: { authorization: `bearer ${API_KEY}` } })).status).toBe(200);
    expect((await api.get('/v1/files', { key: false, headers: { authorization: `Basic ${API_KEY}` } })).status).toBe(401);
    expect((await api.get('/healthz', { key: false })).json).toEqual({ status: 'ok' });
    expect((await api.get('/healthz', { key: 'wrong' })).status).toBe(200);
  });
});

describe('request validation', () => {
  const invalid = (json: { code?: string; error?: unknown }): void => {
    expect(json.code).toBe('invalid_request');
    expect(typeof json.error).toBe('string');
  };

  it('rejects malformed JSON, missing or mistyped fields with 400 invalid_request', async () => {
    const { api } = harness;
    const bad = [
      { rawBody: '{"url": ', headers: { 'content-type': 'application/json' } },
      { rawBody: '', headers: { 'content-type': 'application/json' } },
      { rawBody: '[1,2]', headers: { 'content-type': 'application/json' } },
      { rawBody: '"http://x.test/a.mp4"', headers: { 'content-type': 'application/json' } },
      { rawBody: 'http://x.test/a.mp4', headers: { 'content-type': 'text/plain' } },
      { body: {} },
      { body: { metadata: { a: 1 } } },
      { body: { url: 5 } },
      { body: { url: '' } },
      { body: { url: ['http://x.test/a.mp4'] } },
      { body: { url: 'http://x.test/a.mp4', metadata: 'x' } },
      { body: { url: 'http://x.test/a.mp4', metadata: [1] } },
      { body: { url: 'http://x.test/a.mp4', enable_segment_thumbnails: 'yes' } },
      { body: { url: 'http://x.test/a.mp4', enable_segment_thumbnails: 1 } },
      { rawBody: '{"__proto__": {"x": 1}, "url": "http://x.test/a.mp4"}', headers: { 'content-type': 'application/json' } },
    ];
    for (const options of bad) {
      const response = await api.request('POST', '/v1/files/sync', options);
      expect([JSON.stringify(options), response.status]).toEqual([JSON.stringify(options), 400]);
      invalid(response.json);
    }
    const id = randomUUID();
    for (const body of [[], 'x', { metadata: 'x' }, { metadata: [1] }, { filename: 5 }]) {
      const response = await api.put(`/v1/files/${id}`, body);
      expect([JSON.stringify(body), response.status]).toEqual([JSON.stringify(body), 400]);
      invalid(response.json);
    }
  });

  it('rejects out-of-range and mistyped query strings', async () => {
    const { api } = harness;
    const queries = [
      'limit=0', 'limit=101', 'limit=-1', 'limit=abc', 'limit=1.5', 'offset=-1', 'offset=x', 'status=done', 'status=',
      'order=size', 'sort=up', 'created_before=yesterday', 'created_after=2024-13-45x',
    ];
    for (const query of queries) {
      const response = await api.get(`/v1/files?${query}`);
      expect([query, response.status]).toEqual([query, 400]);
      invalid(response.json);
    }
    for (const ok of ['limit=1', 'limit=100', 'offset=0', 'status=pending', 'created_before=2024-01-01']) {
      expect([ok, (await api.get(`/v1/files?${ok}`)).status]).toEqual([ok, 200]);
    }
    const id = randomUUID();
    for (const query of ['limit=0', 'limit=101', 'is_default=maybe', 'offset=-2', 'type=1,2']) {
      const response = await api.get(`/v1/files/${id}/thumbnails?${query}`);
      expect([query, response.status]).toEqual([query, 400]);
      invalid(response.json);
    }
    for (const query of ['limit=0', 'limit=101']) {
      const response = await api.get(`/v1/files/${id}/segments?${query}`);
      expect([query, response.status]).toEqual([query, 400]);
    }
  });

  it("renders Fastify's own errors as {error, code}: 404 route, 415 content type, 413 body too large", async () => {
    const { api } = harness;
    const route = await api.get('/v1/nothing-here', { undocumented: true });
    expect(route).toMatchObject({ status: 404, json: { code: 'not_found' } });
    const method = await api.request('PATCH', `/v1/files/${randomUUID()}`, { body: {}, undocumented: true });
    expect(method).toMatchObject({ status: 404, json: { code: 'not_found' } });
    const type = await api.request('POST', '/v1/files/sync', { rawBody: '<url/>', headers: { 'content-type': 'application/xml' } });
    expect(type.status).toBe(415);
    invalid(type.json);
    const big = await api.post('/v1/files/sync', { url: 'http://x.test/a.mp4', metadata: { blob: 'x'.repeat(100 * 1024) } });
    expect(big.status).toBe(413);
    invalid(big.json);
    expect((await api.get(`/v1/files/${randomUUID()}`)).json.code).toBe('not_found');
    expect((await api.get('/v1/files/not-a-uuid')).json.code).toBe('not_found');
    // Errors before routing (a malformed percent-encoding) use the same body.
    const badUrl = await fetch(`${harness.baseUrl}/v1/files/%E0%A4%A`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(badUrl.status).toBe(400);
    expect(await badUrl.json()).toMatchObject({ code: 'invalid_request' });
  });
});

describe('the validators themselves', () => {
  it('reject what the specs forbid, and allow only the documented Cloudglue departures', () => {
    // The document of a server with the built-in plugins: each declares its source_metadata shape.
    const spec = buildOpenApiDocument({ sources: builtinPlugins() });
    const ours = new SpecValidator(spec, 'ours-check.json');
    const cloudglue = cloudglueValidator(spec);
    const file = {
      id: randomUUID(), uri: 'media-ingest://files/x', status: 'completed', bytes: 1, created_at: 1, updated_at: 1, filename: 'a',
      metadata: null, source: 'http', source_metadata: { source_type: 'http', final_url: 'http://x', etag: null, last_modified: null, content_type: 'video/mp4' },
      url: 'http://x', canonical_url: 'http://x', content_sha256: null,
    };
    const check = (v: SpecValidator, value: unknown): string | undefined => v.check('components/schemas/File', value);
    expect(check(ours, file)).toBeUndefined();
    expect(check(cloudglue, file)).toBeUndefined();
    expect(check(ours, { ...file, url: undefined })).toMatch(/url/);
    expect(check(ours, { ...file, status: 'done' })).toBeDefined();
    expect(check(cloudglue, { ...file, status: 'done' })).toBeDefined();
    expect(check(cloudglue, { ...file, source: 'tiktok', source_metadata: { source_type: 'tiktok', id: '1' } })).toBeUndefined();
    expect(check(cloudglue, { ...file, source: 'myplugin', source_metadata: null })).toBeDefined();
    expect(check(ours, { ...file, source: 'myplugin', source_metadata: { source_type: 'myplugin', anything: 1 } })).toBeUndefined();
    expect(check(cloudglue, { ...file, source_metadata: { source_type: 'myplugin' } })).toBeDefined();
    expect(check(ours, { ...file, source_metadata: { source_type: 'http' } })).toBeDefined();
    expect(check(ours, { ...file, bytes: 'x' })).toBeDefined();
    expect(check(cloudglue, { ...file, bytes: 1.5 })).toBeDefined();
    expect(check(cloudglue, { ...file, source: 'dropbox', source_metadata: { source_type: 'dropbox', dropbox_id: 'abc', name: null, share_url: 'https://www.dropbox.com/scl/fi/abc/a.mp4', share_form: 'scl' } })).toBeUndefined();
    expect(ours.check('components/schemas/Error', { error: 'x', code: 'nope' })).toBeDefined();
  });
});
