/**
 * Probe stage: reads what a stored blob is (audio or video, duration, dimensions, codecs) with a hardened ffprobe,
 * and refuses what the engine does not accept (playlists, scripts, images, over-long or oversized media).
 *
 * ffprobe only ever sees a local file: `-protocol_whitelist file` with a `file:` URL, a demuxer allowlist
 * (`-format_whitelist`, checked again against `format_name` afterwards), a stream cap, a stdout cap, a SIGKILL
 * deadline, and the per-process memory/CPU/output limits of {@link runDecoder}. What the file declares (sizes,
 * aspect ratios, frame rate and count, streams) is checked against {@link MediaLimits} before anything decodes it.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { IngestError } from '../errors.js';
import { DEFAULT_MEDIA_LIMITS, checkDeclaredVideo, checkStreamCount } from '../media/media-limits.js';
import type { MediaLimits } from '../media/media-limits.js';
import { DEFAULT_PROCESS_LIMITS, allocationArgs, runDecoder, scrubPaths } from '../media/run-decoder.js';
import type { ProcessLimits } from '../media/run-decoder.js';
import { defaultDecoder } from '../media/decoder.js';

/** What the probe learned; nulls where not applicable (no video → no width) or unknown. */
export interface ProbeResult {
  /** `video` when there is a real video stream (cover art and single still frames do not count), else `audio`. */
  mediaType: 'video' | 'audio';
  /** From `format.duration`, else the longest stream duration; null when unknown. */
  durationSeconds: number | null;
  /** Display width: coded width, swapped with the height for a 90°/270° rotation. */
  width: number | null;
  /** Display height (see {@link ProbeResult.width}). */
  height: number | null;
  /** Of the main audio stream. */
  sampleRate: number | null;
  /** Of the main audio stream. */
  channels: number | null;
  /** The main audio stream's bitrate in bps when known, else the container's `bit_rate`. */
  bitrate: number | null;
  /** ffprobe's `format_name`, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  format: string;
  hasAudio: boolean;
  videoCodec: string | null;
  audioCodec: string | null;
  /** ffprobe's index of the video stream described (the one thumbnails are taken from); null for audio. */
  videoStreamIndex: number | null;
}

/** Options of {@link probeMedia}; the {@link MediaLimits} not given take their defaults. */
export interface ProbeOptions extends Partial<MediaLimits> {
  /** The ffprobe binary. @default the one {@link defaultDecoder} finds (PATH, /usr/bin, else npm) */
  ffprobePath?: string;
  /** ffprobe is killed (SIGKILL) after this long and the probe fails with `timeout`. */
  timeoutMs: number;
  /** Longer media fails with `duration_too_long`. */
  maxDurationSeconds: number;
  /** A video stream wider or taller than this (coded pixels) fails with `media_limits_exceeded`. */
  maxPixelDimension: number;
  /** More streams than this fails with `media_limits_exceeded`. */
  maxStreams: number;
  /** Memory, CPU-time and output limits of the ffprobe process. @default {@link DEFAULT_PROCESS_LIMITS} */
  processLimits?: ProcessLimits;
  /** Aborting kills ffprobe; the probe then rejects with the signal's IngestError reason, else `cancelled`. */
  signal?: AbortSignal;
}

/**
 * Container demuxers we accept, by their full ffprobe `format_name`. The first word of each is what
 * `-format_whitelist` matches (libavformat compares the comma-separated words of both lists).
 */
export const ACCEPTED_FORMAT_NAMES: readonly string[] = [
  'mov,mp4,m4a,3gp,3g2,mj2', 'matroska,webm', 'mp3', 'wav', 'ogg', 'flac', 'aac', 'avi', 'mpegts', 'flv', 'asf',
  'w64', 'aiff', 'caf', 'amr',
];

/** The `-format_whitelist` value for ffmpeg and ffprobe inputs (also used by the thumbnail stage). */
export const FORMAT_WHITELIST = ACCEPTED_FORMAT_NAMES.map((name) => name.split(',')[0]).join(',');

/** True when an ffprobe `format_name` is one of {@link ACCEPTED_FORMAT_NAMES}. */
export function isAcceptedFormat(formatName: string): boolean {
  return ACCEPTED_FORMAT_NAMES.includes(formatName);
}

