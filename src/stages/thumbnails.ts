/**
 * Thumbnail stage: extracts frames from a local video with ffmpeg into `<outputDir>/<key>.jpg|.webp`. JPEG is
 * encoded by ffmpeg itself in the same step (a temp name in the output dir, then renamed); WebP frames go through a
 * PNG that sharp encodes.
 *
 * Fast path: one ffmpeg process extracts several frames (one `-ss T -i file:` input with a single-threaded decoder and
 * one image output per frame, fast input seeking, scaled by ffmpeg); frames are split over up to `parallelism`
 * processes only when each gets enough of them to pay for its start, and large frames get fewer inputs a process so
 * one process stays within its memory limit ({@link frameBatches}).
 * Bounded: every frame is scaled inside the filter graph into the `width` × `maxHeight` box whatever the file's
 * sample/display aspect ratio or rotation ({@link boxScaleFilter}); each ffmpeg runs under the memory, CPU and
 * output limits of {@link runDecoder}; an image larger than the box is refused (JPEG: its SOF header is checked;
 * WebP: sharp's pixel limit).
 * Hardened like the probe: `-protocol_whitelist file`, the demuxer allowlist, `file:` inputs, no caller string in any
 * option or filter, SIGKILL at the deadline or on abort.
 */
import { cancelledBy } from '../plugin-kit.js';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type SharpFactory from 'sharp';
import { IngestError, isIngestError, toIngestError } from '../errors.js';
import { defaultDecoder } from '../media/decoder.js';
import { DEFAULT_PROCESS_LIMITS, allocationArgs, runDecoder, scrubPaths } from '../media/run-decoder.js';
import type { ProcessLimits } from '../media/run-decoder.js';
import { boxScaleFilter } from '../media/scale-filter.js';
import { clampTime, frameBatches, framesPerProcess } from './frame-batches.js';
import { checkedJpeg, hasFrame, jpegQscale, type FrameOutput } from './jpeg-frames.js';
import { FORMAT_WHITELIST, classifyFfprobeError } from './probe.js';

/** One frame to make. */
export interface ThumbnailRequest {
  /** File name stem of the result (`<key>.jpg`): letters, digits, `.`, `_`, `-`; not starting with `.`. */
  key: string;
  /** Where to take the frame; clamped into the media (see {@link ThumbnailOptions.durationSeconds}). */
  timeSeconds: number;
}

/** Options of {@link makeThumbnails}. */
export interface ThumbnailOptions {
  /** The ffmpeg binary. @default the one {@link defaultDecoder} finds (PATH, /usr/bin, else npm) */
  ffmpegPath?: string;
  /**
   * Width of every thumbnail in pixels (height keeps the display aspect ratio; small sources are upscaled; even
   * sizes), unless that would make it taller than `maxHeight`: then it is fitted by height, narrower.
   */
  width: number;
  /** Upper bound of every thumbnail's height. @default 2 × width */
  maxHeight?: number;
  /** Output encoding. JPEG is written without mozjpeg (faster). */
  format: 'jpeg' | 'webp';
  /** Encoder quality, 1-100. */
  quality: number;
  /** Created if missing. Files are written under a temp name and renamed into place. */
  outputDir: string;
  /** Deadline for the whole call: every ffmpeg still running then is SIGKILLed and the call fails with `timeout`. */
  timeoutMs: number;
  /** How many ffmpeg processes may run at once. */
  parallelism: number;
  /** Memory, CPU-time and output limits of each ffmpeg process. @default {@link DEFAULT_PROCESS_LIMITS} */
  processLimits?: ProcessLimits;
  /**
   * Coded size of the video (from the probe): large frames get fewer frames per ffmpeg process, so each stays within
   * its memory limit. Unknown: planned as 1920x1080.
   */
  frameSize?: { width: number; height: number } | null;
  /** ffprobe's index of the video stream to take frames from (from the probe). @default the first video stream */
  streamIndex?: number | null;
  /** Aborting kills ffmpeg and rejects with the signal's IngestError reason, else `cancelled`. */
  signal?: AbortSignal;
  /**
   * The media duration (from the probe). Times at or past it are clamped to slightly before the end. Without it,
   * a request past the end is retried as a frame 0.5 s before the end (`-sseof`).
   */
  durationSeconds?: number | null;
  /**
   * Path prefix of the scratch folder the extracted frames go to (`mkdtemp` appends six characters); the engine
   * keeps it inside the data dir's temp folder, named by file id. @default `<os.tmpdir()>/media-ingest-frames-`
   */
  scratchPrefix?: string;
}

