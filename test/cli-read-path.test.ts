// The read commands (`get`, `list`, `thumbnails`, `segments`) start without the engine: they read through the
// Registry port alone, so they load neither the server, the decoders, sharp, the plugins, the DI container nor the
// cluster adapters (unless cluster mode is configured: then only its registry), never create a data dir, and print
// exactly what the engine prints. Which modules a CLI process loads is recorded by test/support/module-trace.mjs;
// how fast it starts is `npm run bench`'s business, not this test's.
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteRegistry } from '../src/adapters/local/sqlite-registry.js';
import { PgRegistry } from '../src/adapters/cluster/pg-registry.js';
import { createIngest } from '../src/index.js';
import type { Registry } from '../src/ports/registry.js';
import { fileRow } from './cluster/contracts/file-row.js';
import { clusterEnv, clusterServices } from './support/cluster-services.js';
import { tempDataDir } from './support/engine.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const TRACE = path.join(ROOT, 'test', 'support', 'module-trace.mjs');

/** Loaded by no read command (local or cluster): the rest of the engine and everything behind it. */
const NEVER_FOR_READS = [
  /node_modules\/(sharp|fastify|@fastify|inversify|reflect-metadata|pino|jiti|undici|@ffmpeg-installer|@ffprobe-installer|cli-progress|p-queue|prom-client|bullmq|ioredis|redis-semaphore|@aws-sdk)\//,
  /dist\/src\/(index\.js|media\/|server\/|stages\/|net\/|ytdlp\/|metrics\/)/,
  /dist\/src\/engine\/(container|ingest|run-worker|recovery|transfer|file-run)\.js/,
  /dist\/src\/cli\/(batch\/|commands\/(serve|batch|doctor)\.js)/,
  /dist\/src\/adapters\/cluster\/(cluster\.module|bullmq-|redis-|s3-)/,
  /dist\/plugins\//,
  /dist\/pipeline\.config\.js/,
];
/** Loaded by no local read command, in addition. */
const NEVER_FOR_LOCAL_READS = [/node_modules\/(pg|kysely)\//, /dist\/src\/adapters\/cluster\//];

interface CliRun {
  code: number;
  json: unknown;
  modules: string[];
}

/** Runs the built CLI with the module trace; environment: only what is given (no MEDIA_INGEST_* of the caller). */
async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const traceFile = path.join(os.tmpdir(), `mi-trace-${randomUUID()}.txt`);
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MEDIA_INGEST_') && key !== 'LOG_LEVEL'));
  let code = 0;
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, ['--import', TRACE, CLI, ...args], { cwd: ROOT, env: { ...base, ...env, MODULE_TRACE_FILE: traceFile }, timeout: 60_000 }));
  } catch (error) {
    const failure = error as { code: number; stdout: string };
    code = failure.code;
    stdout = failure.stdout;
  }
  const modules = existsSync(traceFile) ? readFileSync(traceFile, 'utf8').split('\n').filter(Boolean) : [];
  rmSync(traceFile, { force: true });
  return { code, json: JSON.parse(stdout), modules };
}

const loaded = (modules: string[], patterns: RegExp[]): string[] => modules.filter((m) => patterns.some((p) => p.test(m)));

/** Files of every shape a view has: a completed video with thumbnails and segments, a failed file, a pending one. */
async function seed(registry: Registry): Promise<{ videoId: string; ids: string[] }> {
  const now = Date.now();
  const video = fileRow({
    status: 'completed', media_type: 'video', bytes: 1234, content_sha256: 'ab'.repeat(32), metadata: { k: 1 }, owner: null, created_at: now - 3000,
    media_info: { duration_seconds: 42, width: 640, height: 360, sample_rate: 48000, channels: 2, bitrate: 800000, format: 'mov,mp4', has_audio: true },
  });
  const failed = fileRow({ status: 'failed', error_code: 'upstream_error', error_message: 'HTTP 503', owner: null, created_at: now - 2000 });
  const pending = fileRow({ status: 'processing', progress_received: 10, progress_total: 100, attempt: 2, retries: 1, retry_error_code: 'timeout', created_at: now - 1000 });
  const inserted = await registry.insertFileOnce(video);
  if (!inserted.created) throw new Error('the seed video exists');
  const thumb = (id: string, type: 'file' | 'segment', time: number, segment: string | null, isDefault: boolean) => ({
    id, file_id: video.id, type, time, segment_id: segment, path: `thumbnails/${video.id}/${id}.jpg`, width: 640, height: 360, is_default: isDefault, created_at: now,
  });
  await registry.replaceRenditions(video.id, inserted.token, [thumb('thumb_d', 'file', 4.2, null, true), thumb('thumb_s0', 'segment', 10, 'seg_0', false), thumb('thumb_s1', 'segment', 31, 'seg_1', false)], [
    { id: 'seg_0', file_id: video.id, idx: 0, start_time: 0, end_time: 20, thumbnail_id: 'thumb_s0' },
    { id: 'seg_1', file_id: video.id, idx: 1, start_time: 20, end_time: 42, thumbnail_id: 'thumb_s1' },
  ]);
  await registry.release(video.id, inserted.token, {});
  await registry.insertFileOnce(failed);
  await registry.insertFileOnce(pending);
  return { videoId: video.id, ids: [video.id, failed.id, pending.id] };
}

