/**
 * The network half of the TikTok plugin: short-link expansion and the post-page fetch, both through the guarded
 * client (`ctx.http`) with the resolution's cookie jar. Everything it reads is mapped by the pure adapter.
 */
import { IngestError, parseRetryAfter } from '../../src/plugin-api.js';
import type { HttpResponse, ResolveContext, ResolvedSource } from '../../src/plugin-api.js';
import { isTikTokPageUnreadable, parseTikTokPage, TikTokPageUnreadable } from './adapter.js';
import {
  isTikTokHomePage,
  isTikTokHost,
  isTikTokLoginPage,
  parseTikTokUrl,
  tiktokIdentity,
  tiktokPageUrl,
} from './urls.js';
import type { TikTokPostLink } from './urls.js';

/**
 * A fallback extractor tried when the page cannot be read (see `TikTokPageUnreadable`), e.g. yt-dlp.
 * Return a resolution, or undefined to let the original error stand.
 */
export type TikTokUnreadablePageFallback = (
  request: { url: URL; id: string; pageUrl: string; error: IngestError },
  ctx: ResolveContext,
) => Promise<ResolvedSource | undefined>;

/** Resolver settings (the plugin options with their defaults applied). */
export interface TikTokResolveSettings {
  acceptLanguage: string;
  allowWatermarked: boolean;
  maxShortLinkHops: number;
  unreadablePageFallback: TikTokUnreadablePageFallback | undefined;
}

