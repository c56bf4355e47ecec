import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestError } from '../../src/errors.js';
import { defaultThumbnailTime, makeThumbnails, planSegments } from '../../src/stages/thumbnails.js';
import type { ThumbnailOptions } from '../../src/stages/thumbnails.js';
import { ensureMedia, mediaPath } from '../support/media.js';

let dir: string;
let outputCount = 0;
beforeAll(() => {
  ensureMedia();
  dir = mkdtempSync(join(tmpdir(), 'thumbs-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function options(overrides: Partial<ThumbnailOptions> = {}): ThumbnailOptions {
  return {
    width: 640, format: 'jpeg', quality: 80, outputDir: join(dir, `out-${++outputCount}`), timeoutMs: 20_000,
    parallelism: 2, durationSeconds: 45, ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<IngestError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(IngestError);
  return error as IngestError;
}

/** ffmpeg processes whose parent is this test process (Linux /proc; empty elsewhere). */
function childFfmpegs(): number[] {
  if (!existsSync('/proc/self/stat')) return [];
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).flatMap((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/s.exec(stat) ?? [];
      const ppid = Number(rest?.split(' ')[1]);
      return comm === 'ffmpeg' && ppid === process.pid ? [Number(pid)] : [];
    } catch {
      return [];
    }
  });
}

describe('planSegments and defaultThumbnailTime', () => {
  it('splits 45 s into [0,20), [20,40), [40,45] with a time inside each', () => {
    expect(planSegments(45, 20)).toEqual([
      { index: 0, start: 0, end: 20, thumbnailTime: 10 },
      { index: 1, start: 20, end: 40, thumbnailTime: 30 },
      { index: 2, start: 40, end: 45, thumbnailTime: 42.5 },
    ]);
    expect(planSegments(40, 20)).toHaveLength(2);
    expect(planSegments(5, 20)).toEqual([{ index: 0, start: 0, end: 5, thumbnailTime: 2.5 }]);
    expect(planSegments(0, 20)).toEqual([]);
    expect(planSegments(Number.NaN, 20)).toEqual([]);
  });

  it('never puts a thumbnail at or past the end of its segment', () => {
    for (const duration of [0.001, 0.3, 1, 19.999, 20, 20.0004, 20.01, 61, 3599.99, 7200]) {
      const segments = planSegments(duration, 20);
      expect(segments.at(-1)!.end).toBe(duration);
      for (const s of segments) {
        expect(s.thumbnailTime).toBeGreaterThanOrEqual(s.start);
        expect(s.thumbnailTime).toBeLessThan(s.end);
      }
    }
  });

  it('takes the default thumbnail past the first frames and before the end', () => {
    expect(defaultThumbnailTime(45)).toBe(4.5);
    expect(defaultThumbnailTime(600)).toBe(5);
    expect(defaultThumbnailTime(0)).toBe(0);
    for (const duration of [0.04, 0.5, 1, 2, 5, 11, 45, 3600]) {
      const t = defaultThumbnailTime(duration);
      expect(t).toBeGreaterThan(0);
      expect(t).toBeLessThan(duration);
    }
  });
});

describe('makeThumbnails', () => {
  it('makes one JPEG per segment of the 45 s mp4 at exactly the configured width', async () => {
    const segments = planSegments(45, 20);
    const opts = options();
    const requests = segments.map((s) => ({ key: `segment-${s.index}`, timeSeconds: s.thumbnailTime }));
    const results = await makeThumbnails(mediaPath('sample.mp4'), requests, opts);
    expect(results.map((r) => r.key)).toEqual(['segment-0', 'segment-1', 'segment-2']);
    for (const [i, result] of results.entries()) {
      expect(basename(result.path)).toBe(`segment-${i}.jpg`);
      expect(result.timeSeconds).toBeGreaterThanOrEqual(segments[i]!.start);
      expect(result.timeSeconds).toBeLessThan(segments[i]!.end);
      const meta = await sharp(result.path).metadata();
      expect(meta).toMatchObject({ format: 'jpeg', width: 640, height: 480 });
      expect(result).toMatchObject({ width: 640, height: 480 });
      expect(result.bytes).toBe(readFileSync(result.path).length);
    }
    // Different times give different pictures (testsrc2 draws a moving pattern and a clock).
    expect(new Set(results.map((r) => readFileSync(r.path).toString('base64'))).size).toBe(3);
    expect(readdirSync(opts.outputDir).sort()).toEqual(['segment-0.jpg', 'segment-1.jpg', 'segment-2.jpg']);
  });

  it('writes WebP, follows rotation, and clamps a time past the end', async () => {
    const opts = options({ format: 'webp', width: 200, durationSeconds: 2 });
    const [result] = await makeThumbnails(mediaPath('rotated.mp4'), [{ key: 'default', timeSeconds: 99 }], opts);
    expect(basename(result!.path)).toBe('default.webp');
    expect(result!.timeSeconds).toBeLessThan(2);
    expect(await sharp(result!.path).metadata()).toMatchObject({ format: 'webp', width: 200, height: 266 });
  });

  it('still finds a frame past the end when the duration is unknown', async () => {
    const [result] = await makeThumbnails(mediaPath('sample.webm'), [{ key: 'late', timeSeconds: 500 }],
      options({ durationSeconds: null }));
    expect((await sharp(result!.path).metadata()).width).toBe(640);
  });

  it('makes many thumbnails across several ffmpeg processes', async () => {
    const requests = Array.from({ length: 25 }, (_, i) => ({ key: `t${i}`, timeSeconds: i * 1.75 }));
    const results = await makeThumbnails(mediaPath('sample.mp4'), requests, options({ width: 160 }));
    expect(results).toHaveLength(25);
    expect(results.every((r, i) => r.key === `t${i}` && r.width === 160 && r.height === 120)).toBe(true);
  });

  it('kills ffmpeg at the deadline and leaves no files behind', async () => {
    const opts = options();
    const requests = Array.from({ length: 20 }, (_, i) => ({ key: `t${i}`, timeSeconds: i * 2 }));
    const error = await failure(makeThumbnails(mediaPath('sample.mp4'), requests, { ...opts, timeoutMs: 30 }));
    expect(error.code).toBe('timeout');
    expect(childFfmpegs()).toEqual([]);
    expect(existsSync(opts.outputDir) ? readdirSync(opts.outputDir) : []).toEqual([]);
  });

  it('stops on abort with cancelled', async () => {
    const controller = new AbortController();
    const pending = makeThumbnails(mediaPath('sample.mp4'), [{ key: 'a', timeSeconds: 10 }],
      options({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 20);
    expect((await failure(pending)).code).toBe('cancelled');
    expect(childFfmpegs()).toEqual([]);
  });

  it('refuses unsafe keys', async () => {
    const error = await failure(makeThumbnails(mediaPath('sample.mp4'), [{ key: '../evil', timeSeconds: 1 }], options()));
    expect(error.code).toBe('internal');
  });

  it('never lets ffmpeg follow a playlist named .mp4', async () => {
    let connections = 0;
    const server = http.createServer((_req, res) => res.writeHead(404).end());
    server.on('connection', () => { connections++; });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const file = join(dir, 'playlist.mp4');
      writeFileSync(file, ['#EXTM3U', '#EXT-X-TARGETDURATION:10', '#EXTINF:10,', mediaPath('sample.mp4'),
        '#EXTINF:10,', `http://127.0.0.1:${port}/x.ts`, '#EXT-X-ENDLIST', ''].join('\n'));
      const error = await failure(makeThumbnails(file, [{ key: 'x', timeSeconds: 1 }], options()));
      expect(error.code).toBe('unsupported_media_type');
      expect(connections).toBe(0);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