/** The read commands of the CLI, run one by one. */
const READS = (videoId: string): string[][] => [['list'], ['list', '--status', 'completed', '--limit', '1'], ['get', videoId], ['thumbnails', videoId], ['segments', videoId], ['get', 'file_unknown']];

describe('CLI read commands on the embedded registry', () => {
  let dataDir: string;
  let seeded: { videoId: string; ids: string[] };

  beforeAll(async () => {
    dataDir = tempDataDir('mi-reads-');
    const registry = new SqliteRegistry(path.join(dataDir, 'registry.sqlite'));
    await registry.open();
    seeded = await seed(registry);
    await registry.close();
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('on a missing data dir: an empty list and not_found, nothing created, not even SQLite loaded', async () => {
    const missing = path.join(tempDataDir('mi-reads-parent-'), 'never-created');
    try {
      const list = await cli(['--data-dir', missing, 'list']);
      expect(list).toMatchObject({ code: 0, json: { object: 'list', data: [], total: 0, limit: 50, offset: 0 } });
      for (const args of [['get', 'file_x'], ['thumbnails', 'file_x'], ['segments', 'file_x']]) {
        const result = await cli(['--data-dir', missing, ...args]);
        expect(result).toMatchObject({ code: 1, json: { code: 'not_found', error: 'No file with id file_x' } });
        expect(loaded(result.modules, [...NEVER_FOR_READS, ...NEVER_FOR_LOCAL_READS, /node_modules\/better-sqlite3\//])).toEqual([]);
      }
      const usage = await cli(['--data-dir', missing, 'list', '--limit', '0']);
      expect(usage).toMatchObject({ code: 2, json: { code: 'invalid_request' } });
      expect(loaded(list.modules, [...NEVER_FOR_READS, ...NEVER_FOR_LOCAL_READS, /node_modules\/better-sqlite3\//])).toEqual([]);
      expect(existsSync(missing)).toBe(false);
      // A data dir that is a file is a storage error, as when the engine opens it.
      const notADir = path.join(path.dirname(missing), 'a-file');
      writeFileSync(notADir, 'x');
      expect(await cli(['--data-dir', notADir, 'list'])).toMatchObject({ code: 1, json: { code: 'storage_error' } });
    } finally {
      rmSync(path.dirname(missing), { recursive: true, force: true });
    }
  }, 120_000);

  it('on a data dir: reads the registry read-only (SQLite only), leaves it unchanged and prints what the engine prints', async () => {
    const digest = (): string => createHash('sha256').update(readFileSync(path.join(dataDir, 'registry.sqlite'))).digest('hex');
    const before = digest();
    const outputs: unknown[] = [];
    for (const args of READS(seeded.videoId)) {
      const result = await cli(['--data-dir', dataDir, ...args]);
      expect(result.code, args.join(' ')).toBe(args[1] === 'file_unknown' ? 1 : 0);
      expect(result.modules.some((m) => /node_modules\/better-sqlite3\//.test(m)), 'the registry is really read').toBe(true);
      expect(loaded(result.modules, [...NEVER_FOR_READS, ...NEVER_FOR_LOCAL_READS]), args.join(' ')).toEqual([]);
      outputs.push(result.json);
    }
    expect(digest()).toBe(before);
    // Nothing but SQLite's own companions of the file (WAL index) appears in the data dir.
    expect(readdirSync(dataDir).filter((name) => !name.startsWith('registry.sqlite'))).toEqual([]);
    expect(outputs[0]).toMatchObject({ object: 'list', total: 3 });
    expect(outputs[2]).toMatchObject({ id: seeded.videoId, thumbnail_url: `/v1/files/${seeded.videoId}/thumbnails/thumb_d.jpg` });

    // The engine over the same registry (no recovery, so it changes nothing) prints the same documents.
    const ingest = await createIngest({ configFile: path.join(ROOT, 'dist', 'pipeline.config.js'), dataDir, recover: false, checkDecoder: false, logger: pino({ level: 'silent' }) });
    try {
      const unknown = await ingest.get('file_unknown').then(() => undefined, (error: { toJSON(): unknown }) => error.toJSON());
      expect(outputs).toEqual([
        await ingest.list({ limit: '50', offset: '0' }),
        await ingest.list({ status: 'completed', limit: '1', offset: '0' }),
        await ingest.get(seeded.videoId),
        await ingest.thumbnails(seeded.videoId, { limit: 100 }),
        await ingest.segments(seeded.videoId, { limit: 100 }),
        unknown,
      ]);
    } finally {
      await ingest.close();
    }
  }, 180_000);

  it('take the default config from the record the build made of the packaged config', async () => {
    const compiled = path.join(ROOT, 'dist', 'pipeline.config.js');
    const packaged = (await import(compiled)) as { default: unknown };
    const { precompiledConfig } = (await import(path.join(ROOT, 'dist', 'src', 'config', 'load-config.js'))) as typeof import('../src/config/load-config.js');
    expect(JSON.parse(readFileSync(path.join(ROOT, 'dist', 'pipeline.config.json'), 'utf8'))).toEqual(packaged.default);
    expect(precompiledConfig(compiled)).toEqual(packaged.default);
    // Any other config file is loaded, never read from a record.
    expect(precompiledConfig(path.join(ROOT, 'test', 'support', 'empty.config.ts'))).toBeUndefined();
  });

  it('while a command that runs files loads the engine (the trace sees what the read path leaves out)', async () => {
    const result = await cli(['--data-dir', dataDir, 'plugins']);
    expect(result.code).toBe(0);
    expect(loaded(result.modules, [/node_modules\/inversify\//, /node_modules\/pino\//, /dist\/src\/engine\/container\.js/, /dist\/plugins\//]).length).toBeGreaterThanOrEqual(4);
  }, 60_000);
});

const cluster = await clusterServices('CLI read commands in cluster mode');

describe.skipIf(!cluster)('CLI read commands in cluster mode', () => {
  const schema = `mi_reads_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  let seeded: { videoId: string; ids: string[] };
  let admin: pg.Client;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: cluster!.postgresUrl });
    await admin.connect();
    const registry = new PgRegistry({ connectionString: cluster!.postgresUrl, schema, poolSize: 2 });
    await registry.open();
    try {
      seeded = await seed(registry);
    } finally {
      await registry.close();
    }
  });

  afterAll(async () => {
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  it('read the Postgres registry, loading its adapter but not the queue, event bus or blob store', async () => {
    const env = { ...(clusterEnv() as Record<string, string>), MEDIA_INGEST_POSTGRES_SCHEMA: schema };
    const dataDir = path.join(tempDataDir('mi-reads-cluster-'), 'unused');
    try {
      for (const args of READS(seeded.videoId)) {
        const result = await cli(['--data-dir', dataDir, ...args], env);
        expect(result.code, args.join(' ')).toBe(args[1] === 'file_unknown' ? 1 : 0);
        expect(result.modules.some((m) => /dist\/src\/adapters\/cluster\/pg-registry\.js/.test(m))).toBe(true);
        expect(loaded(result.modules, [...NEVER_FOR_READS, /node_modules\/better-sqlite3\//]), args.join(' ')).toEqual([]);
        if (args[0] === 'list' && args.length === 1) expect(result.json).toMatchObject({ object: 'list', total: 3 });
        if (args[0] === 'get' && args[1] === seeded.videoId) {
          expect(result.json).toMatchObject({ id: seeded.videoId, status: 'completed', metadata: { k: 1 }, thumbnail_url: `/v1/files/${seeded.videoId}/thumbnails/thumb_d.jpg` });
        }
        if (args[0] === 'segments') expect(result.json).toMatchObject({ total: 2, data: [{ id: 'seg_0', index: 0 }, { id: 'seg_1', index: 1 }] });
        if (args[1] === 'file_unknown') expect(result.json).toMatchObject({ code: 'not_found' });
      }
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      rmSync(path.dirname(dataDir), { recursive: true, force: true });
    }
  }, 180_000);
});
