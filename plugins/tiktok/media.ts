/**
 * Media selection for a TikTok post: which of the URLs in `itemStruct.video` to download, in preference order.
 * Pure. See shared/reference/sources.md, "Media selection".
 *
 * Order (best first):
 * 1. `bitrateInfo[]` H.264 renditions, largest first (by `DataSize`, then `Width*Height`, then `Bitrate`);
 * 2. `playAddr` (unwatermarked; a string or a list of `{src}`);
 * 3. `bitrateInfo[]` `bytevc1` (H.265) renditions, largest first — unwatermarked and decodable by ffmpeg, but
 *    less widely playable than H.264, so only when neither of the above exists;
 * 4. `downloadAddr` (watermarked; last resort).
 * `bytevc2` and unknown codecs are never used. Every rendition's `UrlList` mirrors are kept in their order.
 * A URL is used only when it is an absolute `https:` URL on a host other than `www.tiktok.com` (TikTok sometimes
 * lists its own page/API host, which serves HTML, not media). Duplicates are dropped.
 */
import { asList, asNumber, asObject, asString, pick } from './json.js';
import type { JsonObject } from './json.js';

/** Where a candidate URL came from. */
export type TikTokMediaKind = 'h264' | 'play_addr' | 'h265' | 'download_addr';

/** One media URL the download may use. */
export interface TikTokMediaCandidate {
  url: string;
  kind: TikTokMediaKind;
  /** True only for `downloadAddr` (TikTok burns its logo and the author's name into it). */
  watermarked: boolean;
  /** Rendition facts from `bitrateInfo`, when known. */
  width?: number;
  height?: number;
  dataSize?: number;
}

/** How a `bitrateInfo` codec string is treated. */
type CodecClass = 'h264' | 'h265' | 'unplayable';

/**
 * Classifies `CodecType`: `h264`/`avc*` (and a missing codec, as in layouts before H.265 existed) is H.264,
 * `bytevc1`/`h265`/`hevc` is H.265, `bytevc2` and anything unknown is not playable.
 */
export function classifyCodec(codec: string | undefined): CodecClass {
  const c = (codec ?? '').toLowerCase();
  if (c.includes('bytevc2')) return 'unplayable';
  if (c.includes('bytevc1') || c.includes('h265') || c.includes('hevc')) return 'h265';
  if (c === '' || c.includes('h264') || c.includes('avc')) return 'h264';
  return 'unplayable';
}

/** True for an absolute https URL whose host is not `www.tiktok.com`. */
export function isUsableMediaUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.trim() === '') return false;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return false;
  }
  if (url.protocol !== 'https:') return false;
  return url.hostname.toLowerCase().replace(/\.$/, '') !== 'www.tiktok.com';
}

/** URLs of an address field: a string, a list of strings, a list of `{src}`/`{url}`, or `{UrlList|urlList}`. */
function addressUrls(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  const object = asObject(value);
  if (object) return addressUrls(pick(object, 'UrlList', 'urlList', 'url_list', 'src', 'url'));
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry) => addressUrls(entry));
}

interface Rendition {
  codec: CodecClass;
  urls: string[];
  width: number | undefined;
  height: number | undefined;
  dataSize: number | undefined;
  bitrate: number | undefined;
}

function readRendition(entry: JsonObject): Rendition {
  const play = asObject(pick(entry, 'PlayAddr', 'playAddr'));
  return {
    codec: classifyCodec(asString(pick(entry, 'CodecType', 'codecType'))),
    urls: addressUrls(pick(play, 'UrlList', 'urlList', 'url_list')),
    width: asNumber(pick(play, 'Width', 'width')),
    height: asNumber(pick(play, 'Height', 'height')),
    dataSize: asNumber(pick(play, 'DataSize', 'dataSize')),
    bitrate: asNumber(pick(entry, 'Bitrate', 'bitrate')),
  };
}

/** Larger first: by data size, then pixel area, then bitrate (missing values count as 0). */
function compareRenditions(a: Rendition, b: Rendition): number {
  const area = (r: Rendition): number => (r.width ?? 0) * (r.height ?? 0);
  return (b.dataSize ?? 0) - (a.dataSize ?? 0) || area(b) - area(a) || (b.bitrate ?? 0) - (a.bitrate ?? 0);
}

function renditionCandidates(renditions: Rendition[], codec: 'h264' | 'h265'): TikTokMediaCandidate[] {
  return renditions
    .filter((r) => r.codec === codec)
    .sort(compareRenditions)
    .flatMap((r) =>
      r.urls.map((url) => {
        const candidate: TikTokMediaCandidate = { url, kind: codec, watermarked: false };
        if (r.width !== undefined) candidate.width = r.width;
        if (r.height !== undefined) candidate.height = r.height;
        if (r.dataSize !== undefined) candidate.dataSize = r.dataSize;
        return candidate;
      }),
    );
}

/**
 * Every usable media URL of `itemStruct.video`, best first (see the module comment for the order).
 * An empty list means the post has no video stream (a photo/slideshow post, or nothing TikTok lets us play).
 */
export function selectTikTokMedia(video: unknown): TikTokMediaCandidate[] {
  const object = asObject(video);
  if (!object) return [];
  const renditions = asList(pick(object, 'bitrateInfo', 'BitrateInfo'))
    .map(asObject)
    .filter((entry): entry is JsonObject => entry !== undefined)
    .map(readRendition);
  const all: TikTokMediaCandidate[] = [
    ...renditionCandidates(renditions, 'h264'),
    ...addressUrls(object['playAddr']).map((url): TikTokMediaCandidate => ({ url, kind: 'play_addr', watermarked: false })),
    ...renditionCandidates(renditions, 'h265'),
    ...addressUrls(object['downloadAddr']).map((url): TikTokMediaCandidate => ({ url, kind: 'download_addr', watermarked: true })),
  ];
  const seen = new Set<string>();
  const usable: TikTokMediaCandidate[] = [];
  for (const candidate of all) {
    if (!isUsableMediaUrl(candidate.url)) continue;
    const url = candidate.url.trim();
    if (seen.has(url)) continue;
    seen.add(url);
    usable.push({ ...candidate, url });
  }
  return usable;
}
