/**
 * What a media file may declare before anything decodes it. Checked on ffprobe's answer (which reads headers and
 * never decodes a frame), so a file declaring an absurd size, aspect ratio, frame rate, frame count or number of
 * streams is refused with `media_limits_exceeded` before ffmpeg allocates for it.
 */
import { IngestError } from '../errors.js';

/** The declared-property limits (see `LimitsConfig` in define-config.ts for the documented defaults). */
export interface MediaLimits {
  /** Largest coded width or height of any video stream. */
  maxPixelDimension: number;
  /** Largest coded width × height of any video stream. */
  maxFramePixels: number;
  /** Sample (pixel) aspect ratio allowed within [1/x, x]. */
  maxSampleAspectRatio: number;
  /** Display aspect ratio (width × SAR / height) allowed within [1/x, x]. */
  maxDisplayAspectRatio: number;
  /** Largest average frame rate of a video stream, frames per second. */
  maxFrameRate: number;
  /** Most frames a stream may declare. */
  maxFrameCount: number;
  /** Most streams a container may declare. */
  maxStreams: number;
}

/** The defaults, also used by the stages when called without limits. */
export const DEFAULT_MEDIA_LIMITS: Readonly<MediaLimits> = {
  maxPixelDimension: 8192,
  maxFramePixels: 8192 * 4320,
  maxSampleAspectRatio: 16,
  maxDisplayAspectRatio: 16,
  maxFrameRate: 1000,
  maxFrameCount: 15_000_000,
  maxStreams: 16,
};

/** `a:b` or `a/b` as a number; null for unknown (`0:1`, `0/0`, `N/A`, missing) or non-finite values. */
export function parseRatio(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const match = /^\s*(-?\d+(?:\.\d+)?)\s*[:/]\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text);
  if (!match) return null;
  const num = Number(match[1]);
  const den = Number(match[2]);
  if (!(num > 0) || !(den > 0)) return null;
  const ratio = num / den;
  return Number.isFinite(ratio) && ratio > 0 ? ratio : null;
}

/** What a video stream declares, as the limits need it. */
export interface DeclaredVideo {
  /** ffprobe's stream index (for messages). */
  index: number;
  width: number | null;
  height: number | null;
  /** `sample_aspect_ratio`, e.g. `1:255`. */
  sampleAspectRatio?: string;
  /** `avg_frame_rate`, e.g. `30000/1001`. */
  avgFrameRate?: string;
  /** `nb_frames`. */
  frameCount: number | null;
  /** A still picture (cover art, single frame): its frame rate means nothing. */
  still: boolean;
}

const refuse = (message: string): never => {
  throw new IngestError('media_limits_exceeded', message);
};

/** Refuses a container declaring more streams than the limit. */
export function checkStreamCount(count: number, limits: Pick<MediaLimits, 'maxStreams'>): void {
  if (count > limits.maxStreams) refuse(`the media declares ${count} streams, more than the limit of ${limits.maxStreams}`);
}

/**
 * Refuses a video stream whose declared size, aspect ratio, frame rate or frame count is past the limits.
 * Dimensions that are missing are left to the caller (a stream without them is corrupt, not oversized).
 */
export function checkDeclaredVideo(video: DeclaredVideo, limits: MediaLimits): void {
  const { width, height } = video;
  const name = `video stream #${video.index}`;
  if (width !== null && height !== null) {
    if (width > limits.maxPixelDimension || height > limits.maxPixelDimension) {
      refuse(`${name} is ${width}x${height}, larger than the limit of ${limits.maxPixelDimension} pixels a side`);
    }
    if (width * height > limits.maxFramePixels) {
      refuse(`${name} is ${width}x${height} (${width * height} pixels a frame), more than the limit of ${limits.maxFramePixels}`);
    }
    const sar = parseRatio(video.sampleAspectRatio) ?? 1;
    if (sar > limits.maxSampleAspectRatio || sar < 1 / limits.maxSampleAspectRatio) {
      refuse(`${name} declares a pixel aspect ratio of ${video.sampleAspectRatio}, outside the limit of 1:${limits.maxSampleAspectRatio} to ${limits.maxSampleAspectRatio}:1`);
    }
    const dar = (width * sar) / height;
    if (dar > limits.maxDisplayAspectRatio || dar < 1 / limits.maxDisplayAspectRatio) {
      refuse(`${name} displays at an aspect ratio of ${formatRatio(dar)}, outside the limit of 1:${limits.maxDisplayAspectRatio} to ${limits.maxDisplayAspectRatio}:1`);
    }
  }
  if (!video.still) {
    const fps = parseRatio(video.avgFrameRate);
    if (fps !== null && fps > limits.maxFrameRate) {
      refuse(`${name} declares ${Math.round(fps)} frames per second, more than the limit of ${limits.maxFrameRate}`);
    }
  }
  if (video.frameCount !== null && video.frameCount > limits.maxFrameCount) {
    refuse(`${name} declares ${video.frameCount} frames, more than the limit of ${limits.maxFrameCount}`);
  }
}

function formatRatio(ratio: number): string {
  return ratio >= 1 ? `${ratio.toPrecision(3)}:1` : `1:${(1 / ratio).toPrecision(3)}`;
}
