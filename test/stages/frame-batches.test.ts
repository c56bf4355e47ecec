// How thumbnail frames are split over ffmpeg processes: the arithmetic, and one real run counted by a wrapper binary.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../../src/media/decoder.js';
import { DEFAULT_PROCESS_LIMITS } from '../../src/media/run-decoder.js';
import { MAX_FRAMES_PER_PROCESS, MIN_FRAMES_PER_PROCESS, frameBatches, framesPerProcess } from '../../src/stages/frame-batches.js';
import { makeThumbnails } from '../../src/stages/thumbnails.js';
import { ensureMedia, mediaPath } from '../support/media.js';

const sizes = (batches: number[][]): number[] => batches.map((b) => b.length);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('frameBatches', () => {
  const memory = DEFAULT_PROCESS_LIMITS.memoryBytes;
  const p720 = framesPerProcess({ width: 1280, height: 720 }, memory);

  it('keeps a short clip\'s frames in one process, whatever the parallelism', () => {
    for (const parallelism of [1, 2, 4, 16]) expect(sizes(frameBatches(range(3), parallelism, p720))).toEqual([3]);
    expect(sizes(frameBatches(range(MIN_FRAMES_PER_PROCESS * 2 - 1), 4, p720))).toEqual([MIN_FRAMES_PER_PROCESS * 2 - 1]);
  });

  it('splits many frames evenly over the CPU budget, in order', () => {
    const p360 = framesPerProcess({ width: 640, height: 360 }, memory);
    expect(p360).toBe(MAX_FRAMES_PER_PROCESS);
    const batches = frameBatches(range(31), 2, p360);
    expect(sizes(batches)).toEqual([16, 15]);
    expect(batches.flat()).toEqual(range(31));
    expect(sizes(frameBatches(range(8), 2, p360))).toEqual([4, 4]);
    expect(sizes(frameBatches(range(31), 1, p360))).toEqual([16, 15]);
  });

  it('keeps each process within its resident-memory budget: 720p frames go 7 to a process', () => {
    expect(p720).toBe(7);
    expect(sizes(frameBatches(range(31), 2, p720))).toEqual([7, 6, 6, 6, 6]);
    expect(framesPerProcess({ width: 1920, height: 1080 }, memory)).toBe(3);
    expect(framesPerProcess(null, memory)).toBe(3);
  });

  it('never puts more frames in one process than fit its memory limit', () => {
    const p4k = framesPerProcess({ width: 3840, height: 2160 }, memory);
    expect(p4k).toBeLessThan(MAX_FRAMES_PER_PROCESS);
    const batches = frameBatches(range(31), 2, p4k);
    expect(Math.max(...sizes(batches))).toBeLessThanOrEqual(p4k);
    expect(batches.flat()).toEqual(range(31));
    expect(framesPerProcess({ width: 16384, height: 16384 }, memory)).toBe(1);
    expect(frameBatches([], 2, 4)).toEqual([]);
  });
});

describe('makeThumbnails process count', () => {
  let dir: string;
  beforeAll(() => {
    ensureMedia();
    dir = mkdtempSync(join(tmpdir(), 'frame-batches-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a short clip\'s default + 2 segment thumbnails with one ffmpeg process', async () => {
    const log = join(dir, 'ffmpeg.log');
    const ffmpegPath = join(dir, 'ffmpeg');
    writeFileSync(ffmpegPath, `#!/bin/sh\necho run >> '${log}'\nexec '${findOnPath('ffmpeg')}' "$@"\n`);
    chmodSync(ffmpegPath, 0o755);
    const results = await makeThumbnails(mediaPath('sample.mp4'), [
      { key: 'default', timeSeconds: 4.5 }, { key: 'segment-0', timeSeconds: 10 }, { key: 'segment-1', timeSeconds: 30 },
    ], { ffmpegPath, width: 160, format: 'jpeg', quality: 80, outputDir: join(dir, 'out'), timeoutMs: 20_000, parallelism: 2, durationSeconds: 45 });
    expect(results.map((r) => [r.key, r.width])).toEqual([['default', 160], ['segment-0', 160], ['segment-1', 160]]);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});
