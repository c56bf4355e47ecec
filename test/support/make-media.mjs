#!/usr/bin/env node
// Generates the media fixtures the stage tests probe and thumbnail, into fixtures/media/generated/, with the ffmpeg
// the engine would use (decoder-paths.mjs: the system's maintained one, else the npm fallback; nothing is downloaded). Run by `npm test` (pretest) and by ensureMedia().
// Idempotent and fast: a file that exists is skipped. Safe to run concurrently: every file is written under a
// process-unique temp name and renamed into place, so a reader never sees a half-written fixture.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const OUT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'media', 'generated');
const { testFfmpegPath: ffmpegPath } = await import('./decoder-paths.mjs');

const video = (size, rate, seconds) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`];
const sine = (hz, rate, seconds) => ['-f', 'lavfi', '-i', `sine=frequency=${hz}:sample_rate=${rate}:duration=${seconds}`];
const h264 = (gop) => ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', String(gop),
  '-keyint_min', String(gop), '-sc_threshold', '0'];
const aacStereo = ['-c:a', 'aac', '-b:a', '96k', '-ac', '2', '-ar', '44100'];

/** name → ffmpeg arguments before the output path (or a function writing the file itself). */
const FIXTURES = {
  // 45 s, H.264 + AAC stereo 44.1 kHz, 320x240, a keyframe every 2 s, moov first.
  'sample.mp4': [...video('320x240', 25, 45), ...sine(440, 44100, 45), ...h264(50), ...aacStereo,
    '-movflags', '+faststart'],
  'sample.webm': [...video('160x120', 15, 10), ...sine(440, 48000, 10), '-c:v', 'libvpx-vp9', '-deadline', 'realtime',
    '-cpu-used', '8', '-b:v', '150k', '-g', '30', '-c:a', 'libopus', '-b:a', '48k'],
  'sample.mov': [...video('320x240', 25, 5), ...sine(660, 44100, 5), ...h264(50), ...aacStereo],
  'sample.mp3': [...sine(440, 44100, 10), '-c:a', 'libmp3lame', '-b:a', '64k', '-ac', '2'],
  'sample.wav': [...sine(440, 48000, 5), '-c:a', 'pcm_s16le', '-ac', '1', '-ar', '48000'],
  'sample.m4a': [...sine(440, 44100, 5), ...aacStereo],
  'video-only.mp4': [...video('320x240', 25, 5), ...h264(50), '-an', '-movflags', '+faststart'],
  // Extras: an MP3 with cover art (an attached picture, which must not make it a video) and a clip tagged as
  // rotated by 90° (a portrait phone video: coded 320x240, displayed 240x320).
  'cover-art.mp3': [...sine(440, 44100, 5), '-f', 'lavfi', '-i', 'color=c=red:size=64x64:duration=1',
    '-map', '0:a', '-map', '1:v', '-frames:v', '1', '-c:a', 'libmp3lame', '-b:a', '64k', '-c:v', 'png',
    '-disposition:v', 'attached_pic', '-id3v2_version', '3'],
  // This ffmpeg drops a rotate tag while encoding, so it is set on a stream copy.
  'rotated.mp4': async (target) => {
    const plain = join(tmpdir(), `media-ingest-plain-${process.pid}.mp4`);
    try {
      await ffmpeg([...video('320x240', 25, 2), ...h264(50), '-an', plain]);
      await ffmpeg(['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', '-f', 'mp4', target]);
    } finally {
      rmSync(plain, { force: true });
    }
  },
  // The first 30% of a 5 s mp4 whose moov atom is at the end: the index is missing, so it cannot be read.
  'truncated.mp4': async (target) => {
    const whole = join(tmpdir(), `media-ingest-whole-${process.pid}.mp4`);
    try {
      await ffmpeg([...video('320x240', 25, 5), ...sine(440, 44100, 5), ...h264(50), ...aacStereo, whole]);
      const bytes = readFileSync(whole);
      writeFileSync(target, bytes.subarray(0, Math.floor(bytes.length * 0.3)));
    } finally {
      rmSync(whole, { force: true });
    }
  },
  // 64 KiB of deterministic pseudo-random bytes (xorshift32): no container signature, no sync words to latch onto.
  'garbage.mp4': async (target) => {
    const bytes = Buffer.alloc(64 * 1024);
    let x = 0x9e3779b9;
    for (let i = 0; i < bytes.length; i++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      bytes[i] = x & 0xff;
    }
    writeFileSync(target, bytes);
  },
};

function ffmpeg(args) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(ffmpegPath, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`ffmpeg ${args.join(' ')} failed (${signal ?? code}): ${stderr.trim()}`));
    });
  });
}

async function make(name) {
  const target = join(OUT_DIR, name);
  // Hidden, process-unique temp name that keeps the extension (ffmpeg picks the muxer from it).
  const temp = join(OUT_DIR, `.${process.pid}-${name}`);
  const recipe = FIXTURES[name];
  try {
    if (typeof recipe === 'function') await recipe(temp);
    else await ffmpeg([...recipe, temp]);
    renameSync(temp, target);
  } finally {
    rmSync(temp, { force: true });
  }
}

const started = Date.now();
mkdirSync(OUT_DIR, { recursive: true });
const missing = Object.keys(FIXTURES).filter((name) => !existsSync(join(OUT_DIR, name)));
// Two workers: the machine has 2 cores; the longest job (sample.mp4) starts first.
const queue = [...missing];
const worker = async () => {
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) await make(name);
};
try {
  await Promise.all([worker(), worker()]);
} catch (error) {
  process.stderr.write(`make-media: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
process.stderr.write(missing.length === 0
  ? `make-media: all ${Object.keys(FIXTURES).length} fixtures present in ${OUT_DIR}\n`
  : `make-media: generated ${missing.length} fixture(s) in ${((Date.now() - started) / 1000).toFixed(1)} s into ${OUT_DIR}\n`);
