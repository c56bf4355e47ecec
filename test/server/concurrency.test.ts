// 200 concurrent POST /v1/files/sync over 20 distinct new URLs: exactly 20 files and 20 upstream downloads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { pollUntilTerminal, startApi } from './support.js';
import type { ApiHarness } from './support.js';

const HOST = 'burst.example.test';
let fixtures: FixtureServer;
let harness: ApiHarness;

beforeAll(async () => {
  ensureMedia();
  fixtures = await startFixtureServer();
  // A little latency so the duplicates really overlap the first request of each URL.
  fixtures.route('GET', /^\/tone-\d+\.m4a$/, async (_req, res) => {
    await new Promise((r) => setTimeout(r, 150));
    await serveFile(res, mediaPath('sample.m4a'));
  });
  harness = await startApi({ connectTo: [connectToFor(fixtures, [HOST])], concurrency: { network: 8, perHost: 8 } });
});

afterAll(async () => {
  await harness?.close();
  await fixtures?.close();
});

describe('concurrent syncs', () => {
  it('creates one file and one upstream GET per distinct URL', async () => {
    const { api } = harness;
    const urls = Array.from({ length: 20 }, (_, i) => `http://${HOST}/tone-${i}.m4a`);
    const requests = Array.from({ length: 200 }, (_, i) => urls[i % urls.length]!);
    const responses = await Promise.all(requests.map((url) => api.post('/v1/files/sync', { url })));
    expect(responses.map((r) => r.status)).toEqual(requests.map(() => 200));

    const idsByUrl = new Map<string, Set<string>>();
    responses.forEach((r, i) => {
      const set = idsByUrl.get(requests[i]!) ?? new Set<string>();
      set.add(r.json.id as string);
      idsByUrl.set(requests[i]!, set);
    });
    expect([...idsByUrl.values()].map((s) => s.size)).toEqual(urls.map(() => 1));
    const ids = new Set([...idsByUrl.values()].flatMap((s) => [...s]));
    expect(ids.size).toBe(20);

    for (const id of ids) expect((await pollUntilTerminal(api, id)).status).toBe('completed');
    const list = await api.get('/v1/files?limit=100');
    expect(list.json.total).toBe(20);
    expect(new Set(list.json.data.map((f: { id: string }) => f.id))).toEqual(ids);
    expect(fixtures.count('GET', /^\/tone-\d+\.m4a$/)).toBe(20);
    for (const url of urls) expect(fixtures.count('GET', new URL(url).pathname)).toBe(1);
  });
});
