import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testFfmpegPath, testFfprobePath } from '../support/decoder-paths.mjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestError } from '../../src/errors.js';
import { ffprobeArgs, parseProbeOutput, probeMedia } from '../../src/stages/probe.js';
import type { ProbeOptions } from '../../src/stages/probe.js';
import { ensureMedia, mediaPath } from '../support/media.js';

const OPTIONS: ProbeOptions = { timeoutMs: 15_000, maxDurationSeconds: 3600, maxPixelDimension: 4096, maxStreams: 16 };

async function probeError(file: string, options: Partial<ProbeOptions> = {}): Promise<IngestError> {
  const error = await probeMedia(file, { ...OPTIONS, ...options }).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(IngestError);
  return error as IngestError;
}

function run(binary: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: 15_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, stderr });
    });
  });
}

let dir: string;
beforeAll(() => {
  ensureMedia();
  dir = mkdtempSync(join(tmpdir(), 'probe-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('probeMedia on generated media', () => {
  it('reads the 45 s H.264/AAC mp4', async () => {
    const result = await probeMedia(mediaPath('sample.mp4'), OPTIONS);
    expect(result.mediaType).toBe('video');
    expect(result.durationSeconds).not.toBeNull();
    expect(Math.abs(result.durationSeconds! - 45)).toBeLessThan(0.1);
    expect(result).toMatchObject({
      width: 320, height: 240, hasAudio: true, sampleRate: 44100, channels: 2,
      format: 'mov,mp4,m4a,3gp,3g2,mj2', videoCodec: 'h264', audioCodec: 'aac',
    });
    expect(result.bitrate).toBeGreaterThan(30_000);
  });

  it('reads webm and mov', async () => {
    expect(await probeMedia(mediaPath('sample.webm'), OPTIONS)).toMatchObject({
      mediaType: 'video', format: 'matroska,webm', width: 160, height: 120, hasAudio: true,
      videoCodec: 'vp9', audioCodec: 'opus', sampleRate: 48000,
    });
    const mov = await probeMedia(mediaPath('sample.mov'), OPTIONS);
    expect(mov).toMatchObject({ mediaType: 'video', width: 320, height: 240, hasAudio: true });
    expect(mov.durationSeconds).toBeCloseTo(5, 1);
  });

  it.each([
    ['sample.mp3', 'mp3', 44100, 2, 10],
    ['sample.wav', 'wav', 48000, 1, 5],
    ['sample.m4a', 'mov,mp4,m4a,3gp,3g2,mj2', 44100, 2, 5],
    ['cover-art.mp3', 'mp3', 44100, 1, 5], // the cover art is an attached picture, not video
  ])('reads %s as audio', async (name, format, sampleRate, channels, seconds) => {
    const result = await probeMedia(mediaPath(name), OPTIONS);
    expect(result).toMatchObject({
      mediaType: 'audio', format, sampleRate, channels, width: null, height: null, hasAudio: true, videoCodec: null,
    });
    expect(Math.abs(result.durationSeconds! - seconds)).toBeLessThan(0.1);
    expect(result.bitrate).toBeGreaterThan(0);
  });

  it('reports a video without audio', async () => {
    expect(await probeMedia(mediaPath('video-only.mp4'), OPTIONS)).toMatchObject({
      mediaType: 'video', hasAudio: false, sampleRate: null, channels: null, audioCodec: null, width: 320,
    });
  });

  it('swaps width and height for a 90° rotation', async () => {
    expect(await probeMedia(mediaPath('rotated.mp4'), OPTIONS)).toMatchObject({ width: 240, height: 320 });
  });

  it('refuses truncated and garbage files as media_corrupt', async () => {
    expect((await probeError(mediaPath('truncated.mp4'))).code).toBe('media_corrupt');
    expect((await probeError(mediaPath('garbage.mp4'))).code).toBe('media_corrupt');
  });

  it('enforces the duration, pixel and stream limits', async () => {
    expect((await probeError(mediaPath('sample.mp4'), { maxDurationSeconds: 30 })).code).toBe('duration_too_long');
    expect((await probeError(mediaPath('sample.mp4'), { maxPixelDimension: 300 })).code).toBe('media_limits_exceeded');
    expect((await probeError(mediaPath('sample.mp4'), { maxStreams: 1 })).code).toBe('media_limits_exceeded');
  });

  it('kills ffprobe at the deadline (timeout) and on abort (cancelled)', async () => {
    expect((await probeError(mediaPath('sample.mp4'), { timeoutMs: 1 })).code).toBe('timeout');
    const controller = new AbortController();
    const pending = probeMedia(mediaPath('sample.mp4'), { ...OPTIONS, signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
  });
});

describe('probeMedia on hostile files', () => {
  let server: http.Server;
  let port = 0;
  let connections = 0;
  beforeAll(async () => {
    server = http.createServer((_req, res) => res.writeHead(404).end());
    server.on('connection', () => { connections++; });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function playlist(secret: string): string {
    return ['#EXTM3U', '#EXT-X-TARGETDURATION:10', '#EXTINF:10,', `file://${secret}`, '#EXTINF:10,',
      `http://127.0.0.1:${port}/x.ts`, '#EXT-X-ENDLIST', ''].join('\n');
  }

  it('refuses an HLS playlist named .mp4 without fetching anything', async () => {
    const secret = join(dir, `secret-${process.pid}.ts`);
    writeFileSync(secret, 'top secret');
    const file = join(dir, 'playlist.mp4');
    writeFileSync(file, playlist(secret));
    const before = connections;
    expect(['unsupported_media_type', 'media_corrupt']).toContain((await probeError(file)).code);
    expect(connections - before).toBe(0);
  });

  it('the ffprobe arguments alone stop a playlist (control: unhardened ffprobe does fetch)', async () => {
    // .m3u8 so that ffprobe itself detects HLS (it ignores #EXTM3U under a media extension).
    const file = join(dir, 'playlist.m3u8');
    writeFileSync(file, playlist(join(dir, 'nothing.ts')));
    let before = connections;
    const control = await run(testFfprobePath, ['-v', 'error', '-protocol_whitelist', 'file,http,tcp', `file:${file}`]);
    expect(control.code).not.toBe(0);
    expect(connections - before).toBeGreaterThan(0);

    before = connections;
    const hardened = await run(testFfprobePath, ffprobeArgs(file, 16));
    expect(hardened.code).not.toBe(0);
    expect(hardened.stderr).toMatch(/not on whitelist/);
    expect(connections - before).toBe(0);
  });

  it('refuses an ffconcat script named .mp4, also at the ffprobe level', async () => {
    const file = join(dir, 'concat.mp4');
    writeFileSync(file, `ffconcat version 1.0\nfile '${mediaPath('sample.mov')}'\n`);
    expect((await probeError(file)).code).toBe('unsupported_media_type');
    const hardened = await run(testFfprobePath, ffprobeArgs(file, 16));
    expect(hardened.code).not.toBe(0);
    expect(hardened.stderr).toMatch(/\[concat @ .*not on whitelist/);
  });

  it('refuses images: a PNG named .mp4 and a single PNG frame in a .mov', async () => {
    const png = join(dir, 'image.mp4');
    await sharp({ create: { width: 64, height: 48, channels: 3, background: '#c00' } }).png().toFile(png);
    const error = await probeError(png);
    expect(error.code).toBe('unsupported_media_type');
    expect(error.message).toMatch(/image/);

    const still = join(dir, 'still.mov');
    const made = await run(testFfmpegPath, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=blue:size=64x48',
      '-frames:v', '1', '-c:v', 'png', still]);
    expect(made.code).toBe(0);
    const stillError = await probeError(still);
    expect(stillError.code).toBe('unsupported_media_type');
    expect(stillError.message).toMatch(/an image, not audio or video/);
  });
});

describe('parseProbeOutput', () => {
  const limits = { maxDurationSeconds: 100, maxPixelDimension: 4096, maxStreams: 4 };
  const video = { codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080, duration: '10.0' };

  it('refuses a format off the allowlist even when ffprobe accepted it', () => {
    expect(() => parseProbeOutput({ format: { format_name: 'hls' }, streams: [video] }, limits))
      .toThrow(expect.objectContaining({ code: 'unsupported_media_type' }));
  });

  it('refuses huge dimensions, too many streams and no streams', () => {
    const format = { format_name: 'matroska,webm', duration: '10' };
    expect(() => parseProbeOutput({ format, streams: [{ ...video, width: 100_000, height: 100_000 }] }, limits))
      .toThrow(expect.objectContaining({ code: 'media_limits_exceeded' }));
    expect(() => parseProbeOutput({ format, streams: Array(5).fill(video) }, limits))
      .toThrow(expect.objectContaining({ code: 'media_limits_exceeded' }));
    expect(() => parseProbeOutput({ format, streams: [{ codec_type: 'data' }] }, limits))
      .toThrow(expect.objectContaining({ code: 'media_corrupt' }));
  });

  it('falls back to stream durations and reads a display matrix rotation', () => {
    const result = parseProbeOutput({
      format: { format_name: 'matroska,webm', bit_rate: '1000' },
      streams: [{ ...video, duration: undefined, tags: { DURATION: '00:01:02.500000000' },
        side_data_list: [{ rotation: -90 }] }],
    }, limits);
    expect(result).toMatchObject({ durationSeconds: 62.5, width: 1080, height: 1920, bitrate: 1000, hasAudio: false });
  });
});
