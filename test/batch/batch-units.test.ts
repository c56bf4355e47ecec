// The batch input parser and the ordering runner, in process (no engine: a scripted stand-in for sync/waitFor).
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_LINE_CHARS, readEntries, readLines } from '../../src/cli/batch/input.js';
import type { BatchEntry } from '../../src/cli/batch/input.js';
import { BatchRunner } from '../../src/cli/batch/runner.js';
import type { BatchRunnerOptions } from '../../src/cli/batch/runner.js';
import type { IngestFile } from '../../src/engine/file-view.js';
import { IngestError } from '../../src/errors.js';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A stream that delivers `text` in chunks of `size` bytes (to split lines and UTF-8 sequences across chunks). */
const chunked = (text: string, size: number): Readable => {
  const bytes = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
};

describe('batch input', () => {
  it('keeps physical line numbers across CRLF, blanks, comments, chunk borders and a missing final newline', async () => {
    const text = 'http://a.test/é.mp3\r\n\r\n# comment\n  \n{"url":"http://b.test/x.mp3","metadata":{"k":"ü"}}\nhttp://c.test/y.mp3';
    for (const size of [1, 3, 7, 1024]) {
      const entries = await collect(readEntries(chunked(text, size)));
      expect(entries).toEqual([
        { kind: 'url', line: 1, url: 'http://a.test/é.mp3' },
        { kind: 'url', line: 5, url: 'http://b.test/x.mp3', metadata: { k: 'ü' } },
        { kind: 'url', line: 6, url: 'http://c.test/y.mp3' },
      ]);
    }
  });

  it('answers malformed JSON lines, non-string urls, bad metadata and overlong lines with invalid entries', async () => {
    const long = `http://a.test/${'x'.repeat(MAX_LINE_CHARS + 10)}`;
    const text = ['{oops', '{"url": 5}', '[1]', '{"url":"http://a.test/a.mp3","metadata":[1]}', long, 'http://a.test/ok.mp3'].join('\n');
    const entries = await collect(readEntries(chunked(text, 64 * 1024)));
    expect(entries.map((e) => [e.line, e.kind])).toEqual([[1, 'invalid'], [2, 'invalid'], [3, 'url'], [4, 'invalid'], [5, 'invalid'], [6, 'url']]);
    // `[1]` does not start with `{`, so it is a (bad) URL for the engine to refuse with invalid_url.
    expect(entries[3]).toMatchObject({ url: 'http://a.test/a.mp3' });
    const lines = await collect(readLines(chunked(`${long}\nnext`, 4096)));
    expect(lines.map((l) => [l.line, l.tooLong, l.text.length])).toEqual([[1, true, MAX_LINE_CHARS], [2, false, 4]]);
  });
});

/** A stand-in engine: each URL `http://x.test/<ms>/<outcome>` settles after <ms> milliseconds. */
function fakeIngest(log: { maxInFlight: number; inFlight: number }): BatchRunnerOptions['ingest'] {
  const events = new EventEmitter();
  const files = new Map<string, Promise<IngestFile>>();
  const view = (id: string, status: IngestFile['status'], error?: IngestFile['error']): IngestFile =>
    ({ id, status, bytes: 10, ...(error ? { error } : {}) }) as IngestFile;
  return {
    on: (name: string, handler: (...args: unknown[]) => void) => events.on(name, handler),
    off: (name: string, handler: (...args: unknown[]) => void) => events.off(name, handler),
    async sync(url: string) {
      const [, , , ms, outcome] = url.split('/');
      if (outcome === 'refuse') throw new IngestError('source_not_found', `no ${url}`);
      if (outcome === 'done') return view(url, 'completed');
      log.inFlight += 1;
      log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
      files.set(url, new Promise((resolve) => setTimeout(() => {
        log.inFlight -= 1;
        resolve(outcome === 'fail' ? view(url, 'failed', { code: 'media_corrupt', message: 'bad' }) : view(url, 'completed'));
      }, Number(ms))));
      return view(url, 'processing');
    },
    waitFor: (id: string) => files.get(id)!,
  } as unknown as BatchRunnerOptions['ingest'];
}

describe('BatchRunner', () => {
  it('writes results in input order whatever order they finish in, with bounded concurrency and window', async () => {
    const outcomes = ['ok', 'ok', 'fail', 'refuse', 'done', 'ok'];
    const entries: BatchEntry[] = [];
    for (let i = 0; i < 60; i++) {
      const outcome = outcomes[i % outcomes.length]!;
      entries.push({ kind: 'url', line: i * 2 + 1, url: `http://x.test/${(i * 37) % 23}/${outcome}` });
      if (i % 10 === 0) entries.push({ kind: 'invalid', line: i * 2 + 2, url: null, error: 'bad' });
    }
    const written: Array<Record<string, unknown>> = [];
    const log = { maxInFlight: 0, inFlight: 0 };
    const runner = new BatchRunner({
      ingest: fakeIngest(log), entries: Readable.from(entries), concurrency: 3, segmentThumbnails: true, maxReorderWindow: 5,
      sink: { write: (value) => written.push(value as Record<string, unknown>), close: async () => undefined },
    });
    const stats = await runner.run();
    expect(written.map((r) => r.line)).toEqual(entries.map((e) => e.line));
    expect(log.maxInFlight).toBeLessThanOrEqual(3);
    expect(stats).toMatchObject({ done: 66, completed: 30, skipped: 10, failed: 10, refused: 16, interrupted: 0 });
    expect(written.find((r) => r.code === 'media_corrupt')).toMatchObject({ error: 'bad', file: { status: 'failed' } });
    expect(written.find((r) => r.code === 'source_not_found')).not.toHaveProperty('file');
  });

  it('abandon() settles work the engine never finishes as interrupted, still in order', async () => {
    let started = 0;
    let twoStarted!: () => void;
    const bothInFlight = new Promise<void>((resolve) => (twoStarted = resolve));
    const never = {
      on: () => undefined, off: () => undefined,
      sync: () => {
        if (++started === 2) twoStarted();
        return new Promise<IngestFile>(() => undefined);
      },
      waitFor: () => new Promise<IngestFile>(() => undefined),
    } as unknown as BatchRunnerOptions['ingest'];
    const written: Array<Record<string, unknown>> = [];
    const entries: BatchEntry[] = [1, 2, 3, 4, 5].map((line) => ({ kind: 'url', line, url: `http://x.test/${line}` }));
    const runner = new BatchRunner({
      ingest: never, entries: Readable.from(entries), concurrency: 2, segmentThumbnails: true,
      sink: { write: (value) => written.push(value as Record<string, unknown>), close: async () => undefined },
    });
    const done = runner.run();
    await bothInFlight;
    runner.interrupt();
    await runner.syncsSettled(50);
    runner.abandon();
    const stats = await done;
    expect(written).toEqual([1, 2].map((line) => ({ line, url: `http://x.test/${line}`, error: 'interrupted', code: 'cancelled' })));
    expect(stats).toMatchObject({ read: 2, done: 2, interrupted: 2 });
  });
});
