// Cluster roles as separate OS processes of the real CLI: `serve --role api` nodes queue runs and never download
// (their connect-to map points at a trap origin that must see nothing), `worker` processes run them; SSE on an API
// node shows the `downloading` progress of a run in a worker; webhooks are delivered once per event across two API
// nodes, and their retries survive the restart of every API node (the receiver refuses until both have stopped); SIGTERM on a worker mid-download hands its
// run back (`pending`, its job queued again) and another worker completes it; `batch --role api` streams results
// in input order while only a `serve --role worker` process (its HTTP: /healthz only) runs the files.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/server/index.js';
import { connectToFor, serveBuffer, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { clusterEnv, clusterServices } from '../support/cluster-services.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { toneWav } from '../support/tone-wav.js';
import { startCli, until } from './support/cli-process.js';
import type { CliProcess } from './support/cli-process.js';
import { deleteRedisKeys } from './support/redis-keys.js';

const cluster = await clusterServices('cluster: roles (api, worker, batch), SSE and webhooks across processes');
const HOST = 'media.roles.test';
const CONFIG = path.resolve('test/cluster/support/roles.config.ts');
const SECRET = 'roles-secret';

interface Namespace {
  schema: string;
  prefix: string;
  dirs: string[];
}

/** One test's Postgres schema, Redis prefix and S3 prefix, and the data dirs of its processes. */
function namespace(): Namespace {
  return { schema: `mi_roles_${randomUUID().replaceAll('-', '').slice(0, 16)}`, prefix: `test-roles-${randomUUID()}`, dirs: [] };
}

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads an event stream until it ends; `onEvent` sees each event as it arrives. */
async function readEvents(url: string, onEvent: (event: SseEvent) => void): Promise<SseEvent[]> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const name = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (!name || !data) continue;
      const event = { event: name, data: JSON.parse(data) as Record<string, unknown> };
      events.push(event);
      onEvent(event);
    }
  }
  return events;
}

