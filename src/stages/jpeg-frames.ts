/**
 * The JPEG frames ffmpeg writes for the thumbnail stage: its quality scale, and the checks before one is placed
 * (a frame was written, it is a JPEG, it fits the thumbnail box).
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { IngestError } from '../errors.js';

/** How ffmpeg writes a frame: a lossless PNG that sharp encodes, or the final JPEG in the same step. */
export type FrameOutput = { kind: 'png' } | { kind: 'jpeg'; quality: number };

/** True when ffmpeg wrote a frame there (the raw JPEG muxer leaves an empty file when no frame could be decoded). */
export function hasFrame(file: string): boolean {
  try {
    return statSync(file).size > 0;
  } catch {
    return false;
  }
}

/**
 * ffmpeg's JPEG scale (`-q:v`, 2 best … 31 worst) for a 1-100 quality: 100 → 2, 80 → 5, 50 → 9, 1 → 16 (beyond that
 * the images are only artefacts). An approximation of the libjpeg quality scale sharp uses.
 */
export function jpegQscale(quality: number): number {
  return Math.max(2, Math.min(31, Math.round(2 + ((100 - quality) * 14) / 99)));
}

/** Width and height from a baseline or progressive JPEG's SOF segment; undefined when there is none. */
export function jpegSize(data: Buffer): { width: number; height: number } | undefined {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 9 < data.length) {
    if (data[at] !== 0xff) return undefined;
    const marker = data[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    const length = data.readUInt16BE(at + 2);
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: data.readUInt16BE(at + 5), width: data.readUInt16BE(at + 7) };
    }
    if (marker === 0xda) return undefined;
    at += 2 + length;
  }
  return undefined;
}

/** Reads a JPEG ffmpeg wrote and checks it is one and fits the box (as sharp's pixel limit did); its size and bytes. */
export async function checkedJpeg(
  file: string, time: number, box: { width: number; maxHeight: number },
): Promise<{ width: number; height: number; bytes: number }> {
  const data = await readFile(file);
  const size = jpegSize(data);
  if (!size) throw new IngestError('media_corrupt', `ffmpeg wrote no readable JPEG near ${time.toFixed(2)} s`);
  if (size.width > box.width || size.height > box.maxHeight) {
    throw new IngestError('media_limits_exceeded', `the extracted frame (${size.width}x${size.height}) is larger than the thumbnail box`);
  }
  return { ...size, bytes: data.length };
}