/** ffprobe's JSON is small; a bigger answer means hostile metadata. */
const MAX_STDOUT_BYTES = 8 * 1024 * 1024;
/** Text that starts a playlist, manifest or ffmpeg script rather than media. */
const PLAYLIST_HEAD = /^(?:\uFEFF)?\s*(?:#EXTM3U|#EXT-X-|ffconcat|\[playlist\]|<\?xml|<MPD|<smil)/i;

async function resolveFfprobePath(explicit: string | undefined): Promise<string> {
  return explicit ?? (await defaultDecoder()).ffprobe.path;
}

/**
 * Probes a local media file and returns its {@link ProbeResult}.
 *
 * @param filePath a local file (never a URL); it is handed to ffprobe as `file:<absolute path>`.
 * @throws IngestError `unsupported_media_type` (playlist, script, image, container not on the allowlist),
 *   `media_corrupt` (unreadable, truncated, no audio/video stream, ffprobe crashed), `media_limits_exceeded` (a
 *   declared property past {@link MediaLimits}, or ffprobe past its memory/CPU limit), `duration_too_long`,
 *   `timeout`, `cancelled` (or the signal's IngestError reason), `internal` (missing file or ffprobe binary).
 */
export async function probeMedia(filePath: string, options: ProbeOptions): Promise<ProbeResult> {
  const absolute = path.resolve(filePath);
  await refusePlaylistText(absolute);
  const ffprobePath = await resolveFfprobePath(options.ffprobePath);
  const processLimits = options.processLimits ?? DEFAULT_PROCESS_LIMITS;
  const { stdout } = await runDecoder(ffprobePath, [...allocationArgs(processLimits), ...ffprobeArgs(absolute, options.maxStreams)], {
    tool: 'ffprobe', limits: processLimits, timeoutMs: options.timeoutMs, maxStdoutBytes: MAX_STDOUT_BYTES,
    classify: classifyFfprobeError, ...(options.signal ? { signal: options.signal } : {}),
  });
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch (error) {
    throw new IngestError('media_corrupt', 'ffprobe returned unreadable output for the media', { cause: error });
  }
  return parseProbeOutput(json, options);
}

/** The hardened ffprobe command line for a local absolute path. Exported so tests can run ffprobe with it directly. */
export function ffprobeArgs(absolutePath: string, maxStreams: number): string[] {
  return [
    '-hide_banner', '-v', 'error',
    '-protocol_whitelist', 'file',
    '-format_whitelist', FORMAT_WHITELIST,
    // One over the cap so the stream-count check can name the problem; far more fails to open at all.
    '-max_streams', String(Math.max(1, maxStreams + 1)),
    '-print_format', 'json', '-show_format', '-show_streams',
    `file:${absolutePath}`,
  ];
}

/** Playlists and scripts are text; refuse them by their first bytes before any demuxer sees them. */
async function refusePlaylistText(absolute: string): Promise<void> {
  let handle;
  try {
    handle = await open(absolute, 'r');
  } catch (error) {
    throw new IngestError('internal', `cannot open the file to probe: ${(error as NodeJS.ErrnoException).code ?? error}`, { cause: error });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new IngestError('internal', 'the path to probe is not a regular file');
    if (stat.size === 0) throw new IngestError('media_corrupt', 'the file is empty');
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (PLAYLIST_HEAD.test(head.subarray(0, bytesRead).toString('latin1'))) {
      throw new IngestError('unsupported_media_type', 'a playlist, manifest or script, not audio or video');
    }
  } finally {
    await handle.close();
  }
}

/** Image demuxers ffprobe may detect under a media extension. */
const IMAGE_DEMUXER = /(?:_pipe$|^image2|^gif$|^webp|^apng$|^ico$|^svg)/;

/** Turns ffprobe's stderr into a coded error: an allowlist refusal is `unsupported_media_type`, the rest corrupt. */
export function classifyFfprobeError(stderr: string): IngestError {
  const refused = /\[([\w,]+) @ (?:0x)?[0-9a-f]+\] Format not on whitelist/.exec(stderr);
  if (refused) {
    const demuxer = refused[1]!;
    const what = IMAGE_DEMUXER.test(demuxer)
      ? 'an image, not audio or video'
      : 'not an accepted audio/video container';
    return new IngestError('unsupported_media_type', `${what} (detected ${demuxer})`);
  }
  // The last line reads "file:/abs/path: Invalid data found when processing input"; drop the path.
  const lines = stderr.trim().split('\n').map((line) => line.trim()).filter(Boolean);
  const last = scrubPaths((lines.at(-1) ?? 'ffprobe failed').replace(/^file:.*?: (?=[A-Z])/, ''));
  return new IngestError('media_corrupt', `the media cannot be read: ${last.slice(0, 200)}`);
}

interface FfprobeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  bit_rate?: string;
  duration?: string;
  nb_frames?: string;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  disposition?: { default?: number; attached_pic?: number };
  tags?: { rotate?: string; DURATION?: string };
  side_data_list?: Array<{ rotation?: number | string }>;
}

interface FfprobeJson {
  format?: { format_name?: string; duration?: string; bit_rate?: string };
  streams?: FfprobeStream[];
}

/** Codecs that, with a single frame, make a "video" stream a still picture. */
const STILL_IMAGE_CODECS = new Set([
  'png', 'apng', 'mjpeg', 'jpeg2000', 'jpegls', 'ljpeg', 'bmp', 'gif', 'webp', 'tiff', 'targa', 'ppm', 'pgm', 'pam',
  'pbm', 'pgmyuv', 'sgi', 'xwd', 'dpx', 'exr', 'pcx', 'qoi', 'hdr', 'jpegxl', 'avif', 'svg',
]);

