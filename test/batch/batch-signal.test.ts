// `media-ingest batch` under Ctrl-C / SIGTERM: the bin runs directly so the signal reaches it; downloads are
// drip-served so they are still in flight when the signal arrives.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { tempDataDir } from '../support/engine.js';
import { parseJsonLines, runCli, spawnCli, waitUntil } from './support.js';

const HOST = 'slow.example.test';
const SAMPLE_BYTES = 80_501; // sample.mp3
let server: FixtureServer;
let workDir: string;
let dataDir: string;
/** Bytes per second of the drip-served downloads (set per test). */
let drip = 10_000;

const env = (): Record<string, string> => ({ MEDIA_INGEST_DATA_DIR: dataDir, MEDIA_INGEST_CONNECT_TO: connectToFor(server, [HOST]) });

function writeInput(name: string, count: number): string {
  const file = path.join(workDir, name);
  const lines = ['# slow downloads'];
  for (let i = 1; i <= count; i++) lines.push(`http://${HOST}/slow/${name}-${i}.mp3`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Files in `processing`, read straight from the data dir's SQLite registry (read-only, WAL readers do not block). */
function processingInRegistry(): number {
  const file = path.join(dataDir, 'registry.sqlite');
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM files WHERE status = 'processing'").get() as { n: number }).n;
  } catch {
    return 0; // the schema is not created yet
  } finally {
    db.close();
  }
}

async function filesWithStatus(status: string): Promise<number> {
  const run = await runCli(['list', '--status', status], { env: env() });
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { total: number }).total;
}

beforeAll(async () => {
  ensureMedia();
  workDir = mkdtempSync(path.join(os.tmpdir(), 'mi-batch-signal-'));
  server = await startFixtureServer();
  server.route('GET', /^\/slow\//, (_req, res) => serveFile(res, mediaPath('sample.mp3'), { dripBytesPerSecond: drip }));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

afterAll(async () => {
  await server?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('media-ingest batch under signals', () => {
  it('SIGINT after the grace period: complete JSON lines, in-flight work recorded as interrupted, nothing left processing', async () => {
    dataDir = tempDataDir('mi-batch-sigint-');
    drip = 4_000; // about 20 s per download: far longer than the 1 s grace period
    const input = writeInput('cut', 8);
    const output = path.join(workDir, 'cut.jsonl');
    const cli = spawnCli(['batch', input, '--output', output, '--concurrency', '3', '--grace-period', '1'], { env: env(), direct: true });
    await waitUntil(() => server.count('GET', /^\/slow\/cut-/) >= 3, 30_000, 'three downloads in flight');
    // Each of the three runs has written its `processing` state: the signal lands mid-download, not mid-start.
    await waitUntil(() => processingInRegistry() >= 3, 30_000, 'three files recorded as processing');
    cli.child.kill('SIGINT');
    const run = await cli.done;
    expect(run.code, run.stderr).toBe(130);
    const results = parseJsonLines(readFileSync(output, 'utf8'));
    expect(results.length).toBeGreaterThanOrEqual(1);
    expect(results.length).toBeLessThanOrEqual(3);
    expect(results.map((r) => r.line)).toEqual(results.map((_, i) => i + 2));
    for (const result of results) expect(result).toMatchObject({ error: 'interrupted', code: 'cancelled' });
    expect(run.stderr).toMatch(/interrupted in [\d.]+ s \(stopped by SIGINT\)/);
    expect(server.count('GET', /^\/slow\/cut-/)).toBeLessThanOrEqual(3);
    expect(await filesWithStatus('processing')).toBe(0);
    expect(await filesWithStatus('pending')).toBeGreaterThanOrEqual(1);

    // A re-run picks the checkpointed files up again and finishes every line.
    drip = 10_000_000;
    const again = await runCli(['batch', input], { env: env() });
    expect(again.code, again.stderr).toBe(0);
    const rerun = parseJsonLines(again.stdout);
    expect(rerun.map((r) => r.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    for (const result of rerun) expect(result.file).toMatchObject({ status: 'completed', bytes: SAMPLE_BYTES });
    expect(await filesWithStatus('pending')).toBe(0);
  });

  it('SIGTERM within the grace period: in-flight downloads finish, no new line starts, exit 143', async () => {
    dataDir = tempDataDir('mi-batch-sigterm-');
    drip = 40_000; // about 2 s per download
    const input = writeInput('finish', 6);
    const cli = spawnCli(['batch', input, '--concurrency', '2'], { env: env(), direct: true });
    await waitUntil(() => server.count('GET', /^\/slow\/finish-/) >= 1, 30_000, 'a download in flight');
    cli.child.kill('SIGTERM');
    const run = await cli.done;
    expect(run.code, run.stderr).toBe(143);
    const results = parseJsonLines(run.stdout);
    expect(results.length).toBeGreaterThanOrEqual(1);
    expect(results.length).toBeLessThanOrEqual(2);
    for (const [i, result] of results.entries()) {
      expect(result.line).toBe(i + 2);
      expect(result.file).toMatchObject({ status: 'completed', bytes: SAMPLE_BYTES });
    }
    expect(server.count('GET', /^\/slow\/finish-/)).toBe(results.length);
    expect(await filesWithStatus('processing')).toBe(0);
  });

  it('a second SIGINT cancels in-flight work at once', async () => {
    dataDir = tempDataDir('mi-batch-sigint2-');
    drip = 4_000;
    const input = writeInput('twice', 4);
    const output = path.join(workDir, 'twice.jsonl');
    const started = Date.now();
    const cli = spawnCli(['batch', input, '--output', output], { env: env(), direct: true });
    await waitUntil(() => server.count('GET', /^\/slow\/twice-/) >= 1, 30_000, 'a download in flight');
    cli.child.kill('SIGINT');
    await waitUntil(() => cli.stderr().includes('SIGINT'), 10_000, 'the first signal noticed');
    cli.child.kill('SIGINT');
    const run = await cli.done;
    expect(run.code, run.stderr).toBe(130);
    expect(Date.now() - started).toBeLessThan(15_000); // far less than one 20 s download or the 10 s grace
    const results = parseJsonLines(readFileSync(output, 'utf8'));
    expect(results.length).toBeGreaterThanOrEqual(1);
    for (const result of results) expect(result).toMatchObject({ error: 'interrupted', code: 'cancelled' });
    expect(await filesWithStatus('processing')).toBe(0);
  });
});
