// Builders of hostile media: each makes a small file (a few KB) with the maintained ffmpeg, then rewrites the header
// fields that carry the attack. Used by decode-bombs.test.ts; every file is built fresh into the given directory.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { testFfmpegPath } from '../support/decoder-paths.mjs';

function ffmpeg(args: string[]): void {
  execFileSync(testFfmpegPath, ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-threads', '1', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const tiny = (size: string, rate: number, frames: number) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}`, '-frames:v', String(frames)];

/** A 64x136 MPEG-4 clip declaring a sample aspect ratio of `sar` (e.g. `1/255`): the pixel-aspect bomb. */
export function pixelAspect(dir: string, name: string, sar: string): string {
  const file = path.join(dir, name);
  ffmpeg([...tiny('64x136', 10, 10), '-vf', `setsar=${sar}`, '-c:v', 'mpeg4', '-q:v', '31', '-f', 'avi', file]);
  return file;
}

/**
 * A PNG-in-AVI clip whose AVI headers and every PNG IHDR declare `side` x `side` (CRC fixed): the dimension bomb.
 * 16000x16000 makes a decoder allocate about 1 GB a frame out of a ~11 KB file.
 */
export function dimensionBomb(dir: string, name: string, side: number): string {
  const file = path.join(dir, name);
  ffmpeg([...tiny('64x64', 5, 3), '-c:v', 'png', '-f', 'avi', file]);
  const bytes = Buffer.from(readFileSync(file));
  const avih = bytes.indexOf('avih');
  bytes.writeUInt32LE(side, avih + 8 + 32);
  bytes.writeUInt32LE(side, avih + 8 + 36);
  const strf = bytes.indexOf('strf');
  bytes.writeInt32LE(side, strf + 8 + 4);
  bytes.writeInt32LE(side, strf + 8 + 8);
  for (let at = bytes.indexOf('IHDR'); at >= 0; at = bytes.indexOf('IHDR', at + 4)) {
    bytes.writeUInt32BE(side, at + 4);
    bytes.writeUInt32BE(side, at + 8);
    bytes.writeUInt32BE(zlib.crc32(bytes.subarray(at, at + 17)), at + 17);
  }
  writeFileSync(file, bytes);
  return file;
}

/** An H.264 MP4 at 1,000,000 frames per second (timescale 1 MHz, one tick a frame): the frame-rate bomb. */
export function frameRateBomb(dir: string, name: string): string {
  const file = path.join(dir, name);
  ffmpeg([...tiny('64x64', 1_000_000, 30), '-c:v', 'libx264', '-preset', 'ultrafast', '-video_track_timescale', '1000000', file]);
  return file;
}

/** A 10-frame MP4 whose sample tables (stsz, stts) are rewritten to declare `frames` samples: the frame-count bomb. */
export function frameCountBomb(dir: string, name: string, frames: number): string {
  const file = path.join(dir, name);
  ffmpeg([...tiny('64x64', 10, 10), '-c:v', 'mpeg4', '-movflags', '+faststart', file]);
  const bytes = Buffer.from(readFileSync(file));
  const stsz = bytes.indexOf('stsz');
  bytes.writeUInt32BE(16, stsz + 8); // a constant sample size: no table needed
  bytes.writeUInt32BE(frames, stsz + 12);
  const stts = bytes.indexOf('stts');
  bytes.writeUInt32BE(1, stts + 8); // one run …
  bytes.writeUInt32BE(frames, stts + 12); // … of `frames` samples
  writeFileSync(file, bytes);
  return file;
}

/** A Matroska file with `count` audio streams (one second of sine in each). */
export function manyStreams(dir: string, name: string, count: number): string {
  const file = path.join(dir, name);
  const maps = Array.from({ length: count }, () => ['-map', '0:a']).flat();
  ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=1:sample_rate=8000', ...maps, '-c:a', 'pcm_s16le', '-f', 'matroska', file]);
  return file;
}
