// npm run bench: speed and memory of media-ingest against baselines run in the same script on the same files.
//  1. Ingest of a >= 1 GiB file from a loopback server  vs  `curl -o` followed by `sha256sum`.
//  2. Segment thumbnails of a 10-minute 720p video      vs  a sequential loop of ffmpeg fast-seek commands.
// Prints a table of wall times, ratios (ours / baseline; below 1 means faster) and our peak RSS.
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(root, 'bench', '.work');
mkdirSync(work, { recursive: true });
const ffmpeg = (await import('@ffmpeg-installer/ffmpeg')).default.path;
const GiB = 1024 ** 3;
const bigSize = Number(process.env.BENCH_BYTES ?? 1.05 * GiB);

function log(message) {
  process.stderr.write(`bench: ${message}\n`);
}

/** A PCM WAV of `bytes` bytes of noise: valid audio that ffprobe reads in milliseconds. */
async function makeBigWav(file, bytes) {
  if (existsSync(file) && statSync(file).size === bytes) return;
  log(`writing ${(bytes / GiB).toFixed(2)} GiB WAV`);
  const dataBytes = bytes - 44;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(Math.min(0xffffffff, bytes - 8), 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(2, 22); // stereo
  header.writeUInt32LE(48000, 24);
  header.writeUInt32LE(48000 * 4, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(dataBytes, 40);
  const out = createWriteStream(`${file}.part`);
  out.write(header);
  const block = randomBytes(8 << 20);
  for (let written = 0; written < dataBytes; written += block.length) {
    const chunk = block.subarray(0, Math.min(block.length, dataBytes - written));
    if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r, j) => out.end((e) => (e ? j(e) : r())));
  execFileSync('mv', [`${file}.part`, file]);
}

function makeLongVideo(file) {
  if (existsSync(file)) return;
  log('encoding a 10-minute 1280x720 H.264 video (once; cached in bench/.work)');
  execFileSync(ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=10:duration=600',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '100', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', `${file}.part.mp4`]);
  execFileSync('mv', [`${file}.part.mp4`, file]);
}

/** Runs a command, resolving with its wall time in ms. */
function timed(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${command} exited ${code}`));
      else resolve({ ms, stdout });
    });
  });
}

async function startServer(dir) {
  const child = spawn(process.execPath, [path.join(root, 'bench', 'serve-dir.mjs'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  return { port, stop: () => child.kill() };
}

const rows = [];

// 1. Download + hash + store of a >= 1 GiB file.
{
  const wav = path.join(work, 'big.wav');
  await makeBigWav(wav, Math.round(bigSize / 4) * 4);
  const server = await startServer(work);
  const url = `http://bench.example.test/big.wav`;
  const curlOut = path.join(work, 'curl.out');
  try {
    const curlRuns = [];
    const durableRuns = [];
    const oursRuns = [];
    for (let i = 0; i < 2; i++) {
      rmSync(curlOut, { force: true });
      const curl = await timed('sh', ['-c', `curl -s -o "${curlOut}" --connect-to bench.example.test:80:127.0.0.1:${server.port} ${url} && sha256sum "${curlOut}"`]);
      curlRuns.push(curl.ms);
      rmSync(curlOut, { force: true });
      // The same, made durable like our blobs (we fsync before the atomic rename): curl, sync the file, sha256sum.
      const durable = await timed('sh', ['-c', `curl -s -o "${curlOut}" --connect-to bench.example.test:80:127.0.0.1:${server.port} ${url} && sync "${curlOut}" && sha256sum "${curlOut}"`]);
      durableRuns.push(durable.ms);
      rmSync(curlOut, { force: true });
      const dataDir = path.join(work, `data-${i}`);
      rmSync(dataDir, { recursive: true, force: true });
      const ours = await timed(process.execPath, [path.join(root, 'bench', 'ingest-one.mjs'), url], {
        env: { ...process.env, MEDIA_INGEST_DATA_DIR: dataDir, MEDIA_INGEST_CONNECT_TO: `bench.example.test:80:127.0.0.1:${server.port}` },
      });
      const result = JSON.parse(ours.stdout);
      if (result.status !== 'completed') throw new Error(`ingest ended ${result.status}: ${JSON.stringify(result.error)}`);
      oursRuns.push({ ms: ours.ms, rssMiB: result.maxRssMiB, bytes: result.bytes });
      rmSync(dataDir, { recursive: true, force: true });
    }
    const curlBest = Math.min(...curlRuns);
    const oursBest = oursRuns.reduce((a, b) => (a.ms < b.ms ? a : b));
    rows.push({
      bench: `ingest ${(oursBest.bytes / GiB).toFixed(2)} GiB (download+sha256+store+probe)`,
      baseline: 'curl -o + sha256sum',
      'baseline ms': curlBest.toFixed(0),
      'ours ms': oursBest.ms.toFixed(0),
      ratio: (oursBest.ms / curlBest).toFixed(2),
      'ours peak RSS MiB': oursBest.rssMiB.toFixed(0),
    });
    const durableBest = Math.min(...durableRuns);
    rows.push({
      bench: 'same ingest, against a durable baseline',
      baseline: 'curl -o + sync FILE + sha256sum',
      'baseline ms': durableBest.toFixed(0),
      'ours ms': oursBest.ms.toFixed(0),
      ratio: (oursBest.ms / durableBest).toFixed(2),
      'ours peak RSS MiB': oursBest.rssMiB.toFixed(0),
    });
  } finally {
    server.stop();
  }
}