/** The `Referer` TikTok's media CDN requires (it answers 403 without it). */
export const TIKTOK_REFERER = 'https://www.tiktok.com/';
/** Byte limit on a post page (real pages are well under 1 MiB). */
const PAGE_LIMIT_BYTES = 8 * 1024 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Maps an unexpected HTTP status to an IngestError (403/429 are TikTok's blocks, marked as an unreadable page). */
function statusError(response: HttpResponse, what: string): IngestError {
  const { status } = response;
  if (status === 404 || status === 410) return new IngestError('source_not_found', `${what} answered ${status}: the post does not exist`);
  if (status === 403 || status === 429) {
    const message = `${what} answered ${status}: TikTok is blocking or rate-limiting automated access`;
    const seconds = parseRetryAfter(response.header('retry-after'));
    const options = { cause: new TikTokPageUnreadable('http_blocked', message), ...(seconds === undefined ? {} : { retryAfterSeconds: seconds }) };
    return new IngestError('upstream_blocked', message, options);
  }
  return new IngestError('upstream_error', `${what} answered an unexpected HTTP ${status}`);
}

/** Headers a desktop browser sends when navigating to a page. */
function pageHeaders(ctx: ResolveContext, settings: TikTokResolveSettings): Record<string, string> {
  return {
    'User-Agent': ctx.userAgent,
    Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'Accept-Language': settings.acceptLanguage,
  };
}

/**
 * Expands a short link hop by hop (redirects not followed automatically, so nothing outside TikTok is ever
 * requested): a redirect to a post URL gives the post, to another short link is followed (up to
 * `maxShortLinkHops`), to `/login` is `source_forbidden`, to the home page or anything else is a dead link
 * (`source_not_found`).
 */
export async function expandShortLink(shortUrl: string, ctx: ResolveContext, settings: TikTokResolveSettings): Promise<TikTokPostLink> {
  let current = shortUrl;
  for (let hop = 0; hop < settings.maxShortLinkHops; hop++) {
    const response = await ctx.http.request(current, {
      headers: pageHeaders(ctx, settings),
      cookieJar: ctx.cookies,
      followRedirects: false,
      signal: ctx.signal,
    });
    const location = response.header('location');
    await response.dump();
    if (!REDIRECT_STATUSES.has(response.status) || location === undefined || location.trim() === '') {
      if (response.status >= 200 && response.status < 300) {
        throw new IngestError('upstream_error', `TikTok short link ${current} answered ${response.status} without redirecting to a post`);
      }
      throw statusError(response, `TikTok short link ${current}`);
    }
    let target: URL;
    try {
      target = new URL(location.trim(), current);
    } catch (error) {
      throw new IngestError('upstream_error', `TikTok short link ${current} redirected to an invalid URL`, { cause: error });
    }
    const link = parseTikTokUrl(target);
    ctx.logger.debug({ plugin: 'tiktok', from: current, to: `${target.origin}${target.pathname}` }, 'expanded TikTok short link');
    if (link?.kind === 'video') return link;
    if (link?.kind === 'short') {
      current = link.url;
      continue;
    }
    if (isTikTokLoginPage(target)) throw new IngestError('source_forbidden', `TikTok short link ${shortUrl} requires a login`);
    if (isTikTokHomePage(target)) throw new IngestError('source_not_found', `TikTok short link ${shortUrl} is dead (it redirects to the home page)`);
    const where = isTikTokHost(target) ? `${target.origin}${target.pathname}` : 'a page outside TikTok';
    throw new IngestError('source_not_found', `TikTok short link ${shortUrl} does not point to a video (it redirects to ${where})`);
  }
  throw new IngestError('too_many_redirects', `TikTok short link ${shortUrl} chains through more than ${settings.maxShortLinkHops} short links`);
}

/** What is wrong with a post-page response before its body is read, if anything. */
function pageProblem(response: HttpResponse, pageUrl: string): IngestError | undefined {
  const final = new URL(response.url);
  if (isTikTokLoginPage(final)) {
    return new IngestError('source_forbidden', `TikTok page ${pageUrl} redirects to the login page: the post requires a login`);
  }
  if (response.redirects.length > 0 && isTikTokHomePage(final)) {
    return new IngestError('source_not_found', `TikTok page ${pageUrl} redirects to the home page: the post does not exist`);
  }
  if (response.status < 200 || response.status >= 300) return statusError(response, `TikTok page ${pageUrl}`);
  if (!isTikTokHost(final)) return new IngestError('upstream_error', `TikTok page ${pageUrl} redirected outside TikTok (${final.origin})`);
  return undefined;
}

/** Fetches a post page and returns its HTML; HTTP-level outcomes (login wall, 404, blocks) become IngestErrors. */
export async function fetchPostPage(pageUrl: string, ctx: ResolveContext, settings: TikTokResolveSettings): Promise<string> {
  const response = await ctx.http.request(pageUrl, {
    headers: pageHeaders(ctx, settings),
    cookieJar: ctx.cookies,
    followRedirects: true,
    maxRedirects: 5,
    signal: ctx.signal,
  });
  const problem = pageProblem(response, pageUrl);
  if (problem) {
    await response.dump();
    throw problem;
  }
  return response.text(PAGE_LIMIT_BYTES);
}

/** Resolves a TikTok URL (post or short link) to the download of its best media URL. */
export async function resolveTikTok(url: URL, ctx: ResolveContext, settings: TikTokResolveSettings): Promise<ResolvedSource> {
  const parsed = parseTikTokUrl(url);
  if (!parsed) throw new IngestError('invalid_url', `Not a TikTok video link: ${url.origin}${url.pathname}`);
  const link = parsed.kind === 'short' ? await expandShortLink(parsed.url, ctx, settings) : parsed;
  const pageUrl = tiktokPageUrl(link.id, link.user);
  try {
    return await resolvePost(link.id, pageUrl, ctx, settings);
  } catch (error) {
    const fallback = settings.unreadablePageFallback;
    if (!fallback || !(error instanceof IngestError) || !isTikTokPageUnreadable(error)) throw error;
    ctx.logger.info({ plugin: 'tiktok', id: link.id, reason: error.message }, 'TikTok page unreadable; trying the fallback extractor');
    const resolved = await fallback({ url, id: link.id, pageUrl, error }, ctx);
    if (resolved === undefined) throw error;
    return resolved;
  }
}

async function resolvePost(id: string, pageUrl: string, ctx: ResolveContext, settings: TikTokResolveSettings): Promise<ResolvedSource> {
  const html = await fetchPostPage(pageUrl, ctx, settings);
  const result = parseTikTokPage(html, id);
  if (!result.ok) throw result.error;
  const { post } = result;
  const best = post.candidates.find((candidate) => settings.allowWatermarked || !candidate.watermarked);
  if (!best) {
    throw new IngestError('unsupported_media_type', `TikTok post ${id} offers only a watermarked download, and watermarked downloads are disabled`);
  }
  ctx.logger.debug(
    { plugin: 'tiktok', id, layout: post.layout, kind: best.kind, candidates: post.candidates.length },
    'resolved TikTok post to a media URL',
  );
  return {
    identity: tiktokIdentity(id),
    download: {
      url: best.url,
      method: 'GET',
      headers: { Referer: TIKTOK_REFERER, 'User-Agent': ctx.userAgent },
      cookieJar: ctx.cookies,
    },
    filename: post.filename,
    sourceMetadata: { ...post.metadata },
  };
}
