/**
 * How the thumbnail stage splits its frames over ffmpeg processes (pure arithmetic, exported for tests).
 *
 * Starting a process costs more than decoding one frame (Debian's ffmpeg loads ~200 shared libraries: about 0.1 s
 * of CPU before it reads a byte), so frames share processes: one process per {@link MIN_FRAMES_PER_PROCESS} frames
 * at most, never more processes than `parallelism`, and never more frames in one process than fit its memory limit
 * ({@link framesPerProcess}). A short 360p clip's 3 frames are one process; a 10-minute 720p video's 31 frames are
 * five processes of 7 or 6 (resident memory), two at a time on two cores.
 */

/** Frames per ffmpeg process at most: each input keeps a demuxer and a decoder open until the process ends. */
export const MAX_FRAMES_PER_PROCESS = 16;
/** Below this many frames a second process costs more (its start) than it saves (decoding in parallel). */
export const MIN_FRAMES_PER_PROCESS = 4;

const MiB = 1024 * 1024;

/**
 * Resident memory one thumbnail ffmpeg may reach, so that no process of a sync (the engine's own ~90 MiB included)
 * passes 120 MiB. Measured with Debian's ffmpeg 5.1 on 720p H.264, one single-threaded decoder per input: about
 * 55 MiB for the process and 8.4 MiB per input (4 inputs 89 MiB, 8 inputs 122 MiB, 16 inputs 189 MiB).
 */
export const PROCESS_RSS_BUDGET = 115 * MiB;
const RSS_BASE = 55 * MiB;

/**
 * Frames one process may extract: each input keeps its own single-threaded decoder. Two bounds apply, the smaller
 * wins: the address-space limit (`memoryBytes`, what prlimit enforces), estimated at 16 YUV 4:2:0 frames per input
 * (H.264's largest reference list) plus 24 MiB for the demuxer, filter and encoder and 160 MiB for the process; and
 * {@link PROCESS_RSS_BUDGET}, estimated at 5 resident frames plus 1.8 MiB per input. Unknown sizes are planned as
 * 1920x1080.
 */
export function framesPerProcess(frameSize: { width: number; height: number } | null, memoryBytes: number): number {
  const { width, height } = frameSize ?? { width: 1920, height: 1080 };
  const frameBytes = width * height * 1.5;
  const byAddressSpace = Math.floor((memoryBytes - 160 * MiB) / (frameBytes * 16 + 24 * MiB));
  const byResident = Math.floor((PROCESS_RSS_BUDGET - RSS_BASE) / (frameBytes * 5 + 1.8 * MiB));
  return Math.max(1, Math.min(MAX_FRAMES_PER_PROCESS, byAddressSpace, byResident));
}

/**
 * Splits `items` into batches of near-equal size, one ffmpeg process each: as few processes as the memory limit
 * (`perProcess`) allows, more (up to `parallelism`) only when each still gets {@link MIN_FRAMES_PER_PROCESS} frames.
 */
export function frameBatches<T>(items: readonly T[], parallelism: number, perProcess: number): T[][] {
  if (items.length === 0) return [];
  const byMemory = Math.ceil(items.length / Math.max(1, perProcess));
  const byCpu = Math.min(Math.max(1, parallelism), Math.floor(items.length / MIN_FRAMES_PER_PROCESS));
  const processes = Math.min(items.length, Math.max(1, byMemory, byCpu));
  const batches: T[][] = [];
  let start = 0;
  for (let i = 0; i < processes; i++) {
    // The first (length % processes) batches take one more: 31 over 2 is 16 + 15.
    const size = Math.floor(items.length / processes) + (i < items.length % processes ? 1 : 0);
    batches.push(items.slice(start, start + size));
    start += size;
  }
  return batches;
}

/** Clamps into [0, duration - margin], the margin being 0.5 s (or 10% of a very short media). */
export function clampTime(seconds: number, duration: number | null | undefined): number {
  const t = Math.max(0, seconds);
  if (!duration || !(duration > 0)) return t;
  return Math.min(t, Math.max(0, duration - Math.min(0.5, duration * 0.1)));
}
