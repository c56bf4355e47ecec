/** Where a media's thumbnails are taken: uniform segments and the default thumbnail's time (pure arithmetic). */

/** One uniform segment of a media and the time its thumbnail is taken at. */
export interface PlannedSegment {
  /** 0-based. */
  index: number;
  start: number;
  /** Exclusive, except for the last segment, which ends at the duration. */
  end: number;
  /** The middle of the segment (of the short last one too): always inside it, never at or past `end`. */
  thumbnailTime: number;
}

/**
 * Splits a media into uniform segments of `segmentSeconds`: 45 s by 20 s gives [0,20), [20,40), [40,45].
 * Returns [] for an unknown, zero or non-finite duration.
 */
export function planSegments(durationSeconds: number, segmentSeconds: number): PlannedSegment[] {
  if (!(durationSeconds > 0) || !Number.isFinite(durationSeconds) || !(segmentSeconds > 0)) return [];
  // The tolerance keeps 40.0000001 s (float noise) from making a last segment of nothing.
  const count = Math.max(1, Math.ceil(durationSeconds / segmentSeconds - 1e-6));
  const segments: PlannedSegment[] = [];
  for (let index = 0; index < count; index++) {
    const start = index * segmentSeconds;
    const end = index === count - 1 ? durationSeconds : start + segmentSeconds;
    const middle = Math.round(((start + end) / 2) * 1000) / 1000;
    segments.push({ index, start, end, thumbnailTime: middle < end ? middle : start + (end - start) / 2 });
  }
  return segments;
}

/**
 * Time of a media's default thumbnail: 10% in, at least 1 s (past fade-ins and black first frames), at most 5 s,
 * and always before the end (the middle of a media shorter than that).
 */
export function defaultThumbnailTime(durationSeconds: number): number {
  if (!(durationSeconds > 0) || !Number.isFinite(durationSeconds)) return 0;
  const t = Math.min(5, Math.max(1, durationSeconds * 0.1));
  return t < durationSeconds * 0.9 ? t : durationSeconds / 2;
}
