// The fuzz harness: seed files, and one input through sniff → probe → thumbnails with every invariant checked.
//
// Invariants for every input: the stages end (a result, or an IngestError whose code is documented and is not
// `internal`); within their deadlines; every ffprobe/ffmpeg under the memory cap (measured by the caller from /proc);
// thumbnails inside the box; and nothing written outside the data dir (checked by the caller on the sandbox).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES, isIngestError } from '../../src/errors.js';
import { sniffKind } from '../../src/stages/sniff.js';
import { probeMedia } from '../../src/stages/probe.js';
import { makeThumbnails } from '../../src/stages/thumbnails.js';
import { testFfmpegPath } from '../support/decoder-paths.mjs';
import { MEDIA_DIR } from '../support/media.js';

const SEED_DIR = path.join(MEDIA_DIR, 'fuzz-seeds');

const v = (size: string, frames: number) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=10:duration=${frames / 10}`];
const a = (seconds: number) => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=22050:duration=${seconds}`];
const exact = ['-threads', '1', '-fflags', '+bitexact', '-flags', '+bitexact'];

/** Small seed files of many containers and codecs (1 s, 64x48): more parsers under the fuzzer, fast to decode. */
const SEEDS: Record<string, string[]> = {
  'h264-aac.mp4': [...v('64x48', 10), ...a(1), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '5', '-c:a', 'aac', '-b:a', '32k', '-movflags', '+faststart'],
  'mpeg4.mov': [...v('64x48', 10), '-c:v', 'mpeg4', '-g', '5'],
  'vp8-vorbis.webm': [...v('64x48', 10), ...a(1), '-c:v', 'libvpx', '-b:v', '50k', '-g', '5', '-c:a', 'libvorbis'],
  'mjpeg-pcm.avi': [...v('64x48', 10), ...a(1), '-c:v', 'mjpeg', '-c:a', 'pcm_s16le'],
  'mpeg2-mp2.ts': [...v('64x48', 10), ...a(1), '-c:v', 'mpeg2video', '-g', '5', '-c:a', 'mp2'],
  'flv1-mp3.flv': [...v('64x48', 10), ...a(1), '-c:v', 'flv1', '-c:a', 'libmp3lame', '-ar', '22050'],
  'h264-opus.mkv': [...v('64x48', 10), ...a(1), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '5', '-c:a', 'libopus', '-b:a', '16k'],
  'audio.mp3': [...a(1), '-c:a', 'libmp3lame', '-b:a', '32k'],
  'audio.wav': [...a(1), '-c:a', 'pcm_s16le'],
  'audio.flac': [...a(1), '-c:a', 'flac'],
  'audio.ogg': [...a(1), '-c:a', 'libvorbis'],
  'aac.m4a': [...a(1), '-c:a', 'aac', '-b:a', '32k'],
};

/** Generates the seed files once (cached under fixtures/media/generated/fuzz-seeds/) and returns them. */
export function loadSeeds(): Array<{ name: string; bytes: Buffer }> {
  mkdirSync(SEED_DIR, { recursive: true });
  return Object.entries(SEEDS).map(([name, args]) => {
    const file = path.join(SEED_DIR, name);
    if (!existsSync(file)) {
      const temp = path.join(SEED_DIR, `.${process.pid}-${name}`);
      execFileSync(testFfmpegPath, ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args, ...exact, temp], { stdio: ['ignore', 'ignore', 'inherit'] });
      renameSync(temp, file);
    }
    return { name, bytes: readFileSync(file) };
  });
}

/** Limits and deadlines of a fuzz run. */
export const FUZZ_LIMITS = {
  probeTimeoutMs: 10_000,
  thumbnailTimeoutMs: 20_000,
  /** A stage that ends later than its deadline plus this has missed it. */
  slackMs: 3000,
  box: { width: 160, maxHeight: 320 },
};

/** What happened to one input. */
export interface CaseResult {
  sniffed: string;
  /** `completed`, `refused` (by the sniff, as the engine would) or the error code a stage ended with. */
  outcome: string;
  stage: 'sniff' | 'probe' | 'thumbnails' | 'done';
  thumbnails: number;
  ms: number;
  /** Set when an invariant failed: the input is a finding to keep in the corpus. */
  violation?: string;
  /** Set when ffprobe/ffmpeg died of a signal on the input (mapped to a code, but worth keeping). */
  decoderCrash?: string;
  message?: string;
}

const DOCUMENTED = new Set(Object.keys(ERROR_CODES));

