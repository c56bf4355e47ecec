// GET /metrics (Prometheus text, prom-client) scraped around real work: a video synced end to end, a retried 503,
// a refused YouTube URL; behind the bearer key unless configured public; and the same metrics for library users
// through createIngest({ metrics: { registry } }).
import { statSync } from 'node:fs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestMetrics } from '../../src/index.js';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { startEngine } from '../support/engine.js';
import { directHttp } from '../../plugins/direct-http/index.js';
import type { SourcePlugin, TelemetryEvents } from '../../src/index.js';
import { API_KEY, pollUntilTerminal, startApi, syncOk } from './support.js';
import type { ApiHarness } from './support.js';

const HOST = 'media.example.test';
let fixtures: FixtureServer;
let harness: ApiHarness;
let flaky = 0;

/** One sample of the exposition text: `name{labels} value`, 0 when absent. Labels must match exactly. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(/,(?=[a-zA-Z_]\w*=")/).filter(Boolean).sort().join(',');
    if (have === wanted) return Number(match[3]);
  }
  return 0;
}

async function scrape(key: string | false = API_KEY, base = harness.baseUrl): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${base}/metrics`, { headers: key === false ? {} : { authorization: `Bearer ${key}` } });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

beforeAll(async () => {
  ensureMedia();
  fixtures = await startFixtureServer();
  fixtures.route('GET', '/clip.mov', (_req, res) => serveFile(res, mediaPath('sample.mov')));
  fixtures.route('GET', '/tone.wav', (_req, res) => serveFile(res, mediaPath('sample.wav')));
  // 503 on the first request, then the file: one retry.
  fixtures.route('GET', '/flaky.mp3', (_req, res) => {
    if (flaky++ === 0) {
      res.writeHead(503, { 'retry-after': '0', 'content-type': 'text/plain' });
      res.end('busy');
      return;
    }
    serveFile(res, mediaPath('sample.mp3'));
  });
  harness = await startApi({ connectTo: [connectToFor(fixtures, [HOST])], retry: { baseDelayMs: 10, maxDelayMs: 50 } });
});

afterAll(async () => {
  await harness?.close();
  await fixtures?.close();
});

describe('GET /metrics', () => {
  it('counts a synced video: accepted sync, bytes, stage durations, upstream 2xx, files by status', async () => {
    const before = await scrape();
    expect(before.status).toBe(200);
    expect(before.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(before.text, 'media_ingest_files', { status: 'completed' })).toBe(0);

    const file = await syncOk(harness.api, { url: `http://${HOST}/clip.mov` });
    expect((await pollUntilTerminal(harness.api, file.id as string)).status).toBe('completed');
    const after = (await scrape()).text;
    const delta = (name: string, labels: Record<string, string> = {}): number => sample(after, name, labels) - sample(before.text, name, labels);

    expect(delta('media_ingest_syncs_accepted_total', { source: 'http' })).toBe(1);
    expect(delta('media_ingest_downloaded_bytes_total', { source: 'http' })).toBe(statSync(mediaPath('sample.mov')).size);
    for (const stage of ['resolve', 'download', 'probe', 'thumbnails']) {
      expect([stage, delta('media_ingest_stage_duration_seconds_count', { stage, source: 'http', outcome: 'ok' })]).toEqual([stage, 1]);
      expect(delta('media_ingest_stage_duration_seconds_sum', { stage, source: 'http', outcome: 'ok' })).toBeGreaterThan(0);
    }
    expect(delta('media_ingest_upstream_responses_total', { source: 'http', class: '2xx' })).toBe(1);
    expect(delta('media_ingest_files_finished_total', { status: 'completed', code: '' })).toBe(1);
    expect(sample(after, 'media_ingest_files', { status: 'completed' })).toBe(1);
    expect(sample(after, 'media_ingest_files', { status: 'processing' })).toBe(0);
    // Idle again: nothing queued or running.
    for (const queue of ['network', 'cpu']) {
      expect(after).toContain(`media_ingest_queue_depth{queue="${queue}"} 0`);
      expect(after).toContain(`media_ingest_running{queue="${queue}"} 0`);
    }
    expect(after).toContain('media_ingest_file_runs_in_flight 0');
    // Process metrics come with the server's own registry.
    expect(after).toMatch(/^media_ingest_process_resident_memory_bytes \d+/m);
  });

  it('counts a refusal by code and a retried 503 by source and status class', async () => {
    const before = (await scrape()).text;
    const refused = await harness.api.post('/v1/files/sync', { url: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ' });
    expect([refused.status, refused.json.code]).toEqual([400, 'youtube_not_supported']);
    const flakyFile = await syncOk(harness.api, { url: `http://${HOST}/flaky.mp3` });
    expect((await pollUntilTerminal(harness.api, flakyFile.id as string)).status).toBe('completed');
    const after = (await scrape()).text;
    const delta = (name: string, labels: Record<string, string> = {}): number => sample(after, name, labels) - sample(before, name, labels);

    expect(delta('media_ingest_syncs_refused_total', { code: 'youtube_not_supported' })).toBe(1);
    expect(delta('media_ingest_syncs_accepted_total', { source: 'http' })).toBe(1);
    expect(delta('media_ingest_retries_total', { source: 'http', code: 'upstream_error' })).toBe(1);
    expect(delta('media_ingest_upstream_responses_total', { source: 'http', class: '5xx' })).toBe(1);
    expect(delta('media_ingest_upstream_responses_total', { source: 'http', class: '2xx' })).toBe(1);
    expect(delta('media_ingest_downloaded_bytes_total', { source: 'http' })).toBe(statSync(mediaPath('sample.mp3')).size);
    // An audio file has no thumbnails stage.
    expect(delta('media_ingest_stage_duration_seconds_count', { stage: 'thumbnails', source: 'http', outcome: 'ok' })).toBe(0);
    expect(delta('media_ingest_stage_duration_seconds_count', { stage: 'probe', source: 'http', outcome: 'ok' })).toBe(1);
    // No label ever carries a URL or a host.
    expect(after).not.toMatch(/youtube\.com|media\.example\.test|dQw4w9WgXcQ/);
  });

  it('is behind the bearer key by default, public or absent when configured', async () => {
    const anonymous = await scrape(false);
    expect([anonymous.status, JSON.parse(anonymous.text).code]).toEqual([401, 'unauthorized']);
    expect((await scrape('wrong-key')).status).toBe(401);

    const open = await startApi({}, { metrics: 'public' });
    const off = await startApi({}, { metrics: false });
    const publicByConfig = await startApi({ metricsEndpoint: { public: true } });
    try {
      const scraped = await scrape(false, open.baseUrl);
      expect([scraped.status, sample(scraped.text, 'media_ingest_files', { status: 'completed' })]).toEqual([200, 0]);
      expect((await scrape(false, publicByConfig.baseUrl)).status).toBe(200);
      const absent = await scrape(API_KEY, off.baseUrl);
      expect([absent.status, JSON.parse(absent.text).code]).toEqual([404, 'not_found']);
    } finally {
      await Promise.all([open.close(), off.close(), publicByConfig.close()]);
    }
  });
});

describe('metrics for library users', () => {
  it('createIngest({ metrics: { registry } }) registers the same metrics on the caller’s registry', async () => {
    const registry = new Registry();
    const engine = await startEngine({ connectTo: [connectToFor(fixtures, [HOST])], metrics: { registry } });
    try {
      expect(ingestMetrics(engine.ingest).registry).toBe(registry);
      expect(() => ingestMetrics(engine.ingest, { registry: new Registry() })).toThrow(/another registry/);
      await expect(engine.ingest.sync('https://youtu.be/dQw4w9WgXcQ')).rejects.toMatchObject({ code: 'youtube_not_supported' });
      const file = await engine.ingest.sync(`http://${HOST}/clip.mov`, { wait: true });
      expect(file.status).toBe('completed');
      const text = await registry.metrics();
      expect(sample(text, 'media_ingest_syncs_refused_total', { code: 'youtube_not_supported' })).toBe(1);
      expect(sample(text, 'media_ingest_syncs_accepted_total', { source: 'http' })).toBe(1);
      expect(sample(text, 'media_ingest_downloaded_bytes_total', { source: 'http' })).toBe(statSync(mediaPath('sample.mov')).size);
      expect(sample(text, 'media_ingest_files', { status: 'completed' })).toBe(1);
      // The caller's registry gets the engine's metrics only, not prom-client's process metrics.
      expect(text).not.toContain('process_cpu');
    } finally {
      await engine.close();
    }
  });
});

describe('telemetry attribution', () => {
  it('credits each upstream exchange to the source plugin of its own run, also when the run waited in a queue', async () => {
    const OTHER = 'other.example.test';
    // A second source plugin (a direct link under another id) for one host.
    const other: SourcePlugin = { ...directHttp(), id: 'other', matches: (url) => url.hostname === OTHER };
    const engine = await startEngine({
      connectTo: [connectToFor(fixtures, [HOST, OTHER])], plugins: [other, directHttp()], concurrency: { network: 1 },
    });
    const seen: Array<TelemetryEvents['upstream.response']> = [];
    const depths: number[] = [];
    engine.ingest.on('upstream.response', (event: TelemetryEvents['upstream.response']) => seen.push(event));
    engine.ingest.on('file.processing', () => depths.push(engine.ingest.workload().network.queued));
    try {
      // One network slot: the second run starts from the first one's completion (another async context).
      const files = await Promise.all([
        engine.ingest.sync(`http://${OTHER}/clip.mov`, { wait: true }),
        engine.ingest.sync(`http://${HOST}/tone.wav`, { wait: true }),
      ]);
      expect(files.map((f) => [f.source, f.status])).toEqual([['other', 'completed'], ['http', 'completed']]);
      expect(seen.map((e) => `${e.source}:${e.status}`).sort()).toEqual(['http:200', 'other:200']);
      expect(depths[0]).toBe(1);
      expect(engine.ingest.workload()).toEqual({ network: { queued: 0, running: 0 }, cpu: { queued: 0, running: 0 }, files: 0 });
    } finally {
      await engine.close();
    }
  });
});
