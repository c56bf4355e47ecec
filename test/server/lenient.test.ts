// Common client habits the API accepts the way a well-kept API does: JSON headers on body-less requests (what an
// axios instance with default JSON headers sends), `charset` and case in the content type, trailing and doubled
// slashes, HEAD on GET routes. Strictness stays where it matters: a non-UTF-8 charset is a 415, a route that needs
// a body still says so, malformed JSON is still a 400.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { API_KEY, pollUntilTerminal, startApi, syncOk } from './support.js';
import type { ApiHarness } from './support.js';

const HOST = 'media.example.test';
const JSON_TYPE = { 'content-type': 'application/json' };
let fixtures: FixtureServer;
let harness: ApiHarness;

beforeAll(async () => {
  ensureMedia();
  fixtures = await startFixtureServer();
  fixtures.route('GET', '/tone.m4a', (_req, res) => serveFile(res, mediaPath('sample.m4a')));
  fixtures.route('GET', '/tone.mp3', (_req, res) => serveFile(res, mediaPath('sample.mp3')));
  // The first 64 KiB of a 1 MB body, then nothing until the client goes: a file that stays in flight.
  fixtures.route('GET', '/stalled.mp4', (_req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(1024 * 1024) });
    res.write(readFileSync(mediaPath('sample.mp4')).subarray(0, 64 * 1024));
  });
  harness = await startApi({ connectTo: [connectToFor(fixtures, [HOST])] });
});

afterAll(async () => {
  await harness?.close();
  await fixtures?.close();
});

/** A raw request through node:http, so exact headers (Content-Length: 0, no body) go out as written. */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const url = new URL(`${harness.baseUrl}${path}`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { authorization: `Bearer ${API_KEY}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('JSON headers on body-less requests', () => {
  it('deletes with Content-Type: application/json and an empty body (200), like axios with default JSON headers', async () => {
    const { api } = harness;
    const file = await syncOk(api, { url: `http://${HOST}/tone.m4a` });
    expect((await pollUntilTerminal(api, file.id as string)).status).toBe('completed');
    // Through the validating client (fetch sends Content-Length: 0) …
    const deleted = await api.delete(`/v1/files/${file.id}`, { headers: JSON_TYPE });
    expect([deleted.status, deleted.json]).toEqual([200, { id: file.id, object: 'file' }]);
    expect((await api.get(`/v1/files/${file.id}`)).status).toBe(404);
    // … and raw, with an explicit Content-Length: 0, with a charset, and with a blank body.
    for (const headers of [
      { ...JSON_TYPE, 'content-length': '0' },
      { 'content-type': 'application/json; charset=utf-8', 'content-length': '0' },
    ]) {
      const again = await syncOk(api, { url: `http://${HOST}/tone.mp3` });
      await pollUntilTerminal(api, again.id as string);
      const response = await raw('DELETE', `/v1/files/${again.id}`, headers);
      expect([JSON.stringify(headers), response.status, JSON.parse(response.text)]).toEqual([JSON.stringify(headers), 200, { id: again.id, object: 'file' }]);
    }
    const blank = await syncOk(api, { url: `http://${HOST}/tone.mp3` });
    await pollUntilTerminal(api, blank.id as string);
    expect((await api.request('DELETE', `/v1/files/${blank.id}`, { rawBody: ' \r\n', headers: JSON_TYPE })).status).toBe(200);
  });

  it('answers GETs and a missing file normally when JSON headers come without a body', async () => {
    const { api } = harness;
    const list = await raw('GET', '/v1/files?limit=1', { ...JSON_TYPE, 'content-length': '0' });
    expect([list.status, JSON.parse(list.text).object]).toEqual([200, 'list']);
    const missing = await api.delete(`/v1/files/${randomUUID()}`, { headers: JSON_TYPE });
    expect([missing.status, missing.json.code]).toEqual([404, 'not_found']);
  });

  it('still wants a body where the route needs one, and still refuses malformed JSON', async () => {
    const { api } = harness;
    const empty = await api.request('POST', '/v1/files/sync', { rawBody: '', headers: JSON_TYPE });
    expect([empty.status, empty.json.code, empty.json.error]).toEqual([400, 'invalid_request', 'The request body must be a JSON object']);
    const put = await api.request('PUT', `/v1/files/${randomUUID()}`, { rawBody: '', headers: JSON_TYPE });
    expect([put.status, put.json.code, put.json.error]).toEqual([400, 'invalid_request', 'The request body must be a JSON object']);
    const broken = await api.request('POST', '/v1/files/sync', { rawBody: '{"url": ', headers: JSON_TYPE });
    expect([broken.status, broken.json.code]).toEqual([400, 'invalid_request']);
    const poisoned = await api.request('POST', '/v1/files/sync', { rawBody: '{"__proto__": {"x": 1}, "url": "http://x.test/a.mp4"}', headers: JSON_TYPE });
    expect([poisoned.status, poisoned.json.code]).toEqual([400, 'invalid_request']);
  });
});