/** A thumbnail written to disk. */
export interface ThumbnailResult {
  key: string;
  /** The time actually used (after clamping). */
  timeSeconds: number;
  /** Absolute path of `<outputDir>/<key>.jpg|.webp`. */
  path: string;
  width: number;
  height: number;
  bytes: number;
}

/**
 * Decoder threads per input: one process decodes its inputs one after another, frames are parallel across processes,
 * and a second thread per input only costs memory and CPU (measured: 16 inputs of 720p, 187 vs 264 MiB, same wall).
 */
const DECODER_THREADS = 1;
const SAFE_KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

interface FrameJob {
  request: ThumbnailRequest;
  time: number;
  fromEnd: boolean;
  /** Where ffmpeg writes: a scratch PNG for sharp, or (JPEG) the final image under a temp name in the output dir. */
  framePath: string;
}

/**
 * Makes one thumbnail per request, in request order. All or nothing: on failure the files it wrote are removed.
 *
 * @throws IngestError `timeout`, `cancelled` (or the signal's IngestError reason), `unsupported_media_type` (a
 *   container off the allowlist), `media_corrupt` (no frame can be decoded), `internal` (bad key or options).
 */
export async function makeThumbnails(
  filePath: string, requests: ThumbnailRequest[], options: ThumbnailOptions,
): Promise<ThumbnailResult[]> {
  validate(requests, options);
  if (options.signal?.aborted) throw abortError(options.signal);
  if (requests.length === 0) return [];
  const absolute = path.resolve(filePath);
  const ffmpegPath = options.ffmpegPath ?? (await defaultDecoder()).ffmpeg.path;
  // JPEG comes out of ffmpeg's own encoder in the same process that decodes the frame (no PNG, no sharp, no second
  // read); WebP still goes through a PNG and sharp, whose encoder is always there.
  const output: FrameOutput = options.format === 'jpeg' ? { kind: 'jpeg', quality: options.quality } : { kind: 'png' };
  if (output.kind === 'png') await loadMediaLibs();
  const box = { width: options.width, maxHeight: options.maxHeight ?? 2 * options.width };
  const limits = processLimitsFor(options.processLimits ?? DEFAULT_PROCESS_LIMITS, box);
  const extraction: Extraction = {
    ffmpegPath, absolute, filter: boxScaleFilter(box), limits,
    stream: options.streamIndex ?? null, output,
  };
  const outputDir = path.resolve(options.outputDir);
  const extension = options.format === 'webp' ? '.webp' : '.jpg';

  // One controller for everything in flight: the deadline, the caller's signal and the first failure abort it.
  const controller = new AbortController();
  const deadline = setTimeout(() => controller.abort(
    new IngestError('timeout', `thumbnails took longer than ${options.timeoutMs} ms`)), options.timeoutMs);
  const onAbort = () => controller.abort(abortError(options.signal!));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const written: string[] = [];
  let workDir: string | undefined;
  try {
    await mkdir(outputDir, { recursive: true });
    // JPEG frames go straight to the output dir; only PNGs for sharp need a scratch folder.
    if (output.kind === 'png') workDir = await mkdtemp(options.scratchPrefix ?? path.join(os.tmpdir(), 'media-ingest-frames-'));
    const jobs: FrameJob[] = requests.map((request, i) => {
      const framePath = output.kind === 'jpeg' ? path.join(outputDir, `.${request.key}.${randomBytes(6).toString('hex')}.tmp`) : path.join(workDir!, `${i}.png`);
      if (output.kind === 'jpeg') written.push(framePath);
      return { request, time: clampTime(request.timeSeconds, options.durationSeconds), fromEnd: false, framePath };
    });
    const batches = frameBatches(jobs, options.parallelism, framesPerProcess(options.frameSize ?? null, limits.memoryBytes));
    const results = new Map<FrameJob, ThumbnailResult>();

    const processBatch = async (batch: FrameJob[]) => {
      await extractFrames(extraction, batch, controller.signal);
      const missing = batch.filter((job) => !hasFrame(job.framePath));
      if (missing.length > 0) {
        // Past the last decodable frame (duration unknown, or video ending before the audio): take one near the end.
        for (const job of missing) job.fromEnd = true;
        await extractFrames(extraction, missing, controller.signal);
      }
      for (const job of batch) {
        if (!hasFrame(job.framePath)) {
          throw new IngestError('media_corrupt', `no video frame could be decoded near ${job.time.toFixed(2)} s`);
        }
        if (controller.signal.aborted) return;
        const target = path.join(outputDir, `${job.request.key}${extension}`);
        results.set(job, await (output.kind === 'jpeg' ? placeJpeg : encodeFrame)(job, target, options, box, written));
      }
    };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length && !controller.signal.aborted) await processBatch(batches[next++]!);
    };
    const settled = await Promise.allSettled(Array.from(
      { length: Math.min(Math.max(1, options.parallelism), batches.length) },
      () => worker().catch((error: unknown) => {
        if (!controller.signal.aborted) controller.abort(toIngestError(error));
        throw error;
      }),
    ));
    if (controller.signal.aborted) throw controller.signal.reason;
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return jobs.map((job) => results.get(job)!);
  } catch (error) {
    await Promise.all(written.map((file) => rm(file, { force: true })));
    throw controller.signal.aborted ? toIngestError(controller.signal.reason) : toIngestError(error);
  } finally {
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', onAbort);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }
}

