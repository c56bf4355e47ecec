/**
 * Pure mapping of a TikTok post page (HTML) to the post or a typed failure. No I/O: unit-tested on the
 * recorded-shape pages in test/fixtures/. See shared/reference/sources.md, "TikTok".
 *
 * Layouts read, first usable wins:
 * - `<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__">`: `__DEFAULT_SCOPE__["webapp.video-detail"]` holds
 *   `statusCode`, `statusMsg` and `itemInfo.itemStruct`;
 * - `<script id="SIGI_STATE">`: `ItemModule[<id>]`, status in `VideoPage.statusCode`/`statusMsg`;
 * - `<script id="__NEXT_DATA__">`: `props.pageProps.itemInfo.itemStruct`, status in `props.pageProps.statusCode`.
 */
import { IngestError } from '../../src/plugin-api.js';
import type { ErrorCode } from '../../src/plugin-api.js';
import { asNumber, asObject, asString, dig, parseJson } from './json.js';
import type { JsonObject } from './json.js';
import { selectTikTokMedia } from './media.js';
import type { TikTokMediaCandidate } from './media.js';
import { tiktokFilename, tiktokSourceMetadata } from './metadata.js';
import type { TikTokSourceMetadata } from './metadata.js';
import { extractScriptById, looksLikeChallenge } from './scripts.js';
import { tiktokStatusFailure } from './status.js';
import type { TikTokStatusReason } from './status.js';

export { extractScriptById, looksLikeChallenge } from './scripts.js';
export { tiktokStatusFailure, TIKTOK_STATUS } from './status.js';
export type { TikTokStatusReason } from './status.js';

/** Which embedded-data layout the post was read from. */
export type TikTokPageLayout = 'universal' | 'sigi' | 'next';

/** Why a page could not be read at all (as opposed to TikTok saying the post is unavailable). */
export type TikTokUnreadableReason = 'challenge' | 'no_data' | 'invalid_json' | 'no_item' | 'id_mismatch' | 'http_blocked';

/**
 * The `cause` of every IngestError raised because the page itself could not be read (bot challenge, no embedded
 * data, broken JSON, no item; and, from the resolver, a page request answered 403/429, `http_blocked`). This is the hook for a fallback extractor (e.g. yt-dlp): retry exactly the
 * errors for which {@link isTikTokPageUnreadable} is true.
 */
export class TikTokPageUnreadable extends Error {
  override readonly name = 'TikTokPageUnreadable';
  constructor(
    readonly reason: TikTokUnreadableReason,
    message: string,
  ) {
    super(message);
  }
}

/** True when `error` is an IngestError raised because the TikTok page could not be read (see {@link TikTokPageUnreadable}). */
export function isTikTokPageUnreadable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const cause = error.cause;
  // Duck-typed too: a config loaded through jiti may carry its own copy of this module.
  return cause instanceof TikTokPageUnreadable || (cause instanceof Error && cause.name === 'TikTokPageUnreadable');
}

/** Every reason a page yields no downloadable video. */
export type TikTokFailureReason =
  | TikTokStatusReason
  | 'age_gated'
  | 'photo_post'
  | 'no_video'
  | TikTokUnreadableReason;

/** A post read from its page. */
export interface TikTokPost {
  id: string;
  layout: TikTokPageLayout;
  /** Usable media URLs, best first (never empty). */
  candidates: TikTokMediaCandidate[];
  metadata: TikTokSourceMetadata;
  filename: string;
}

/** The outcome of {@link parseTikTokPage}. */
export type TikTokPageResult =
  | { ok: true; post: TikTokPost }
  | { ok: false; reason: TikTokFailureReason; error: IngestError; layout?: TikTokPageLayout; statusCode?: number };

/** What a layout says: its status and, when present, the item. */
interface PageState {
  layout: TikTokPageLayout;
  statusCode: number;
  statusMsg: string;
  item: JsonObject | undefined;
}

const LAYOUT_SCRIPTS: ReadonlyArray<{ layout: TikTokPageLayout; scriptId: string }> = [
  { layout: 'universal', scriptId: '__UNIVERSAL_DATA_FOR_REHYDRATION__' },
  { layout: 'sigi', scriptId: 'SIGI_STATE' },
  { layout: 'next', scriptId: '__NEXT_DATA__' },
];

/** Reads one layout's JSON; undefined when it does not have that layout's structure. */
function readLayout(layout: TikTokPageLayout, data: unknown, id: string | undefined): PageState | undefined {
  let scope: JsonObject | undefined;
  let item: unknown;
  if (layout === 'universal') {
    scope = asObject(dig(data, '__DEFAULT_SCOPE__', 'webapp.video-detail'));
    item = dig(scope, 'itemInfo', 'itemStruct');
  } else if (layout === 'sigi') {
    const modules = asObject(dig(data, 'ItemModule'));
    scope = asObject(dig(data, 'VideoPage'));
    if (!modules && !scope) return undefined;
    item = id !== undefined ? modules?.[id] : Object.values(modules ?? {})[0];
    scope ??= {};
  } else {
    scope = asObject(dig(data, 'props', 'pageProps'));
    if (scope && !('itemInfo' in scope) && !('statusCode' in scope)) return undefined;
    item = dig(scope, 'itemInfo', 'itemStruct');
  }
  if (!scope) return undefined;
  return { layout, statusCode: asNumber(scope['statusCode']) ?? 0, statusMsg: asString(scope['statusMsg']) ?? '', item: asObject(item) };
}

