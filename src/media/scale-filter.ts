/**
 * The one filter graph the thumbnail stage runs: fit the frame, at its display aspect ratio, into a bounded box.
 *
 * Whatever the file declares — sample aspect ratio (SAR), display aspect ratio, rotation (ffmpeg's autorotate
 * turns the frame before this filter, swapping the SAR with it) — the output is at most `width` × `maxHeight`
 * and at least 2 × 2, with even sides and square pixels. The scale is computed in one step from the coded size and
 * the SAR (no intermediate "SAR-corrected" frame that an absurd SAR could blow up), so a 64x136 frame at SAR 1:255
 * becomes a 2x…-pixel sliver inside the box instead of a 640x346,800 frame. No caller string reaches the graph:
 * only the two validated integers.
 */

/** The box every thumbnail fits in. */
export interface ThumbnailBox {
  /** Width of a thumbnail whose display aspect ratio fits the box (the usual case); the upper bound otherwise. */
  width: number;
  /** Upper bound of the height (portrait and very tall media are fitted by height, narrower than `width`). */
  maxHeight: number;
}

/** The `-vf` value for a box. Throws a RangeError for sizes that are not integers in [2, 16384]. */
export function boxScaleFilter(box: ThumbnailBox): string {
  for (const side of [box.width, box.maxHeight]) {
    if (!Number.isInteger(side) || side < 2 || side > 16384) throw new RangeError(`invalid thumbnail box side ${side}`);
  }
  const W = box.width;
  const H = box.maxHeight;
  // f: the factor that fits the display size (iw*sar × ih) into W × H; sar is 1 when the stream declares none.
  const f = `min(${W}/(iw*sar),${H}/ih)`;
  const w = `max(2,min(${W - (W % 2)},round(iw*sar*${f}/2)*2))`;
  const h = `max(2,min(${H - (H % 2)},round(ih*${f}/2)*2))`;
  // Commas inside the expressions are escaped for the filter-graph parser.
  const escape = (expr: string): string => expr.replace(/,/g, '\\,');
  return `scale=w=${escape(w)}:h=${escape(h)},setsar=1`;
}

/** The size {@link boxScaleFilter} produces for a display size, in JavaScript (tests, planning). */
export function boxedSize(displayWidth: number, displayHeight: number, box: ThumbnailBox): { width: number; height: number } {
  const f = Math.min(box.width / displayWidth, box.maxHeight / displayHeight);
  const even = (n: number, cap: number): number => Math.max(2, Math.min(cap - (cap % 2), Math.round((n * f) / 2) * 2));
  return { width: even(displayWidth, box.width), height: even(displayHeight, box.maxHeight) };
}