/** sharp, loaded on the first video (it costs start-up time that audio-only runs never need). */
let mediaLibs: { sharp: typeof SharpFactory } | undefined;
async function loadMediaLibs(): Promise<NonNullable<typeof mediaLibs>> {
  mediaLibs ??= { sharp: (await import('sharp')).default };
  return mediaLibs;
}

/** What every ffmpeg run of one call shares. */
export interface Extraction {
  ffmpegPath: string;
  absolute: string;
  /** The bounded scale filter ({@link boxScaleFilter}); built from validated integers only. */
  filter: string;
  limits: ProcessLimits;
  /** Stream index to map, else the first video stream. */
  stream: number | null;
  /** PNG for sharp, or the final JPEG. @default PNG */
  output?: FrameOutput;
}

/** The limits, with the output-size limit raised to fit the largest PNG frame of the box (the operator's choice). */
function processLimitsFor(limits: ProcessLimits, box: { width: number; maxHeight: number }): ProcessLimits {
  const largestFrame = box.width * box.maxHeight * 4 + 1024 * 1024;
  return { ...limits, outputBytes: Math.max(limits.outputBytes, largestFrame) };
}

/** The ffmpeg command line extracting one PNG per job. Exported for tests. */
export function frameExtractionArgs(extraction: Extraction, jobs: Array<Pick<FrameJob, 'time' | 'fromEnd' | 'framePath'>>): string[] {
  const args = ['-nostdin', '-hide_banner', '-v', 'error', '-filter_threads', '1', ...allocationArgs(extraction.limits)];
  for (const job of jobs) {
    args.push(
      '-threads', String(DECODER_THREADS),
      ...(job.fromEnd ? ['-sseof', '-0.5'] : ['-ss', job.time.toFixed(3)]),
      '-protocol_whitelist', 'file', '-format_whitelist', FORMAT_WHITELIST,
      '-i', `file:${extraction.absolute}`,
    );
  }
  const stream = extraction.stream === null ? 'V:0' : String(extraction.stream);
  jobs.forEach((job, i) => {
    args.push(
      '-map', `${i}:${stream}`, '-frames:v', '1', '-vf', extraction.filter,
      // One encoder thread: a single image gains nothing from frame threads, which each cost a stack and buffers.
      ...(extraction.output?.kind === 'jpeg'
        ? ['-c:v', 'mjpeg', '-threads', '1', '-q:v', String(jpegQscale(extraction.output.quality)), '-pix_fmt', 'yuvj420p', '-f', 'mjpeg']
        : ['-c:v', 'png', '-threads', '1', '-compression_level', '1']),
      '-y', `file:${job.framePath}`,
    );
  });
  return args;
}