function unreadable(reason: TikTokUnreadableReason, code: ErrorCode, message: string, layout?: TikTokPageLayout): TikTokPageResult {
  const error = new IngestError(code, message, { cause: new TikTokPageUnreadable(reason, message) });
  return layout === undefined ? { ok: false, reason, error } : { ok: false, reason, error, layout };
}

/** Finds the first layout the page carries; an unreadable-page failure when there is none. */
function readState(html: string, id: string | undefined): PageState | TikTokPageResult {
  const what = id === undefined ? 'TikTok page' : `TikTok page of post ${id}`;
  let sawScript = false;
  let sawBrokenJson = false;
  for (const { layout, scriptId } of LAYOUT_SCRIPTS) {
    const text = extractScriptById(html, scriptId);
    if (text === undefined) continue;
    sawScript = true;
    const parsed = parseJson(text.trim());
    if (!parsed) {
      sawBrokenJson = true;
      continue;
    }
    const state = readLayout(layout, parsed.value, id);
    if (state) return state;
  }
  if (sawBrokenJson) return unreadable('invalid_json', 'upstream_error', `${what}: its embedded data is not valid JSON (truncated or changed page)`);
  if (sawScript) return unreadable('no_item', 'upstream_error', `${what}: its embedded data holds no video detail (unknown page layout)`);
  if (looksLikeChallenge(html)) {
    return unreadable('challenge', 'upstream_blocked', `${what} is a bot-challenge page ("Please wait..."): TikTok is blocking automated access for now`);
  }
  return unreadable('no_data', 'upstream_blocked', `${what} carries no video data (no __UNIVERSAL_DATA_FOR_REHYDRATION__, SIGI_STATE or __NEXT_DATA__): likely a block or challenge`);
}

/**
 * Parses a post page. `expectedId` is the post id the page was fetched for: it selects the `SIGI_STATE` item
 * and guards against a page describing another post. Outcomes, in the order checked:
 * - no recognised data script → `upstream_blocked` (`challenge`/`no_data`), retryable;
 * - broken JSON, or no video detail / item while the status says ok → `upstream_error`, retryable;
 * - a non-zero `statusCode` or non-empty `statusMsg` → `source_forbidden`/`source_not_found` (see status.ts);
 * - `isContentClassified: true` → `source_forbidden` (age-gated, needs a login);
 * - `imagePost` present, or no usable video URL → `unsupported_media_type` (photo/slideshow post).
 * Every unreadable-page error carries a {@link TikTokPageUnreadable} cause.
 */
export function parseTikTokPage(html: string, expectedId?: string): TikTokPageResult {
  const state = readState(html, expectedId);
  if ('ok' in state) return state;
  const { layout } = state;
  const label = expectedId ?? asString(state.item?.['id']) ?? '(unknown id)';

  const status = tiktokStatusFailure(state.statusCode, state.statusMsg, label);
  if (status) return { ok: false, reason: status.reason, error: status.error, layout, statusCode: state.statusCode };

  const item = state.item;
  if (!item) return unreadable('no_item', 'upstream_error', `TikTok page of post ${label} reports success but holds no item`, layout);
  const id = asString(item['id']) ?? expectedId;
  if (id === undefined) return unreadable('no_item', 'upstream_error', 'TikTok page holds an item without an id', layout);
  if (expectedId !== undefined && id !== expectedId) {
    return unreadable('id_mismatch', 'upstream_error', `TikTok page of post ${expectedId} describes another post (${id})`, layout);
  }

  if (item['isContentClassified'] === true) {
    const error = new IngestError('source_forbidden', `TikTok post ${id} is age-restricted: TikTok shows it only to logged-in adults`);
    return { ok: false, reason: 'age_gated', error, layout };
  }
  const photo = asObject(item['imagePost']) !== undefined;
  const candidates = photo ? [] : selectTikTokMedia(item['video']);
  if (candidates.length === 0) {
    const why = photo ? 'is a photo/slideshow post, not a video' : 'has no playable video stream (a photo/slideshow post, not a video?)';
    const error = new IngestError('unsupported_media_type', `TikTok post ${id} ${why}`);
    return { ok: false, reason: photo ? 'photo_post' : 'no_video', error, layout };
  }

  const best = candidates[0]!;
  const fallback: { width?: number; height?: number } = {};
  if (best.width !== undefined) fallback.width = best.width;
  if (best.height !== undefined) fallback.height = best.height;
  const metadata = tiktokSourceMetadata(item, id, fallback);
  return { ok: true, post: { id, layout, candidates, metadata, filename: tiktokFilename(id, metadata.description) } };
}
