/**
 * Provenance and display filename of a TikTok post, mapped from `itemStruct` (or an older `ItemModule` entry).
 * Pure. Every field is null when the page does not carry it.
 */
import { asNumber, asObject, asString, dig, pick } from './json.js';
import type { JsonObject } from './json.js';

/** The File's `source_metadata` for a TikTok post. */
export interface TikTokSourceMetadata {
  source_type: 'tiktok';
  /** The numeric post id. */
  id: string;
  /** `author.uniqueId` (the `@handle`); older layouts give `author` as this string. */
  author_unique_id: string | null;
  /** `author.nickname` (display name); older layouts: `nickname` on the item. */
  author_nickname: string | null;
  /** `author.id` (numeric user id, as a string); older layouts: `authorId` on the item. */
  author_id: string | null;
  /** The caption (`desc`), hashtags included. */
  description: string | null;
  /** `createTime` (unix seconds, number or string) as an ISO 8601 string. */
  create_time: string | null;
  /** `video.duration` in seconds. */
  duration_seconds: number | null;
  /** `video.width`/`video.height`, else the chosen rendition's. */
  width: number | null;
  height: number | null;
  /** `video.cover`, else `video.originCover`. */
  cover_url: string | null;
  /** `music.title`. */
  music_title: string | null;
  /** `stats.playCount`, else `statsV2.playCount` (a string there). */
  play_count: number | null;
}

/** Dimensions to fall back on when `video.width/height` are missing (e.g. from the chosen rendition). */
export interface FallbackDimensions {
  width?: number;
  height?: number;
}

/** Unix seconds (number or numeric string) → ISO string; null for anything missing, zero or out of range. */
export function unixSecondsToIso(value: unknown): string | null {
  const seconds = asNumber(value);
  if (seconds === undefined || seconds <= 0) return null;
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function author(item: JsonObject): Pick<TikTokSourceMetadata, 'author_unique_id' | 'author_nickname' | 'author_id'> {
  const object = asObject(item['author']);
  if (object) {
    return {
      author_unique_id: asString(object['uniqueId']) ?? null,
      author_nickname: asString(object['nickname']) ?? null,
      author_id: asString(object['id']) ?? null,
    };
  }
  return {
    author_unique_id: asString(item['author']) ?? null,
    author_nickname: asString(item['nickname']) ?? null,
    author_id: asString(item['authorId']) ?? null,
  };
}

function positive(value: unknown): number | null {
  const n = asNumber(value);
  return n !== undefined && n > 0 ? n : null;
}

function playCount(item: JsonObject): number | null {
  const fromStats = asNumber(dig(item, 'stats', 'playCount'));
  if (fromStats !== undefined && fromStats >= 0) return fromStats;
  const fromV2 = asNumber(dig(item, 'statsV2', 'playCount'));
  return fromV2 !== undefined && fromV2 >= 0 ? fromV2 : null;
}

/** Maps a post's item to its provenance. `id` is the post id the page was fetched for. */
export function tiktokSourceMetadata(item: JsonObject, id: string, fallback: FallbackDimensions = {}): TikTokSourceMetadata {
  const video = asObject(item['video']);
  const cover = [pick(video, 'cover'), pick(video, 'originCover')].map(asString).find((u) => u !== undefined && /^https?:\/\//i.test(u));
  return {
    source_type: 'tiktok',
    id,
    ...author(item),
    description: asString(item['desc']) ?? null,
    create_time: unixSecondsToIso(item['createTime']),
    duration_seconds: positive(video?.['duration']),
    width: positive(video?.['width']) ?? fallback.width ?? null,
    height: positive(video?.['height']) ?? fallback.height ?? null,
    cover_url: cover ?? null,
    music_title: asString(dig(item, 'music', 'title')) ?? null,
    play_count: playCount(item),
  };
}

/** Longest caption prefix kept in a filename, in characters. */
const MAX_CAPTION_CHARS = 80;

/**
 * A display filename: `<caption> [<id>].mp4` with the caption cleaned (control characters, path separators and
 * characters Windows forbids removed; whitespace collapsed; leading/trailing dots dropped; cut to 80 characters on
 * a code-point boundary), or
 * `<id>.mp4` when there is no usable caption. Display only: storage never uses it as a path.
 */
export function tiktokFilename(id: string, description: string | null | undefined): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = (description ?? '').replace(/[\u0000-\u001f\u007f<>:"/\\|?*]+/g, ' ').replace(/\s+/g, ' ').trim();
  const cut = Array.from(cleaned).slice(0, MAX_CAPTION_CHARS).join('').replace(/^[.\s]+|[.\s]+$/g, '');
  return cut === '' ? `${id}.mp4` : `${cut} [${id}].mp4`;
}
