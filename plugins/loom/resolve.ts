/**
 * Network half of the Loom plugin: asks Loom for the media URL (`transcoded-url`, then `raw-url`) and, best
 * effort and in parallel, for metadata (GraphQL `GetVideoSSR`, then oEmbed). Every call goes through `ctx.http`;
 * the mapping of the answers lives in ./adapter.ts.
 */
import { IngestError, isIngestError, parseRetryAfter } from '../../src/plugin-api.js';
import type { HttpResponse, ResolveContext, ResolvedSource } from '../../src/plugin-api.js';
import {
  LOOM_MEDIA_REQUEST_BODY,
  classifyLoomMediaUrl,
  decideLoomMedia,
  getVideoSsrBody,
  loomFilename,
  loomSourceMetadata,
  parseGetVideoSsr,
  parseJson,
  parseLoomOembed,
  parseLoomUrlAnswer,
} from './adapter.js';
import type { LoomAccess, LoomUrlAnswer, LoomVideoMetadata } from './adapter.js';
import { LOOM_GRAPHQL_URL, loomIdentity, loomMediaEndpoint, loomOembedUrl } from './urls.js';

/** Byte cap on every API answer read here (they are small JSON documents). */
const API_BODY_LIMIT = 1024 * 1024;

/** Metadata is best effort: a slow GraphQL/oEmbed answer must not hold the sync up longer than this. */
const METADATA_TIMEOUT_MS = 10_000;

/** Resolves a Loom video id to a download request for its MP4/WebM file, with provenance. */
export async function resolveLoom(id: string, ctx: ResolveContext): Promise<ResolvedSource> {
  const [answers, info] = await Promise.all([askMediaUrl(id, ctx), fetchLoomMetadata(id, ctx)]);
  if (info?.access === 'private') {
    throw new IngestError('source_forbidden', `Loom video ${id} is private: its owner has not shared it publicly`);
  }
  if (info?.access === 'password') {
    throw new IngestError('source_forbidden', `Loom video ${id} is password-protected; password-protected videos are not supported`);
  }
  const media = decideLoomMedia(answers);
  const metadata = info?.metadata;
  return {
    identity: loomIdentity(id),
    // The signed CDN URL carries its own authorisation: no cookies, no referer.
    download: { url: media.url, method: 'GET', headers: { 'User-Agent': ctx.userAgent } },
    filename: loomFilename(id, metadata?.title, media.extension),
    sourceMetadata: { ...loomSourceMetadata(id, metadata) },
  };
}

/** `transcoded-url` first; `raw-url` only when that gave no direct MP4/WebM URL. */
async function askMediaUrl(id: string, ctx: ResolveContext): Promise<LoomUrlAnswer[]> {
  const transcoded = await askOne(loomMediaEndpoint(id, 'transcoded-url'), ctx);
  if (transcoded.kind === 'url' && classifyLoomMediaUrl(transcoded.url).kind === 'direct') return [transcoded];
  ctx.logger.debug({ plugin: 'loom', id, answer: transcoded.kind }, 'transcoded-url gave no direct media URL; trying raw-url');
  const raw = await askOne(loomMediaEndpoint(id, 'raw-url'), ctx);
  return [transcoded, raw];
}

async function askOne(endpoint: string, ctx: ResolveContext): Promise<LoomUrlAnswer> {
  try {
    const response = await postJson(endpoint, LOOM_MEDIA_REQUEST_BODY, ctx);
    const ok = response.status >= 200 && response.status < 300;
    const body = ok ? await response.text(API_BODY_LIMIT) : await discard(response);
    return parseLoomUrlAnswer(response.status, body, parseRetryAfter(response.header('retry-after')));
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    if (isIngestError(error) && error.code === 'source_not_found') return { kind: 'not_found', status: 404 };
    if (isIngestError(error) && error.code === 'source_forbidden') return { kind: 'forbidden', status: 403 };
    const wrapped = isIngestError(error)
      ? error
      : new IngestError('upstream_error', `Loom request failed: POST ${endpoint}`, { cause: error });
    return { kind: 'failed', error: wrapped };
  }
}

/**
 * Best-effort metadata: GraphQL `GetVideoSSR`, then oEmbed. Never throws; undefined when both fail.
 * Its `access` is only known from GraphQL (oEmbed answers are always `ok`).
 */
export async function fetchLoomMetadata(
  id: string,
  ctx: ResolveContext,
): Promise<{ access: LoomAccess; metadata: LoomVideoMetadata } | undefined> {
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(METADATA_TIMEOUT_MS)]);
  try {
    const response = await postJson(LOOM_GRAPHQL_URL, getVideoSsrBody(id), ctx, signal);
    if (response.status >= 200 && response.status < 300) {
      const parsed = parseGetVideoSsr(parseJson(await response.text(API_BODY_LIMIT)));
      if (parsed) return parsed;
    } else {
      await discard(response);
    }
  } catch (error) {
    ctx.logger.debug({ plugin: 'loom', id, err: error }, 'GetVideoSSR failed; trying oEmbed');
  }
  try {
    const response = await ctx.http.request(loomOembedUrl(id), {
      headers: { Accept: 'application/json', 'User-Agent': ctx.userAgent },
      signal,
      maxBytes: API_BODY_LIMIT,
    });
    if (response.status < 200 || response.status >= 300) {
      await discard(response);
      return undefined;
    }
    const metadata = parseLoomOembed(parseJson(await response.text(API_BODY_LIMIT)));
    return metadata ? { access: 'ok', metadata } : undefined;
  } catch (error) {
    ctx.logger.debug({ plugin: 'loom', id, err: error }, 'Loom oEmbed failed; syncing without metadata');
    return undefined;
  }
}

function postJson(url: string, body: string, ctx: ResolveContext, signal: AbortSignal = ctx.signal): Promise<HttpResponse> {
  return ctx.http.request(url, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': ctx.userAgent },
    signal,
    maxBytes: API_BODY_LIMIT,
  });
}

async function discard(response: HttpResponse): Promise<string> {
  await response.dump().catch(() => undefined);
  return '';
}