describe('content types', () => {
  it('accepts application/json in any case, with a UTF-8 charset in any spelling', async () => {
    const { api } = harness;
    for (const type of ['application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON', 'APPLICATION/JSON; Charset="utf-8"', 'application/json; charset=utf8']) {
      const response = await api.request('POST', '/v1/files/sync', { rawBody: JSON.stringify({ url: `http://${HOST}/tone.m4a` }), headers: { 'content-type': type } });
      expect([type, response.status, response.json.source]).toEqual([type, 200, 'http']);
    }
  });

  it('refuses other charsets with 415 invalid_request, naming the charset', async () => {
    const { api } = harness;
    for (const charset of ['latin1', 'utf-16', 'iso-8859-1']) {
      const response = await api.request('POST', '/v1/files/sync', { rawBody: JSON.stringify({ url: `http://${HOST}/tone.m4a` }), headers: { 'content-type': `application/json; charset=${charset}` } });
      expect([charset, response.status, response.json.code]).toEqual([charset, 415, 'invalid_request']);
      expect(response.json.error).toContain(charset);
    }
  });
});

describe('paths', () => {
  it('treats a trailing slash and doubled slashes as the route itself', async () => {
    const { api } = harness;
    const file = await syncOk(api, { url: `http://${HOST}/tone.m4a` });
    for (const path of ['/v1/files/', '//v1/files', '/v1//files/']) {
      const response = await raw('GET', `${path}?limit=5`, {});
      expect([path, response.status, JSON.parse(response.text).object]).toEqual([path, 200, 'list']);
    }
    const one = await raw('GET', `/v1/files/${file.id}/`, {});
    expect([one.status, JSON.parse(one.text).id]).toEqual([200, file.id]);
    const synced = await raw('POST', '/v1/files/sync/', JSON_TYPE, JSON.stringify({ url: `http://${HOST}/tone.m4a` }));
    expect([synced.status, JSON.parse(synced.text).id]).toEqual([200, file.id]);
    // Auth still applies on every spelling.
    const anonymous = await fetch(`${harness.baseUrl}/v1/files/`);
    expect(anonymous.status).toBe(401);
  });
});

describe('HEAD', () => {
  it('answers HEAD on GET routes with the GET status and headers and no body', async () => {
    const { api } = harness;
    const file = await syncOk(api, { url: `http://${HOST}/tone.m4a` });
    await pollUntilTerminal(api, file.id as string);
    for (const path of ['/v1/files', `/v1/files/${file.id}`, `/v1/files/${file.id}/thumbnails`, '/openapi.json', '/healthz']) {
      const get = await raw('GET', path, {});
      const head = await raw('HEAD', path, {});
      expect([path, head.status, head.text]).toEqual([path, get.status, '']);
      expect(head.headers['content-type']).toBe(get.headers['content-type']);
    }
    // The event stream's HEAD answers its headers and ends (it does not hold the connection open).
    const stalled = await syncOk(api, { url: `http://${HOST}/stalled.mp4` });
    for (const id of [file.id, stalled.id]) {
      const events = await raw('HEAD', `/v1/files/${id}/events`, {});
      expect([events.status, events.headers['content-type'], events.text]).toEqual([200, 'text/event-stream; charset=utf-8', '']);
    }
    expect((await api.get(`/v1/files/${stalled.id}`)).json.status).toMatch(/^(pending|processing)$/);
    expect((await api.delete(`/v1/files/${stalled.id}`)).status).toBe(200);
    const missing = await raw('HEAD', `/v1/files/${randomUUID()}`, {});
    expect([missing.status, missing.text]).toEqual([404, '']);
    const anonymous = await raw('HEAD', '/v1/files', { authorization: '' });
    expect(anonymous.status).toBe(401);
  });
});