// 2. Segment thumbnails of a 10-minute 720p video.
{
  const video = path.join(work, 'ten-minutes-720p.mp4');
  makeLongVideo(video);
  const { planSegments, defaultThumbnailTime, makeThumbnails } = await import(path.join(root, 'dist/src/stages/thumbnails.js'));
  const segments = planSegments(600, 20);
  const times = [defaultThumbnailTime(600), ...segments.map((s) => s.thumbnailTime)];
  const baselineDir = path.join(work, 'thumbs-baseline');
  rmSync(baselineDir, { recursive: true, force: true });
  mkdirSync(baselineDir, { recursive: true });
  const baseStart = process.hrtime.bigint();
  for (const [i, t] of times.entries()) {
    execFileSync(ffmpeg, ['-v', 'error', '-y', '-ss', String(t), '-i', video, '-frames:v', '1', '-vf', 'scale=640:-2', path.join(baselineDir, `${i}.jpg`)]);
  }
  const baselineMs = Number(process.hrtime.bigint() - baseStart) / 1e6;
  const oursDir = path.join(work, 'thumbs-ours');
  rmSync(oursDir, { recursive: true, force: true });
  mkdirSync(oursDir, { recursive: true });
  const oursStart = process.hrtime.bigint();
  const made = await makeThumbnails(video, times.map((t, i) => ({ key: `t${i}`, timeSeconds: t })), {
    width: 640, format: 'jpeg', quality: 80, outputDir: oursDir, timeoutMs: 300_000,
    parallelism: Math.max(1, (await import('node:os')).availableParallelism()), durationSeconds: 600,
  });
  const oursMs = Number(process.hrtime.bigint() - oursStart) / 1e6;
  rows.push({
    bench: `${made.length} thumbnails of 10-min 720p (default + 30 segments)`,
    baseline: `${times.length} sequential ffmpeg -ss`,
    'baseline ms': baselineMs.toFixed(0),
    'ours ms': oursMs.toFixed(0),
    ratio: (oursMs / baselineMs).toFixed(2),
    'ours peak RSS MiB': (process.resourceUsage().maxRSS / 1024).toFixed(0),
  });
}

console.table(rows);
process.stdout.write(`${JSON.stringify(rows)}\n`);
