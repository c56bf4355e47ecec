// The per-process limits of ffmpeg/ffprobe, hit for real: CPU time, output size and memory each end the process and
// become media_limits_exceeded; the filter box bounds any sample/display aspect ratio.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestError } from '../../src/errors.js';
import { classifyDecoderExit, findPrlimit, runDecoder, scrubPaths } from '../../src/media/run-decoder.js';
import type { ProcessLimits } from '../../src/media/run-decoder.js';
import { boxScaleFilter, boxedSize } from '../../src/media/scale-filter.js';
import { testFfmpegPath, testFfprobePath } from '../support/decoder-paths.mjs';
import { requireOptional } from '../support/optional.js';

const MiB = 1024 * 1024;
const LIMITS: ProcessLimits = { memoryBytes: 1024 * MiB, cpuSeconds: 60, outputBytes: 64 * MiB };
const corrupt = (stderr: string) => new IngestError('media_corrupt', stderr.slice(-100));
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mi-run-decoder-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lavfi = (size: string, seconds: number) => ['-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=25:duration=${seconds}`];

describe.skipIf(!requireOptional('decoder process limits', findPrlimit() ? null : 'prlimit (util-linux) is not on PATH', 'apt-get install util-linux'))('process limits', () => {
  it('a process past its CPU-time limit fails with media_limits_exceeded', async () => {
    const args = [...lavfi('1280x720', 600), '-c:v', 'mpeg4', '-f', 'null', '-'];
    await expect(runDecoder(testFfmpegPath, args, { tool: 'ffmpeg', limits: { ...LIMITS, cpuSeconds: 1 }, timeoutMs: 60_000, classify: corrupt }))
      .rejects.toMatchObject({ code: 'media_limits_exceeded', message: expect.stringMatching(/CPU time/) });
  });

  it('a process writing past its output-size limit fails with media_limits_exceeded', async () => {
    const args = [...lavfi('320x240', 60), '-c:v', 'rawvideo', '-f', 'nut', '-y', path.join(dir, 'big.nut')];
    await expect(runDecoder(testFfmpegPath, args, { tool: 'ffmpeg', limits: { ...LIMITS, outputBytes: MiB }, timeoutMs: 60_000, classify: corrupt }))
      .rejects.toMatchObject({ code: 'media_limits_exceeded', message: expect.stringMatching(/output/) });
  });

  it('a process past its memory limit fails with media_limits_exceeded', async () => {
    // An 8192x8192 RGBA frame is 256 MiB: far past a 160 MiB address space.
    const args = [...lavfi('8192x8192', 1), '-frames:v', '1', '-pix_fmt', 'rgba', '-f', 'null', '-'];
    await expect(runDecoder(testFfmpegPath, args, { tool: 'ffmpeg', limits: { ...LIMITS, memoryBytes: 160 * MiB }, timeoutMs: 60_000, classify: corrupt }))
      .rejects.toMatchObject({ code: 'media_limits_exceeded', message: expect.stringMatching(/memory/) });
  });

  it('ordinary work passes under the default limits', async () => {
    const { stdout } = await runDecoder(testFfprobePath, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:duration=1', '-show_entries', 'stream=width', '-of', 'csv=p=0'],
      { tool: 'ffprobe', limits: LIMITS, timeoutMs: 60_000, maxStdoutBytes: 1024, classify: corrupt });
    expect(stdout.trim()).toBe('64');
  });
});

describe('classifyDecoderExit', () => {
  it('maps signals and memory errors to media codes, never internal', () => {
    expect(classifyDecoderExit('ffmpeg', null, 'SIGXFSZ', '', LIMITS, corrupt).code).toBe('media_limits_exceeded');
    expect(classifyDecoderExit('ffmpeg', null, 'SIGXCPU', '', LIMITS, corrupt).code).toBe('media_limits_exceeded');
    expect(classifyDecoderExit('ffmpeg', null, 'SIGKILL', '', LIMITS, corrupt).code).toBe('media_limits_exceeded');
    expect(classifyDecoderExit('ffmpeg', 1, null, 'x: Cannot allocate memory', LIMITS, corrupt).code).toBe('media_limits_exceeded');
    expect(classifyDecoderExit('ffprobe', 1, null, 'Number of streams exceeds max_streams parameter (17)', LIMITS, corrupt).code).toBe('media_limits_exceeded');
    expect(classifyDecoderExit('ffmpeg', null, 'SIGSEGV', '', LIMITS, corrupt)).toMatchObject({ code: 'media_corrupt', message: expect.stringMatching(/crashed.*SIGSEGV/) });
    expect(classifyDecoderExit('ffmpeg', 1, null, 'Invalid data found', LIMITS, corrupt).code).toBe('media_corrupt');
  });

  it('scrubs local paths from decoder text', () => {
    expect(scrubPaths('file:/data/tmp/abc.frames-x/0.png: No such file')).toBe('<file>: No such file');
  });
});

describe('the thumbnail box', () => {
  it.each([
    [64 * (1 / 255), 136], [64 * 255, 136], [64, 136], [1920, 1080], [1080, 1920], [100_000, 1], [1, 100_000], [2, 2],
  ])('fits a %f x %f display size into 640 x 1280 with even sides of at least 2', (w, h) => {
    const size = boxedSize(w, h, { width: 640, maxHeight: 1280 });
    expect(size.width).toBeGreaterThanOrEqual(2);
    expect(size.height).toBeGreaterThanOrEqual(2);
    expect(size.width).toBeLessThanOrEqual(640);
    expect(size.height).toBeLessThanOrEqual(1280);
    expect(size.width % 2 + size.height % 2).toBe(0);
  });

  it('puts only validated integers into the filter graph', () => {
    expect(boxScaleFilter({ width: 640, maxHeight: 1280 })).toMatch(/^scale=w=.*640.*1280.*,setsar=1$/);
    expect(() => boxScaleFilter({ width: 1.5, maxHeight: 10 })).toThrow(RangeError);
    expect(() => boxScaleFilter({ width: 640, maxHeight: 1e9 })).toThrow(RangeError);
  });
});
