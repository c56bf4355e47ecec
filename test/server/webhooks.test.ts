// Webhook deliveries: signed file.job.* events to a loopback receiver, retried with the same delivery id.
import { createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, sendJson, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { WebhookDispatcher, verifyWebhook } from '../../src/server/index.js';
import type { Ingest } from '../../src/engine/ingest.js';
import type { IngestFile } from '../../src/engine/file-view.js';
import { pollUntilTerminal, startApi, syncOk } from './support.js';
import type { ApiHarness } from './support.js';

const HOST = 'hooks.example.test';
const SECRET = 'whsec-test-1234';
let media: FixtureServer;
let receiver: FixtureServer;
let harness: ApiHarness;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: { id: string; type: string; created_at: number; data: IngestFile };
}
const received: Received[] = [];
const waitFor = async (predicate: () => boolean, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for webhook deliveries');
    await new Promise((r) => setTimeout(r, 25));
  }
};

beforeAll(async () => {
  ensureMedia();
  media = await startFixtureServer();
  media.route('GET', '/tone.m4a', (_req, res) => serveFile(res, mediaPath('sample.m4a')));
  media.route('GET', '/broken.mp4', (_req, res) => serveFile(res, mediaPath('truncated.mp4')));
  receiver = await startFixtureServer();
  let failedOnce = false;
  receiver.route('POST', /^\/hook\/(all|failed)$/, async (_req, res, ctx) => {
    const raw = (await ctx.body()).toString('utf8');
    const body = JSON.parse(raw) as Received['body'];
    received.push({ path: ctx.path, headers: ctx.request.headers, raw, body });
    if (body.type === 'file.job.completed' && !failedOnce) {
      failedOnce = true;
      sendJson(res, 500, { error: 'try again' });
      return;
    }
    sendJson(res, 200, { ok: true });
  });
  harness = await startApi(
    {
      connectTo: [connectToFor(media, [HOST])],
      webhooks: [
        { url: receiver.url('/hook/all'), secret: SECRET },
        { url: receiver.url('/hook/failed'), secret: 'other-secret', events: ['file.job.failed'] },
      ],
    },
    { webhooks: { retry: { baseDelayMs: 50, maxDelayMs: 200 } } },
  );
});

afterAll(async () => {
  await harness?.close();
  await media?.close();
  await receiver?.close();
});

describe('webhooks', () => {
  it('delivers a signed file.job.completed, and again with the same id after a 500', async () => {
    const synced = await syncOk(harness.api, { url: `http://${HOST}/tone.m4a`, metadata: { hook: 1 } });
    const id = synced.id as string;
    await pollUntilTerminal(harness.api, id);
    const completed = (): Received[] => received.filter((r) => r.path === '/hook/all' && r.body.type === 'file.job.completed');
    await waitFor(() => completed().length >= 2);

    const [first, second] = completed() as [Received, Received];
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers['x-media-ingest-delivery']).toBe(first.body.id);
    expect(second.raw).toBe(first.raw);
    for (const delivery of [first, second]) {
      const timestamp = delivery.headers['x-media-ingest-timestamp'] as string;
      expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${delivery.raw}`).digest('hex')}`;
      expect(delivery.headers['x-media-ingest-signature']).toBe(expected);
      expect(verifyWebhook(SECRET, timestamp, delivery.raw, expected)).toBe(true);
      expect(verifyWebhook('wrong', timestamp, delivery.raw, expected)).toBe(false);
      expect(delivery.headers['content-type']).toBe('application/json');
    }
    expect(first.body).toMatchObject({ type: 'file.job.completed', data: { id, status: 'completed', metadata: { hook: 1 } } });
    expect(first.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof first.body.created_at).toBe('number');
    harness.api.checkSchema('File', first.body.data);

    const processing = received.filter((r) => r.path === '/hook/all' && r.body.type === 'file.job.processing' && r.body.data.id === id);
    expect(processing).toHaveLength(1);
    expect(received.filter((r) => r.path === '/hook/failed' && r.body.data.id === id)).toHaveLength(0);
  });

  it('sends file.job.failed to the receivers that subscribed to it', async () => {
    const synced = await syncOk(harness.api, { url: `http://${HOST}/broken.mp4` });
    const file = await pollUntilTerminal(harness.api, synced.id as string);
    expect(file.status).toBe('failed');
    await waitFor(() => received.some((r) => r.path === '/hook/failed' && r.body.data.id === file.id));
    const failed = received.filter((r) => r.path === '/hook/failed');
    expect(failed.map((r) => r.body.type)).toEqual(['file.job.failed']);
    expect(failed[0]!.body.data.error).toMatchObject({ code: 'media_corrupt' });
    const ts = failed[0]!.headers['x-media-ingest-timestamp'] as string;
    expect(verifyWebhook('other-secret', ts, failed[0]!.raw, failed[0]!.headers['x-media-ingest-signature'] as string)).toBe(true);
  });
});

describe('WebhookDispatcher', () => {
  const fakeEngine = (): Ingest => Object.assign(new EventEmitter(), { config: { webhooks: [] } }) as unknown as Ingest;
  const file = { id: 'f1', status: 'completed' } as IngestFile;

  it('gives up after the configured number of attempts, keeping one delivery id', async () => {
    const calls: Array<{ id: string | null; at: number }> = [];
    const fetchStub: typeof fetch = async (_url, init) => {
      calls.push({ id: new Headers(init?.headers).get('x-media-ingest-delivery'), at: Date.now() });
      return new Response('nope', { status: 503 });
    };
    const engine = fakeEngine();
    const dispatcher = new WebhookDispatcher(engine, {
      webhooks: [{ url: 'http://receiver.invalid/', secret: 's' }],
      retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 40 },
      fetch: fetchStub,
    });
    engine.emit('file.completed', file);
    engine.emit('file.progress', file);
    await waitFor(() => dispatcher.inFlight === 0, 5000);
    expect(calls).toHaveLength(4);
    expect(new Set(calls.map((c) => c.id)).size).toBe(1);
    expect(calls[3]!.at - calls[0]!.at).toBeGreaterThanOrEqual(20 * 0.5 + 40 * 0.5 + 40 * 0.5 - 5);
    await dispatcher.close();
  });

  it('stops listening and drops pending retries on close', async () => {
    let calls = 0;
    const engine = fakeEngine();
    const dispatcher = new WebhookDispatcher(engine, {
      webhooks: [{ url: 'http://receiver.invalid/', secret: 's' }],
      retry: { attempts: 10, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      fetch: async () => {
        calls++;
        throw new TypeError('connection refused');
      },
    });
    engine.emit('file.failed', file);
    await waitFor(() => calls === 1, 2000);
    const started = Date.now();
    await dispatcher.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(dispatcher.inFlight).toBe(0);
    expect(engine.listenerCount('file.failed')).toBe(0);
    engine.emit('file.failed', file);
    expect(calls).toBe(1);
  });
});
