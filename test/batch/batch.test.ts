// `media-ingest batch`, run as a user runs it: the built bin through npx, real fixture servers on loopback.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, sendText, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { tempDataDir } from '../support/engine.js';
import { parseJsonLines, runCli } from './support.js';

const HOST = 'batch.example.test';
const u = (p: string): string => `http://${HOST}${p}`;
const json = (value: unknown): string => JSON.stringify(value);

/** What one input line must produce: nothing, a completed file, or an error code (with a failed file or not). */
type Expect =
  | { kind: 'none' }
  | { kind: 'file'; metadata?: Record<string, unknown> | null }
  | { kind: 'error'; code: string; failedFile?: boolean };
const none: Expect = { kind: 'none' };
const ok = (metadata?: Record<string, unknown> | null): Expect => (metadata === undefined ? { kind: 'file' } : { kind: 'file', metadata });
const err = (code: string, failedFile = false): Expect => ({ kind: 'error', code, failedFile });

// 50 physical lines: distinct URLs, duplicates, JSON lines, malformed lines, refusals, failures, comments, blanks.
const INPUT: Array<[string, Expect]> = [
  ['# media-ingest batch test input', none],
  ['', none],
  ...[1, 2, 3, 4, 5, 6].map((i): [string, Expect] => [u(`/audio/${i}.mp3`), ok()]),
  ...[1, 2, 3].map((i): [string, Expect] => [u(`/wav/${i}.wav`), ok()]),
  ...[1, 2, 3].map((i): [string, Expect] => [u(`/m4a/${i}.m4a`), ok()]),
  ['   ', none],
  ['# duplicates: the same files again', none],
  [u('/audio/1.mp3'), ok()],
  [u('/audio/2.mp3'), ok()],
  [u('/wav/1.wav'), ok()],
  [json({ url: u('/audio/3.mp3'), metadata: { ignored: true } }), ok(null)],
  [`   ${u('/audio/4.mp3')}   `, ok()],
  ['# JSON lines with metadata', none],
  ...[1, 2, 3, 4, 5].map((i): [string, Expect] => [json({ url: u(`/json/${i}.mp3`), metadata: { n: i, tag: 'batch' } }), ok({ n: i, tag: 'batch' })]),
  [json({ url: u('/json/6.mp3'), metadata: null }), ok(null)],
  ['{not json', err('invalid_request')],
  [json({ url: 5 }), err('invalid_request')],
  [json({ metadata: {} }), err('invalid_request')],
  ['# refused before any download', none],
  ['https://www.youtube.com/watch?v=dQw4w9WgXcQ', err('youtube_not_supported')],
  ['s3://bucket/key.mp4', err('connector_required')],
  ['ftp://example.com/a.mp4', err('unsupported_scheme')],
  ['http://127.0.0.1/a.mp3', err('blocked_address')],
  ['not a url', err('invalid_url')],
  ['# failing', none],
  [u('/missing/1.mp3'), err('source_not_found')],
  [u('/missing/2.mp3'), err('source_not_found')],
  [u('/garbage.mp4'), err('media_corrupt', true)],
  ['', none],
  ...[7, 8, 9].map((i): [string, Expect] => [u(`/audio/${i}.mp3`), ok()]),
  [u('/wav/4.wav'), ok()],
  [`http://${HOST.toUpperCase()}/audio/1.mp3`, ok()],
  [u('/m4a/1.m4a'), ok()],
  [u('/garbage.mp4'), err('media_corrupt', true)],
  ['# end', none],
];
const SUCCESS_PATHS = /^\/(audio|wav|m4a|json)\//;

let server: FixtureServer;
let dataDir: string;
let workDir: string;
let inputFile: string;
const env = (): Record<string, string> => ({ MEDIA_INGEST_DATA_DIR: dataDir, MEDIA_INGEST_CONNECT_TO: connectToFor(server, [HOST]) });

beforeAll(async () => {
  ensureMedia();
  dataDir = tempDataDir('mi-batch-');
  workDir = mkdtempSync(path.join(os.tmpdir(), 'mi-batch-work-'));
  inputFile = path.join(workDir, 'urls.txt');
  writeFileSync(inputFile, `${INPUT.map(([text]) => text).join('\n')}\n`);
  server = await startFixtureServer();
  server.route('GET', /^\/(audio|json)\/\d+\.mp3$/, (_req, res) => serveFile(res, mediaPath('sample.mp3')));
  server.route('GET', /^\/wav\/\d+\.wav$/, (_req, res) => serveFile(res, mediaPath('sample.wav')));
  server.route('GET', /^\/m4a\/\d+\.m4a$/, (_req, res) => serveFile(res, mediaPath('sample.m4a')));
  server.route('GET', /^\/missing\//, (_req, res) => sendText(res, 404, 'gone\n'));
  server.route('GET', '/garbage.mp4', (_req, res) => serveFile(res, mediaPath('garbage.mp4')));
});

afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
});