/** Runs one ffmpeg process extracting one PNG per job; resolves even when a time past the end produced no frame. */
async function extractFrames(extraction: Extraction, jobs: FrameJob[], signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw signal.reason;
  await runDecoder(extraction.ffmpegPath, frameExtractionArgs(extraction, jobs), {
    tool: 'ffmpeg', limits: extraction.limits, timeoutMs: 2 ** 31 - 1, signal,
    classify: (stderr) => {
      const coded = classifyFfprobeError(stderr);
      return new IngestError(coded.code, scrubPaths(coded.message.replace('the media cannot be read', 'ffmpeg cannot read the media')));
    },
  });
}

/** Moves a JPEG ffmpeg wrote into place (see {@link checkedJpeg}). */
async function placeJpeg(
  job: FrameJob, target: string, options: ThumbnailOptions, box: { width: number; maxHeight: number }, written: string[],
): Promise<ThumbnailResult> {
  const image = await checkedJpeg(job.framePath, job.time, box);
  written.push(target);
  await rename(job.framePath, target);
  return {
    key: job.request.key,
    timeSeconds: job.fromEnd && options.durationSeconds ? Math.max(0, options.durationSeconds - 0.5) : job.time,
    path: target, ...image,
  };
}

/** Encodes one frame with sharp, atomically (temp name in the same directory, then rename). */
async function encodeFrame(
  job: FrameJob, target: string, options: ThumbnailOptions, box: { width: number; maxHeight: number }, written: string[],
): Promise<ThumbnailResult> {
  const temp = path.join(path.dirname(target), `.${job.request.key}.${randomBytes(6).toString('hex')}.tmp`);
  written.push(temp);
  // ffmpeg already made the final size; sharp only encodes, and refuses anything bigger than the box.
  const image = mediaLibs!.sharp(job.framePath, {
    failOn: 'error', limitInputPixels: box.width * box.maxHeight, sequentialRead: true,
  });
  const encoded = options.format === 'webp'
    ? image.webp({ quality: options.quality })
    : image.jpeg({ quality: options.quality, mozjpeg: false });
  let info;
  try {
    info = await encoded.toFile(temp);
  } catch (error) {
    // sharp's pixel limit: a frame larger than the box (which the filter should never make). Other errors (a full
    // disk) pass on unchanged for the caller to classify.
    if (/pixel limit|too large/i.test(String((error as Error)?.message))) {
      throw new IngestError('media_limits_exceeded', `the extracted frame is larger than the thumbnail box: ${scrubPaths((error as Error).message)}`, { cause: error });
    }
    throw error;
  }
  written.push(target);
  await rename(temp, target);
  return {
    key: job.request.key,
    timeSeconds: job.fromEnd && options.durationSeconds ? Math.max(0, options.durationSeconds - 0.5) : job.time,
    path: target, width: info.width, height: info.height, bytes: info.size,
  };
}

function validate(requests: ThumbnailRequest[], options: ThumbnailOptions): void {
  const keys = new Set<string>();
  for (const { key, timeSeconds } of requests) {
    if (!SAFE_KEY.test(key) || keys.has(key)) throw new IngestError('internal', `invalid or duplicate thumbnail key ${JSON.stringify(key)}`);
    if (!Number.isFinite(timeSeconds)) throw new IngestError('internal', `invalid thumbnail time for ${key}`);
    keys.add(key);
  }
  const { width, quality, parallelism, timeoutMs, maxHeight } = options;
  if (!Number.isInteger(width) || width < 2 || width > 8192) throw new IngestError('internal', `invalid thumbnail width ${width}`);
  if (maxHeight !== undefined && (!Number.isInteger(maxHeight) || maxHeight < 2 || maxHeight > 16384)) {
    throw new IngestError('internal', `invalid thumbnail maxHeight ${maxHeight}`);
  }
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new IngestError('internal', `invalid thumbnail quality ${quality}`);
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new IngestError('internal', `invalid parallelism ${parallelism}`);
  if (!(timeoutMs > 0)) throw new IngestError('internal', `invalid timeoutMs ${timeoutMs}`);
}

function abortError(signal: AbortSignal): IngestError {
  return cancelledBy(signal, 'thumbnail extraction');
}

export { planSegments, defaultThumbnailTime } from './segment-plan.js';
export type { PlannedSegment } from './segment-plan.js';
export { MAX_FRAMES_PER_PROCESS, framesPerProcess, frameBatches } from './frame-batches.js';
