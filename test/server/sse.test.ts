// GET /v1/files/{id}/events: Server-Sent Events of one file, read with fetch.
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { startEngine } from '../support/engine.js';
import { API_KEY, startApi, syncOk } from './support.js';
import type { ApiHarness } from './support.js';

const HOST = 'events.example.test';
let fixtures: FixtureServer;
let harness: ApiHarness;

interface SseMessage {
  event: string;
  data: any;
}

/** Reads an event stream to its end: the events, and how many heartbeat comments came by. */
/** Reads a whole event stream; `onFirstEvent` is called once the first event (the current File) has arrived. */
async function readEvents(
  url: string, signal?: AbortSignal, onFirstEvent?: () => void,
): Promise<{ status: number; type: string | null; events: SseMessage[]; heartbeats: number }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${API_KEY}`, accept: 'text/event-stream' }, ...(signal ? { signal } : {}) });
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response.body ?? []) {
    text += decoder.decode(chunk as Uint8Array, { stream: true });
    if (onFirstEvent && /(^|\n)event: [^\n]*\n[^]*?\n\n/.test(text)) {
      onFirstEvent();
      onFirstEvent = undefined;
    }
  }
  const events: SseMessage[] = [];
  let heartbeats = 0;
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter(Boolean);
    if (lines.length === 0) continue;
    if (lines.every((l) => l.startsWith(':'))) {
      heartbeats++;
      continue;
    }
    const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
    const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
    if (event) events.push({ event, data: JSON.parse(data) });
  }
  return { status: response.status, type: response.headers.get('content-type'), events, heartbeats };
}

beforeAll(async () => {
  ensureMedia();
  fixtures = await startFixtureServer();
  const size = statSync(mediaPath('sample.m4a')).size;
  fixtures.route('GET', '/slow.m4a', (_req, res) => serveFile(res, mediaPath('sample.m4a'), { dripBytesPerSecond: Math.ceil(size / 1.2) }));
  fixtures.route('GET', '/hang.m4a', (_req, res) => serveFile(res, mediaPath('sample.m4a'), { dripBytesPerSecond: 16_000 }));
  fixtures.route('GET', '/fast.m4a', (_req, res) => serveFile(res, mediaPath('sample.m4a')));
  harness = await startApi({ connectTo: [connectToFor(fixtures, [HOST])] }, { heartbeatMs: 200 });
});

afterAll(async () => {
  await harness?.close();
  await fixtures?.close();
});

describe('file events (SSE)', () => {
  it('streams the current file, progress, then completed, and closes', async () => {
    const { api } = harness;
    const synced = await syncOk(api, { url: `http://${HOST}/slow.m4a` });
    expect(synced.status).toBe('processing');
    const stream = await readEvents(`${harness.baseUrl}/v1/files/${synced.id as string}/events`);
    expect(stream.status).toBe(200);
    expect(stream.type).toContain('text/event-stream');
    const names = stream.events.map((e) => e.event);
    expect(names[0]).toBe('file');
    expect(stream.events[0]!.data.status).toBe('processing');
    expect(names.at(-1)).toBe('file.completed');
    expect(stream.events.at(-1)!.data.status).toBe('completed');
    expect(names).toContain('file.progress');
    const progress = stream.events.filter((e) => e.event === 'file.progress').map((e) => e.data.progress.bytes_received as number);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(stream.heartbeats).toBeGreaterThanOrEqual(1);
    for (const e of stream.events) {
      expect(e.data.id).toBe(synced.id);
      api.checkSchema('File', e.data);
    }
  });

  it('ends at once for a file that is already terminal; 404 for an unknown id', async () => {
    const { api } = harness;
    const synced = await syncOk(api, { url: `http://${HOST}/fast.m4a` });
    await harness.engine.ingest.waitFor(synced.id as string);
    const stream = await readEvents(`${harness.baseUrl}/v1/files/${synced.id as string}/events`);
    expect(stream.events.map((e) => [e.event, e.data.status])).toEqual([['file', 'completed']]);
    const unknown = await api.get(`/v1/files/${randomUUID()}/events`);
    expect(unknown).toMatchObject({ status: 404, json: { code: 'not_found' } });
  });

  it('sends file.deleted and closes when the file is deleted mid-download', async () => {
    const { api } = harness;
    const synced = await syncOk(api, { url: `http://${HOST}/hang.m4a` });
    let subscribed!: () => void;
    const firstEvent = new Promise<void>((resolve) => (subscribed = resolve));
    const reading = readEvents(`${harness.baseUrl}/v1/files/${synced.id as string}/events`, undefined, subscribed);
    await firstEvent;
    expect((await api.delete(`/v1/files/${synced.id as string}`)).status).toBe(200);
    const stream = await reading;
    expect(stream.events[0]!.event).toBe('file');
    expect(stream.events.at(-1)!.event).toBe('file.deleted');
  });
});

describe('server shutdown', () => {
  it('ends open event streams so close() does not hang', async () => {
    const own = await startApi({ connectTo: [connectToFor(fixtures, [HOST])] });
    const synced = await syncOk(own.api, { url: `http://${HOST}/hang.m4a` });
    let subscribed!: () => void;
    const firstEvent = new Promise<void>((resolve) => (subscribed = resolve));
    const reading = readEvents(`${own.baseUrl}/v1/files/${synced.id as string}/events`, undefined, subscribed);
    await firstEvent;
    const started = Date.now();
    await own.app.close();
    const stream = await reading;
    expect(stream.events.map((e) => e.event)[0]).toBe('file');
    expect(Date.now() - started).toBeLessThan(3000);
    await own.engine.ingest.close();
    // The engine checkpointed the in-flight file back to pending; a restart would resume it.
    const reopened = await startEngine({ dataDir: own.engine.dataDir, recover: false });
    expect((await reopened.ingest.get(synced.id as string)).status).toBe('pending');
    await reopened.close();
  });
});