/** Checks one output per URL line, in input order, with the expected shape and code. */
function checkResults(results: Array<Record<string, unknown>>, rerun: boolean): void {
  const expected = INPUT.map(([text, expect], i) => ({ line: i + 1, text, expect })).filter((e) => e.expect.kind !== 'none');
  expect(INPUT).toHaveLength(50);
  expect(results.map((r) => r.line)).toEqual(expected.map((e) => e.line));
  for (const [i, { line, text, expect: want }] of expected.entries()) {
    const result = results[i]!;
    const context = `line ${line}: ${text}`;
    if (want.kind === 'file') {
      expect(result, context).not.toHaveProperty('error');
      expect(result.file, context).toMatchObject({ status: 'completed', media_type: 'audio' });
      if (want.metadata !== undefined) expect((result.file as { metadata: unknown }).metadata, context).toEqual(want.metadata);
      if (!text.startsWith('{')) expect(result.url, context).toBe(text.trim());
    } else if (want.kind === 'error') {
      expect(result.code, context).toBe(want.code);
      expect(typeof result.error, context).toBe('string');
      if (want.failedFile) expect(result.file, context).toMatchObject({ status: 'failed', error: { code: want.code } });
      else expect(result, context).not.toHaveProperty('file');
    }
  }
  const files = results.filter((r) => r.file && !r.error).length;
  expect(files).toBe(expected.filter((e) => e.expect.kind === 'file').length);
  if (rerun) expect(files).toBeGreaterThan(0);
}

describe('media-ingest batch', () => {
  it('writes one ordered result line per URL line, with the right codes, and exits 1', async () => {
    const run = await runCli(['batch', inputFile], { env: env() });
    expect(run.code, run.stderr).toBe(1);
    const results = parseJsonLines(run.stdout);
    checkResults(results, false);
    const urlLines = results.length;
    const successes = INPUT.filter(([, e]) => e.kind === 'file').length;
    const summary = /batch: (\d+) lines, (\d+) completed, (\d+) skipped \(already completed\), (\d+) failed\/refused in [\d.]+ s/.exec(run.stderr);
    expect(summary, run.stderr).not.toBeNull();
    expect(Number(summary![1])).toBe(urlLines);
    expect(Number(summary![2]) + Number(summary![3])).toBe(successes);
    expect(Number(summary![4])).toBe(urlLines - successes);
    // Duplicates share one file and one upstream download.
    expect(server.count('GET', '/audio/1.mp3')).toBe(1);
    const ids = results.filter((r) => r.url === u('/audio/1.mp3')).map((r) => (r.file as { id: string }).id);
    expect(new Set(ids).size).toBe(1);
  });

  it('a re-run skips every completed URL without a new upstream GET, and --output writes complete lines', async () => {
    server.clearRequests();
    const outputFile = path.join(workDir, 'results.jsonl');
    const run = await runCli(['batch', inputFile, '--output', outputFile, '--concurrency', '8'], { env: env() });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toBe('');
    const results = parseJsonLines(readFileSync(outputFile, 'utf8'));
    checkResults(results, true);
    const successes = INPUT.filter(([, e]) => e.kind === 'file').length;
    expect(run.stderr).toContain(`0 completed, ${successes} skipped (already completed)`);
    expect(server.count('*', SUCCESS_PATHS)).toBe(0);
  });

  it('reads stdin with -', async () => {
    const stdinData = mkdtempSync(path.join(os.tmpdir(), 'mi-batch-stdin-'));
    try {
      const run = await runCli(['batch', '-'], {
        env: { ...env(), MEDIA_INGEST_DATA_DIR: stdinData },
        stdin: `${u('/audio/21.mp3')}\n# a comment\n\n${json({ url: u('/wav/21.wav'), metadata: { via: 'stdin' } })}\r\n${u('/m4a/21.m4a')}`,
      });
      expect(run.code, run.stderr).toBe(0);
      const results = parseJsonLines(run.stdout);
      expect(results.map((r) => r.line)).toEqual([1, 4, 5]);
      expect(results.map((r) => (r.file as { status: string }).status)).toEqual(['completed', 'completed', 'completed']);
      expect((results[1]!.file as { metadata: unknown }).metadata).toEqual({ via: 'stdin' });
      expect(run.stderr).toMatch(/batch: 3 lines, 3 completed, 0 skipped \(already completed\), 0 failed\/refused in/);
    } finally {
      rmSync(stdinData, { recursive: true, force: true });
    }
  });

  it.each([
    [['batch', '/nonexistent/urls.txt']],
    [['batch', '-', '--concurrency', '0']],
    [['batch', '-', '--concurrency', 'many']],
  ])('answers a usage error (%j) with one JSON line and exit 2', async (args) => {
    const run = await runCli(args, { env: env() });
    expect(run.code).toBe(2);
    const lines = parseJsonLines(run.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ code: 'invalid_request' });
    expect(typeof lines[0]!.error).toBe('string');
  });
});
