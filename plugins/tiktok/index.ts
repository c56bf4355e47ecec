/**
 * The TikTok source plugin: public video posts by page URL, embed/share URL or short link.
 *
 * Resolution fetches the post page on `www.tiktok.com` with a browser User-Agent and the resolution's cookie
 * jar, reads the embedded JSON (adapter.ts, pure) and hands the best unwatermarked H.264 URL to the download
 * stage with the `Referer`, User-Agent and cookies (`tt_chain_token`) the TikTok CDN requires.
 * Photo/slideshow posts are refused as `unsupported_media_type`; private, age- and region-gated posts as
 * `source_forbidden`; a bot challenge as `upstream_blocked` (retryable). An unreadable page is retried through
 * yt-dlp when the engine offers it (see ytdlp-fallback.ts).
 */
import { IngestError } from '../../src/plugin-api.js';
import type { ResolveContext, ResolvedSource, SourceIdentity, SourcePlugin } from '../../src/plugin-api.js';
import { resolveTikTok } from './resolve.js';
import type { TikTokResolveSettings, TikTokUnreadablePageFallback } from './resolve.js';
import { isTikTokHost, parseTikTokUrl, tiktokIdentity } from './urls.js';
import { tiktokYtDlpFallback } from './ytdlp-fallback.js';

export {
  extractScriptById,
  isTikTokPageUnreadable,
  looksLikeChallenge,
  parseTikTokPage,
  TikTokPageUnreadable,
  tiktokStatusFailure,
  TIKTOK_STATUS,
} from './adapter.js';
export type {
  TikTokFailureReason,
  TikTokPageLayout,
  TikTokPageResult,
  TikTokPost,
  TikTokStatusReason,
  TikTokUnreadableReason,
} from './adapter.js';
export { classifyCodec, isUsableMediaUrl, selectTikTokMedia } from './media.js';
export type { TikTokMediaCandidate, TikTokMediaKind } from './media.js';
export { tiktokFilename, tiktokSourceMetadata, unixSecondsToIso } from './metadata.js';
export type { TikTokSourceMetadata } from './metadata.js';
export { expandShortLink, fetchPostPage, resolveTikTok, TIKTOK_REFERER } from './resolve.js';
export type { TikTokUnreadablePageFallback } from './resolve.js';
export {
  isTikTokHost,
  parseTikTokUrl,
  tiktokCanonicalUrl,
  tiktokIdentity,
  tiktokIdentityKey,
  tiktokPageUrl,
} from './urls.js';
import { SOURCE_METADATA_SCHEMA } from './schema.js';
export type { TikTokLink, TikTokPostLink, TikTokShortLink } from './urls.js';
export { tiktokMetadataFromYtDlp, tiktokYtDlpFallback } from './ytdlp-fallback.js';
export type { TikTokYtDlpSourceMetadata } from './ytdlp-fallback.js';

/** Options of {@link tiktok}. */
export interface TikTokPluginOptions {
  /**
   * `Accept-Language` sent with page and short-link requests (it also picks the language of some metadata).
   * @default 'en-US,en;q=0.9'
   */
  acceptLanguage?: string;
  /**
   * Whether the watermarked `downloadAddr` may be used when no unwatermarked URL exists. When false such posts
   * fail with `unsupported_media_type`.
   * @default true
   */
  allowWatermarked?: boolean;
  /**
   * How many short links may chain before giving up with `too_many_redirects`.
   * @default 3
   */
  maxShortLinkHops?: number;
  /**
   * Tried when the post page cannot be read (bot challenge, no embedded data, 403/429 on the page): the hook for
   * a fallback extractor. Returning undefined keeps the original error. Replaces the yt-dlp fallback when set.
   * @default the yt-dlp fallback ({@link tiktokYtDlpFallback}) unless `ytDlpFallback` is false
   */
  unreadablePageFallback?: TikTokUnreadablePageFallback;
  /**
   * Retry an unreadable page through yt-dlp when the engine offers it (config `ytDlp`: enabled and a binary
   * configured or on PATH). The media is then downloaded by the engine with yt-dlp's headers and cookies.
   * @default true
   */
  ytDlpFallback?: boolean;
}

/** URL forms listed by `media-ingest plugins`. */
const URL_FORMS = [
  'https://www.tiktok.com/@<user>/video/<id>  (also m.tiktok.com, tiktok.com; <user> may be empty; query ignored)',
  'https://www.tiktok.com/@<user>/photo/<id>  (photo posts are refused: not a video)',
  'https://www.tiktok.com/embed/<id>, /embed/v2/<id>  (also m.tiktok.com, tiktok.com)',
  'https://www.tiktok.com/share/video/<id>, /v/<id>.html  (also m.tiktok.com, tiktok.com)',
  'https://www.tiktokv.com/share/video/<id>  (also tiktokv.com, m.tiktokv.com)',
  'https://vm.tiktok.com/<code>/, https://vt.tiktok.com/<code>/  (short links, expanded to the post)',
  'https://www.tiktok.com/t/<code>/  (short link, also m.tiktok.com, tiktok.com)',
] as const;

function refuse(url: URL): never {
  throw new IngestError(
    'invalid_url',
    `Not a TikTok video link: ${url.origin}${url.pathname} (expected /@<user>/video/<id>, /embed/<id>, /v/<id>.html or a vm./vt.tiktok.com short link)`,
  );
}

/**
 * Creates the TikTok source plugin (id `tiktok`).
 *
 * It matches every URL on `tiktok.com` (`www.`, `m.`, bare, `vm.`, `vt.`) and `tiktokv.com`, so profile, tag and
 * other non-post pages get a clear `invalid_url` instead of being fetched as plain HTTP. Media CDN hosts
 * (`*.tiktokcdn.com`, `v16-webapp-prime.tiktok.com` ...) are not matched. Identity: `tiktok:<id>`, known offline
 * for every long form and after expansion for short links; canonical URL `https://www.tiktok.com/@/video/<id>`.
 */
export function tiktok(options: TikTokPluginOptions = {}): SourcePlugin {
  const settings: TikTokResolveSettings = {
    acceptLanguage: options.acceptLanguage ?? 'en-US,en;q=0.9',
    allowWatermarked: options.allowWatermarked ?? true,
    maxShortLinkHops: Math.max(1, options.maxShortLinkHops ?? 3),
    unreadablePageFallback: options.unreadablePageFallback ?? (options.ytDlpFallback === false ? undefined : tiktokYtDlpFallback),
  };
  return {
    id: 'tiktok',
    sourceMetadataSchema: SOURCE_METADATA_SCHEMA,
    description: 'TikTok video posts (page, embed and share URLs, vm./vt. short links); photo posts are refused',
    urlForms: URL_FORMS,

    matches(url: URL): boolean {
      return isTikTokHost(url);
    },

    identify(url: URL): SourceIdentity | undefined {
      const link = parseTikTokUrl(url);
      if (!link) refuse(url);
      return link.kind === 'video' ? tiktokIdentity(link.id) : undefined;
    },

    async resolve(url: URL, ctx: ResolveContext): Promise<ResolvedSource> {
      if (!parseTikTokUrl(url)) refuse(url);
      return resolveTikTok(url, ctx, settings);
    },
  };
}
