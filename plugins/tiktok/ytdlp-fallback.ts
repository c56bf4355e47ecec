/**
 * The TikTok plugin's default fallback for an unreadable post page (bot challenge, no embedded data, a layout the
 * native parser does not know): ask yt-dlp (`ctx.ytDlp`, offered by the engine when a binary is configured or on
 * PATH) for the post, then let the engine download the media URL it reports with yt-dlp's headers and cookies
 * (its page session's `tt_chain_token`) through the guarded client. yt-dlp's own requests pass the engine's
 * guarded proxy. When yt-dlp is absent or fails too, the page error stands (a refused address excepted: that is
 * reported as such).
 */
import { isIngestError } from '../../src/plugin-api.js';
import type { ResolveContext, ResolvedSource } from '../../src/plugin-api.js';
import { asNumber, asString } from './json.js';
import { isUsableMediaUrl } from './media.js';
import { tiktokFilename, unixSecondsToIso } from './metadata.js';
import type { TikTokSourceMetadata } from './metadata.js';
import type { TikTokUnreadablePageFallback } from './resolve.js';
import { TIKTOK_REFERER } from './resolve.js';
import { tiktokIdentity } from './urls.js';

/** `source_metadata` of a post read through yt-dlp: the usual TikTok fields plus where they came from. */
export interface TikTokYtDlpSourceMetadata extends TikTokSourceMetadata {
  /** Always `yt-dlp` (the native page parser leaves this out). */
  extracted_by: 'yt-dlp';
}

function positive(value: unknown): number | null {
  const n = asNumber(value);
  return n !== undefined && n > 0 ? n : null;
}

/**
 * Maps yt-dlp's info JSON for a TikTok post (`uploader` = @handle, `creator` = nickname, `uploader_id`,
 * `description`, `timestamp`, `duration`, `width`/`height`, `thumbnail`, `track`, `view_count`) to provenance.
 * Pure.
 */
export function tiktokMetadataFromYtDlp(info: Record<string, unknown>, id: string): TikTokYtDlpSourceMetadata {
  const thumbnail = asString(info['thumbnail']);
  return {
    source_type: 'tiktok',
    id,
    author_unique_id: asString(info['uploader']) ?? null,
    author_nickname: asString(info['creator']) ?? asString(info['channel']) ?? null,
    author_id: asString(info['uploader_id']) ?? null,
    description: asString(info['description']) ?? asString(info['title']) ?? null,
    create_time: unixSecondsToIso(info['timestamp']),
    duration_seconds: positive(info['duration']),
    width: positive(info['width']),
    height: positive(info['height']),
    cover_url: thumbnail !== undefined && /^https?:\/\//i.test(thumbnail) ? thumbnail : null,
    music_title: asString(info['track']) ?? null,
    play_count: asNumber(info['view_count']) ?? null,
    extracted_by: 'yt-dlp',
  };
}

/**
 * The yt-dlp fallback hook (see `TikTokPluginOptions.ytDlpFallback`). Returns undefined, keeping the page error,
 * when the engine offers no yt-dlp, when yt-dlp fails, reports another post or a media URL on `www.tiktok.com`.
 */
export const tiktokYtDlpFallback: TikTokUnreadablePageFallback = async (request, ctx: ResolveContext) => {
  if (!ctx.ytDlp) return undefined;
  const { id, pageUrl } = request;
  let extraction;
  try {
    extraction = await ctx.ytDlp.extract(pageUrl, { signal: ctx.signal });
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    // A refused address is a security outcome worth reporting as such; anything else keeps the page's error.
    if (isIngestError(error) && (error.code === 'blocked_address' || error.code === 'youtube_not_supported')) throw error;
    ctx.logger.warn({ plugin: 'tiktok', id, err: error instanceof Error ? error.message : String(error) }, 'yt-dlp fallback failed too');
    return undefined;
  }
  const reportedId = asString(extraction.info['id']);
  if (reportedId !== undefined && reportedId !== id) {
    ctx.logger.warn({ plugin: 'tiktok', id, reportedId }, 'yt-dlp reported another post; ignoring it');
    return undefined;
  }
  const { download } = extraction;
  if (!isUsableMediaUrl(download.url)) {
    ctx.logger.warn({ plugin: 'tiktok', id }, 'yt-dlp reported no usable https media URL');
    return undefined;
  }
  const headers: Record<string, string> = { Referer: TIKTOK_REFERER, 'User-Agent': ctx.userAgent };
  // yt-dlp's own headers win: its cookies were issued to its session, under its User-Agent.
  for (const [name, value] of Object.entries(download.headers ?? {})) {
    for (const key of Object.keys(headers)) if (key.toLowerCase() === name.toLowerCase()) delete headers[key];
    headers[name] = value;
  }
  const metadata = tiktokMetadataFromYtDlp(extraction.info, id);
  ctx.logger.info({ plugin: 'tiktok', id, extractor: extraction.extractor }, 'resolved TikTok post through yt-dlp');
  const resolved: ResolvedSource = {
    identity: tiktokIdentity(id),
    download: { url: download.url, method: 'GET', headers, ...(download.cookieJar ? { cookieJar: download.cookieJar } : {}) },
    filename: tiktokFilename(id, metadata.description),
    sourceMetadata: { ...metadata },
  };
  return resolved;
};