/** Maps ffprobe's JSON to a {@link ProbeResult}, enforcing the allowlist and the limits. Exported for unit tests. */
export function parseProbeOutput(
  input: unknown, options: Pick<ProbeOptions, 'maxDurationSeconds' | 'maxPixelDimension' | 'maxStreams'> & Partial<MediaLimits>,
): ProbeResult {
  const limits: MediaLimits & { maxDurationSeconds: number } = {
    ...DEFAULT_MEDIA_LIMITS, ...definedOnly(options), maxDurationSeconds: options.maxDurationSeconds,
  };
  const json = (typeof input === 'object' && input !== null ? input : {}) as FfprobeJson;
  const format = json.format ?? {};
  const formatName = format.format_name ?? '';
  if (!isAcceptedFormat(formatName)) {
    throw new IngestError('unsupported_media_type', `not an accepted audio/video container (detected ${formatName.slice(0, 60) || 'nothing'})`);
  }
  const streams = Array.isArray(json.streams) ? json.streams : [];
  checkStreamCount(streams.length, limits);
  const formatDuration = positive(format.duration);
  const audio = preferDefault(streams.filter((s) => s.codec_type === 'audio'));
  const pictures = streams.filter((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  const videos = pictures.filter((s) => !isStillImage(s, formatDuration));
  const video = preferDefault(videos);
  // Every picture stream, not only the one described: any of them could be decoded.
  streams.forEach((stream, position) => {
    if (stream.codec_type !== 'video') return;
    checkDeclaredVideo({
      index: integerOrZero(stream.index) ?? position, width: positive(stream.width), height: positive(stream.height),
      ...(stream.sample_aspect_ratio ? { sampleAspectRatio: stream.sample_aspect_ratio } : {}),
      ...(stream.avg_frame_rate ? { avgFrameRate: stream.avg_frame_rate } : {}),
      frameCount: integer(stream.nb_frames), still: !videos.includes(stream),
    }, limits);
  });
  if (!video && !audio) {
    if (pictures.length > 0) throw new IngestError('unsupported_media_type', 'an image, not audio or video');
    throw new IngestError('media_corrupt', 'the media has no audio or video stream');
  }

  const durationSeconds = formatDuration ?? maxOf(streams.map(streamDuration));
  if (durationSeconds !== null && durationSeconds > limits.maxDurationSeconds) {
    throw new IngestError('duration_too_long',
      `the media lasts ${Math.round(durationSeconds)} s, longer than the limit of ${limits.maxDurationSeconds} s`);
  }

  let width: number | null = null;
  let height: number | null = null;
  if (video) {
    const codedWidth = positive(video.width);
    const codedHeight = positive(video.height);
    if (codedWidth === null || codedHeight === null) {
      throw new IngestError('media_corrupt', 'the video stream has no dimensions');
    }
    const quarterTurn = rotationOf(video) % 180 === 90;
    width = quarterTurn ? codedHeight : codedWidth;
    height = quarterTurn ? codedWidth : codedHeight;
  }

  return {
    mediaType: video ? 'video' : 'audio',
    durationSeconds,
    width,
    height,
    sampleRate: audio ? integer(audio.sample_rate) : null,
    channels: audio ? integer(audio.channels) : null,
    bitrate: (audio ? integer(audio.bit_rate) : null) ?? integer(format.bit_rate),
    format: formatName,
    hasAudio: audio !== undefined,
    videoCodec: video?.codec_name ?? null,
    audioCodec: audio?.codec_name ?? null,
    videoStreamIndex: video ? integerOrZero(video.index) ?? streams.indexOf(video) : null,
  };
}

/** A single-frame picture codec (or one with no frame count and no real duration) is a still image. */
function isStillImage(stream: FfprobeStream, formatDuration: number | null): boolean {
  if (!STILL_IMAGE_CODECS.has(stream.codec_name ?? '')) return false;
  const frames = integer(stream.nb_frames);
  if (frames !== null) return frames <= 1;
  const duration = streamDuration(stream) ?? formatDuration;
  return duration === null || duration < 0.1;
}

function preferDefault(streams: FfprobeStream[]): FfprobeStream | undefined {
  return streams.find((s) => s.disposition?.default === 1) ?? streams[0];
}

/** Degrees in [0, 360) from the display matrix side data, else the legacy `rotate` tag. */
function rotationOf(stream: FfprobeStream): number {
  const fromMatrix = stream.side_data_list?.find((d) => d.rotation !== undefined)?.rotation;
  const raw = Number(fromMatrix ?? stream.tags?.rotate ?? 0);
  if (!Number.isFinite(raw)) return 0;
  return ((Math.round(raw) % 360) + 360) % 360;
}

function streamDuration(stream: FfprobeStream): number | null {
  const direct = positive(stream.duration);
  if (direct !== null) return direct;
  // Matroska keeps per-stream durations in a tag: "00:00:10.008000000".
  const match = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(stream.tags?.DURATION ?? '');
  return match ? positive(Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3])) : null;
}

function positive(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

function integer(value: unknown): number | null {
  const n = positive(value);
  return n === null ? null : Math.round(n);
}

/** A non-negative integer (stream indexes start at 0), else null. */
function integerOrZero(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : null;
}

/** The options without their undefined fields (so they do not override defaults). */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function maxOf(values: Array<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length > 0 ? Math.max(...known) : null;
}