function judge(error: unknown, stage: CaseResult['stage']): Pick<CaseResult, 'outcome' | 'violation' | 'decoderCrash' | 'message'> {
  if (!isIngestError(error)) return { outcome: 'exception', violation: `${stage} threw a non-IngestError: ${String(error)}`, message: String(error) };
  const result: Pick<CaseResult, 'outcome' | 'violation' | 'decoderCrash' | 'message'> = { outcome: error.code, message: error.message };
  if (!DOCUMENTED.has(error.code)) result.violation = `${stage} ended with an undocumented code ${error.code}`;
  else if (error.code === 'internal') result.violation = `${stage} ended with internal: ${error.message}`;
  const crash = /crashed on this media \((SIG\w+)\)/.exec(error.message);
  if (crash) result.decoderCrash = crash[1]!;
  return result;
}

/**
 * Runs one input through sniff → probe → (when `thumbnails` and it is a video) thumbnails, with the stages' files
 * inside `dataDir`. Never throws: every outcome, and every invariant failure, is in the result.
 */
export async function runCase(bytes: Buffer, id: string, dataDir: string, thumbnails: boolean): Promise<CaseResult> {
  const started = Date.now();
  const blob = path.join(dataDir, 'blobs', `${id}.bin`);
  mkdirSync(path.dirname(blob), { recursive: true });
  mkdirSync(path.join(dataDir, 'tmp'), { recursive: true });
  writeFileSync(blob, bytes);
  const done = (result: Omit<CaseResult, 'ms' | 'sniffed'>, sniffed: string): CaseResult => ({ ...result, sniffed, ms: Date.now() - started });
  try {
    const kind = sniffKind(bytes.subarray(0, 4096));
    if (bytes.length === 0) return done({ outcome: 'media_corrupt', stage: 'sniff', thumbnails: 0 }, kind);
    if (kind !== 'media' && kind !== 'unknown') return done({ outcome: 'refused', stage: 'sniff', thumbnails: 0 }, kind);
    const probeStart = Date.now();
    let probe;
    try {
      probe = await probeMedia(blob, { timeoutMs: FUZZ_LIMITS.probeTimeoutMs, maxDurationSeconds: 4 * 3600, maxPixelDimension: 8192, maxStreams: 16 });
    } catch (error) {
      const judged = judge(error, 'probe');
      const late = Date.now() - probeStart > FUZZ_LIMITS.probeTimeoutMs + FUZZ_LIMITS.slackMs;
      return done({ ...judged, stage: 'probe', thumbnails: 0, ...(late && !judged.violation ? { violation: 'probe missed its deadline' } : {}) }, kind);
    }
    if (Date.now() - probeStart > FUZZ_LIMITS.probeTimeoutMs + FUZZ_LIMITS.slackMs) {
      return done({ outcome: 'completed', stage: 'probe', thumbnails: 0, violation: 'probe missed its deadline' }, kind);
    }
    if (!thumbnails || probe.mediaType !== 'video') return done({ outcome: 'completed', stage: 'done', thumbnails: 0 }, kind);
    const thumbStart = Date.now();
    try {
      const made = await makeThumbnails(blob, [{ key: 'default', timeSeconds: 0.3 }, { key: 'segment-0', timeSeconds: 0.7 }], {
        width: FUZZ_LIMITS.box.width, maxHeight: FUZZ_LIMITS.box.maxHeight, format: 'jpeg', quality: 70,
        outputDir: path.join(dataDir, 'thumbnails', id), timeoutMs: FUZZ_LIMITS.thumbnailTimeoutMs, parallelism: 1,
        durationSeconds: probe.durationSeconds, streamIndex: probe.videoStreamIndex,
        frameSize: probe.width && probe.height ? { width: probe.width, height: probe.height } : null,
        scratchPrefix: path.join(dataDir, 'tmp', `${id}.frames-`),
      });
      const outside = made.find((t) => t.width > FUZZ_LIMITS.box.width || t.height > FUZZ_LIMITS.box.maxHeight || t.width < 2 || t.height < 2);
      return done({
        outcome: 'completed', stage: 'done', thumbnails: made.length,
        ...(outside ? { violation: `a thumbnail of ${outside.width}x${outside.height} is outside the box` } : {}),
      }, kind);
    } catch (error) {
      const judged = judge(error, 'thumbnails');
      const late = Date.now() - thumbStart > FUZZ_LIMITS.thumbnailTimeoutMs + FUZZ_LIMITS.slackMs;
      return done({ ...judged, stage: 'thumbnails', thumbnails: 0, ...(late && !judged.violation ? { violation: 'thumbnails missed their deadline' } : {}) }, kind);
    }
  } finally {
    rmSync(blob, { force: true });
    rmSync(path.join(dataDir, 'thumbnails', id), { recursive: true, force: true });
  }
}