describe.skipIf(!cluster)('cluster roles across processes', () => {
  let origin: FixtureServer;
  let trap: FixtureServer;
  let receiver: FixtureServer;
  const started: CliProcess[] = [];
  const namespaces: Namespace[] = [];
  const wav = (): Buffer => readFileSync(mediaPath('sample.wav'));

  beforeAll(async () => {
    ensureMedia();
    [origin, trap, receiver] = await Promise.all([startFixtureServer(), startFixtureServer(), startFixtureServer()]);
    // The origin an API node would reach: it must never be asked for anything.
    trap.route('*', /.*/, (_req, res) => {
      res.writeHead(404).end();
    });
  });

  afterAll(async () => {
    for (const child of started) if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await Promise.all(started.map((child) => child.exit));
    await Promise.all([origin, trap, receiver].map((server) => server?.close()));
    const admin = new pg.Client({ connectionString: cluster!.postgresUrl });
    await admin.connect();
    for (const ns of namespaces) {
      await admin.query(`DROP SCHEMA IF EXISTS ${ns.schema} CASCADE`);
      await deleteRedisKeys(cluster!.redisUrl, ns.prefix);
      for (const dir of ns.dirs) rmSync(dir, { recursive: true, force: true });
    }
    await admin.end();
  });

  /** Starts `media-ingest <args>` in the namespace; `originFor` is the origin the process reaches for HOST. */
  function cli(ns: Namespace, args: string[], originFor: FixtureServer, env: Record<string, string> = {}): CliProcess {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mi-roles-'));
    ns.dirs.push(dir);
    const child = startCli(['--config', CONFIG, '--data-dir', dir, ...args], {
      ...clusterEnv(),
      MEDIA_INGEST_POSTGRES_SCHEMA: ns.schema,
      MEDIA_INGEST_REDIS_PREFIX: ns.prefix,
      MEDIA_INGEST_S3_PREFIX: `${ns.prefix}/`,
      MEDIA_INGEST_CONNECT_TO: connectToFor(originFor, [HOST]),
      LOG_LEVEL: 'warn',
      ...env,
    });
    started.push(child);
    return child;
  }

  async function apiNode(ns: Namespace, env: Record<string, string> = {}): Promise<{ child: CliProcess; url: string }> {
    const child = cli(ns, ['serve', '--role', 'api', '--no-auth', '--port', '0'], trap, env);
    const line = await child.line((l) => 'listening' in l || 'error' in l);
    expect(line).toMatchObject({ role: 'api' });
    return { child, url: line.listening as string };
  }

  async function worker(ns: Namespace): Promise<CliProcess> {
    const child = cli(ns, ['worker'], origin);
    expect(await child.line()).toMatchObject({ ready: true, role: 'worker' });
    return child;
  }

  const getFile = async (api: string, id: string): Promise<Record<string, unknown>> => (await fetch(`${api}/v1/files/${id}`)).json() as Promise<Record<string, unknown>>;

  it('a worker runs what an api node queued; SSE on the other api node shows its download; webhooks once per event, retried after a restart', async () => {
    const ns = namespace();
    namespaces.push(ns);
    // The media: a first part, then the rest once released, in small pieces (several progress events).
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const body = wav();
    origin.route('GET', '/sse.wav', async (_req, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': body.length });
      res.write(body.subarray(0, 64 * 1024));
      await released;
      for (let at = 64 * 1024; at < body.length && !res.destroyed; at += 24 * 1024) {
        res.write(body.subarray(at, at + 24 * 1024));
        await new Promise((resolve) => setTimeout(resolve, 60)); // a slow origin, so the download spans progress reports
      }
      res.end();
    });
    // The receiver: refuses every attempt while `refusing`, then counts deliveries by delivery id and by event.
    let refusing = true;
    const attempts = new Map<string, number>();
    const delivered: Array<{ id: string; event: string }> = [];
    receiver.route('POST', '/hook', async (req, res, ctx) => {
      const raw = (await ctx.body()).toString('utf8');
      const id = String(req.headers['x-media-ingest-delivery']);
      const signed = verifyWebhook(SECRET, String(req.headers['x-media-ingest-timestamp']), raw, String(req.headers['x-media-ingest-signature']));
      const delivery = JSON.parse(raw) as { id: string; type: string; data: { id: string } };
      attempts.set(id, (attempts.get(id) ?? 0) + 1);
      if (!signed || delivery.id !== id || refusing) return void res.writeHead(503).end();
      delivered.push({ id, event: `${delivery.type} ${delivery.data.id}` });
      res.writeHead(204).end();
    });
    const hookEnv = { TEST_WEBHOOK_URL: receiver.url('/hook'), TEST_WEBHOOK_SECRET: SECRET };
    const [a, b, w] = await Promise.all([apiNode(ns, hookEnv), apiNode(ns, hookEnv), worker(ns)]);

    const synced = await fetch(`${a.url}/v1/files/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://${HOST}/sse.wav` }) });
    expect(synced.status).toBe(200);
    const file = (await synced.json()) as { id: string; status: string };
    expect(['pending', 'processing']).toContain(file.status);

    const progress: number[] = [];
    let opened!: () => void;
    const streamOpen = new Promise<void>((resolve) => (opened = resolve));
    const stream = readEvents(`${b.url}/v1/files/${file.id}/events`, (event) => {
      if (event.event === 'file') opened();
      const p = event.data.progress as { stage?: string; bytes_received?: number } | undefined;
      if (event.event === 'file.progress' && p?.stage === 'downloading') progress.push(p.bytes_received ?? 0);
    });
    await streamOpen;
    release();
    const events = await stream;
    expect(events.at(-1)).toMatchObject({ event: 'file.completed', data: { id: file.id, status: 'completed' } });
    // Progress of the download in the worker, seen on B, growing past the part sent before B subscribed.
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...progress)).toBeGreaterThan(64 * 1024);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));

    // Both API nodes heard both webhook events of the run and queued them; the receiver refused the attempts so far.
    await until('an attempt of both webhook deliveries', () => (attempts.size >= 2 ? true : undefined), 60_000);
    // Both API nodes stop (on SIGTERM they finish queuing and their attempts in flight); the retries wait in Redis.
    for (const node of [a, b]) node.child.process.kill('SIGTERM');
    expect(await Promise.all([a.child.exit, b.child.exit])).toEqual([0, 0]);
    expect(delivered).toEqual([]);
    // A new API node sends the retries: each event once, under one delivery id.
    refusing = false;
    const c = await apiNode(ns, hookEnv);
    const wanted = [`file.job.processing ${file.id}`, `file.job.completed ${file.id}`];
    await until('both webhook deliveries', () => (wanted.every((e) => delivered.some((d) => d.event === e)) ? true : undefined), 90_000);
    c.child.process.kill('SIGTERM');
    expect(await c.child.exit).toBe(0);
    expect(delivered.map((d) => d.event).sort()).toEqual([...wanted].sort());
    expect(new Set(delivered.map((d) => d.id)).size).toBe(2);
    expect([...attempts.keys()].sort()).toEqual(delivered.map((d) => d.id).sort());

    // Only the worker downloaded: once; the API nodes' origin saw nothing.
    expect(origin.count('GET', '/sse.wav')).toBe(1);
    expect(trap.requests).toHaveLength(0);
    w.process.kill('SIGTERM');
    expect(await w.exit).toBe(0);
  }, 240_000);

  it('SIGTERM on a worker mid-download hands the run back; another worker completes it', async () => {
    const ns = namespace();
    namespaces.push(ns);
    const body = wav();
    let requests = 0;
    origin.route('GET', '/handback.wav', async (_req, res: ServerResponse) => {
      // The first download stalls after its first part (until the worker lets go); later ones are served whole.
      if (++requests > 1) return serveBuffer(res, body, { contentType: 'audio/wav' });
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': body.length });
      res.write(body.subarray(0, 64 * 1024));
    });
    const [a, w1] = await Promise.all([apiNode(ns), worker(ns)]);
    const synced = await fetch(`${a.url}/v1/files/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://${HOST}/handback.wav` }) });
    const { id } = (await synced.json()) as { id: string };
    await until('the download in worker 1', async () => {
      const progress = (await getFile(a.url, id)).progress as { stage?: string; bytes_received?: number } | undefined;
      return progress?.stage === 'downloading' && (progress.bytes_received ?? 0) > 0 ? true : undefined;
    });

    w1.process.kill('SIGTERM');
    expect(await w1.exit).toBe(0);
    // Handed back: the file waits (`pending`) and its job is queued again for any worker.
    expect(await getFile(a.url, id)).toMatchObject({ id, status: 'pending' });
    const redis = new Redis(cluster!.redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue('file-runs', { connection: redis, prefix: ns.prefix });
    try {
      expect(await queue.getJobState(id)).toBe('waiting');
    } finally {
      await queue.close();
      redis.disconnect();
    }

    const w2 = await worker(ns);
    const done = await until('the file completed by worker 2', async () => {
      const current = await getFile(a.url, id);
      return current.status === 'completed' || current.status === 'failed' ? current : undefined;
    }, 120_000);
    expect(done).toMatchObject({ status: 'completed', bytes: body.length });
    expect(origin.count('GET', '/handback.wav')).toBe(2);
    expect(trap.requests).toHaveLength(0);
    for (const child of [a.child, w2]) child.process.kill('SIGTERM');
    expect(await Promise.all([a.child.exit, w2.exit])).toEqual([0, 0]);
  }, 240_000);

  it('a second signal makes a worker exit at once', async () => {
    const ns = namespace();
    namespaces.push(ns);
    const body = wav();
    origin.route('GET', '/second-signal.wav', (_req, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'audio/wav', 'content-length': body.length });
      res.write(body.subarray(0, 64 * 1024)); // and nothing more: the run stays in its download
    });
    const [a, w] = await Promise.all([apiNode(ns), worker(ns)]);
    const synced = await fetch(`${a.url}/v1/files/sync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://${HOST}/second-signal.wav` }) });
    const { id } = (await synced.json()) as { id: string };
    await until('the download in the worker', async () => ((await getFile(a.url, id)).progress as { stage?: string } | undefined)?.stage === 'downloading' || undefined);
    // Two different signals (two SIGTERMs sent back to back may reach the process as one).
    w.process.kill('SIGTERM');
    w.process.kill('SIGINT');
    expect(await w.exit).toBe(1);
    a.child.process.kill('SIGTERM');
    expect(await a.child.exit).toBe(0);
  }, 120_000);

  it('batch --role api queues its lines for a serve --role worker process and prints the results in input order', async () => {
    const ns = namespace();
    namespaces.push(ns);
    origin.route('GET', /^\/batch\/\d+\.wav$/, (req, res: ServerResponse) => {
      const n = Number(/(\d+)\.wav$/.exec(req.url!)![1]);
      if (n === 3) return void res.writeHead(404).end();
      void serveBuffer(res, toneWav(n), { contentType: 'audio/wav' });
    });
    // The worker: `serve --role worker`, whose HTTP face is its health endpoint only.
    const w = cli(ns, ['serve', '--role', 'worker', '--port', '0'], origin);
    const { listening, role } = (await w.line()) as { listening: string; role: string };
    expect(role).toBe('worker');
    expect(await (await fetch(`${listening}/healthz`)).json()).toMatchObject({ status: 'ok', role: 'worker', workload: { files: 0 } });
    expect(await fetch(`${listening}/v1/files`).then((r) => r.status)).toBe(404);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mi-roles-batch-'));
    ns.dirs.push(dir);
    const input = path.join(dir, 'urls.txt');
    const lines = [5, 1, 3, 4, 2].map((n) => `http://${HOST}/batch/${n}.wav`);
    writeFileSync(input, `${lines.join('\n')}\n`);
    const batch = cli(ns, ['batch', input, '--role', 'api', '--concurrency', '5'], trap);
    const results: Record<string, unknown>[] = [];
    for (let i = 0; i < lines.length; i++) results.push(await batch.line((l) => 'line' in l));
    expect(await batch.exit).toBe(1); // one line failed
    expect(results.map((r) => r.url)).toEqual(lines);
    expect(results.map((r) => r.line)).toEqual([1, 2, 3, 4, 5]);
    expect(results.map((r) => (r.code as string | undefined) ?? (r.file as { status: string }).status)).toEqual([
      'completed', 'completed', 'source_not_found', 'completed', 'completed',
    ]);
    for (const n of [5, 1, 3, 4, 2]) expect(origin.count('GET', `/batch/${n}.wav`)).toBe(1);
    expect(trap.requests).toHaveLength(0);
    w.process.kill('SIGTERM');
    expect(await w.exit).toBe(0);
  }, 240_000);
});
