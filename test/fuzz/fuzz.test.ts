// The bounded fuzz run of `npm test` (deterministic: seed 1, 240 inputs, every one through sniff + probe, every 6th
// video through thumbnails too, at most 30), and the replay of every corpus case a fuzz run ever found
// (test/fuzz/corpus/). The long run is `npm run fuzz -- --seed N --count N`.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDecoder } from '../../src/media/decoder.js';
import { ensureMedia } from '../support/media.js';
import { FUZZ_LIMITS, runCase } from './harness.js';
import { CORPUS_DIR, fuzz } from './run.js';
import type { FuzzReport } from './run.js';

const GiB_KB = 1024 * 1024;

describe('bounded fuzz run (seed 1, 240 inputs)', () => {
  let report: FuzzReport;
  beforeAll(async () => {
    ensureMedia();
    report = await fuzz({ seed: 1, count: 240, thumbnailEvery: 6, maxThumbnailed: 30 });
    if (process.env.MEDIA_INGEST_TEST_REPORT) {
      const { findings, ...summary } = report;
      process.stderr.write(`fuzz: ${JSON.stringify({ ...summary, findings: findings.map((f) => f.name) })}\n`);
    }
  }, 240_000);

  it('ran every input, some through thumbnails', () => {
    expect(report.inputs).toBe(240);
    expect(report.thumbnailed).toBeGreaterThan(10);
    expect(report.decoderProcesses).toBeGreaterThan(200);
  });

  it('ended every input with success or a documented code other than internal', () => {
    expect(report.findings.filter((f) => f.result.violation).map((f) => `${f.name}: ${f.result.violation}`)).toEqual([]);
  });

  it('kept every ffprobe/ffmpeg under the 1 GiB memory cap', () => {
    expect(report.peakDecoderKb).toBeGreaterThan(0);
    expect(report.peakDecoderKb).toBeLessThan(GiB_KB);
  });

  it('wrote nothing outside the data dir', () => {
    expect(report.escaped).toEqual([]);
  });
});

const corpus = existsSync(CORPUS_DIR) ? readdirSync(CORPUS_DIR).filter((name) => name.endsWith('.bin')).sort() : [];

describe('fuzz corpus replay', () => {
  let dataDir: string;
  let maintained = false;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mi-fuzz-corpus-'));
    const decoder = await defaultDecoder();
    maintained = decoder.ffmpeg.meetsFloor && decoder.ffprobe.meetsFloor;
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('has a corpus folder with its notes', () => {
    expect(existsSync(path.join(CORPUS_DIR, 'README.md'))).toBe(true);
  });

  it.each(corpus.map((name) => [name]))('%s ends with success or a documented code, within the deadlines', async (name) => {
    const bytes = readFileSync(path.join(CORPUS_DIR, name));
    const notes = JSON.parse(readFileSync(path.join(CORPUS_DIR, name.replace(/\.bin$/, '.json')), 'utf8')) as { decoder_crash: string | null };
    const result = await runCase(bytes, name.replace(/\W/g, '_'), dataDir, true);
    expect(result.violation, JSON.stringify(result)).toBeUndefined();
    expect(result.ms).toBeLessThan(FUZZ_LIMITS.probeTimeoutMs + FUZZ_LIMITS.thumbnailTimeoutMs + 2 * FUZZ_LIMITS.slackMs);
    // A decoder that crashed on it when it was found (the 2018 npm build): the maintained one in use must not.
    if (notes.decoder_crash && maintained) expect(result.decoderCrash, JSON.stringify(result)).toBeUndefined();
  });
});
