/**
 * Pure mapping for the Loom plugin: the media-URL answers of `transcoded-url`/`raw-url`, the GraphQL `GetVideoSSR`
 * and oEmbed metadata, provenance and filename. No network here, so everything is unit-tested on recorded-shape
 * fixtures (test/fixtures/).
 */
import { IngestError, titleFilename } from '../../src/plugin-api.js';

/** The JSON body both media-URL endpoints expect. */
export const LOOM_MEDIA_REQUEST_BODY = JSON.stringify({ force_original: false, password: null, anonID: null, deviceID: null });

/** What one `POST .../transcoded-url` or `.../raw-url` call answered. */
export type LoomUrlAnswer =
  /** 2xx with a `url` string. */
  | { kind: 'url'; url: string }
  /** 2xx JSON without a usable url (`{"url":null}`): private or password-protected. */
  | { kind: 'no_url' }
  /** 2xx with an empty or non-JSON body: says nothing. */
  | { kind: 'empty' }
  | { kind: 'not_found'; status: number }
  /** Any other 4xx except 429. */
  | { kind: 'forbidden'; status: number }
  | { kind: 'rate_limited'; status: number; retryAfterSeconds?: number }
  /** 5xx (or an unexpected status). */
  | { kind: 'server'; status: number }
  /** The request itself failed (timeout, reset, blocked address): the client's error. */
  | { kind: 'failed'; error: IngestError };

/** Maps one media-URL endpoint answer (status and body text) to a {@link LoomUrlAnswer}. */
export function parseLoomUrlAnswer(status: number, body: string, retryAfterSeconds?: number): LoomUrlAnswer {
  if (status === 404 || status === 410) return { kind: 'not_found', status };
  if (status === 429) return retryAfterSeconds === undefined ? { kind: 'rate_limited', status } : { kind: 'rate_limited', status, retryAfterSeconds };
  if (status >= 400 && status < 500) return { kind: 'forbidden', status };
  if (status < 200 || status >= 300) return { kind: 'server', status };
  const json = parseJson(body);
  if (json === undefined) return { kind: 'empty' };
  const url = typeof json === 'string' ? json : isRecord(json) ? json['url'] : undefined;
  return typeof url === 'string' && url.trim() !== '' ? { kind: 'url', url: url.trim() } : { kind: 'no_url' };
}

/** What a media URL returned by Loom points at. */
export type LoomMediaUrlKind =
  | { kind: 'direct'; url: string; extension: 'mp4' | 'webm' | undefined }
  | { kind: 'manifest'; format: 'hls' | 'dash' }
  | { kind: 'insecure'; url: string };

/**
 * Classifies a media URL by its pathname extension (the signed query is ignored): `.mp4`/`.webm` → direct,
 * `.m3u8` → HLS, `.mpd` → DASH, non-https or unparseable → insecure. Other extensions are passed on as direct;
 * the engine still sniffs the first bytes (and this plugin's `checkResponse` refuses a manifest by content).
 */
export function classifyLoomMediaUrl(raw: string): LoomMediaUrlKind {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { kind: 'insecure', url: raw };
  }
  const ext = /\.([a-z0-9]+)$/i.exec(url.pathname)?.[1]?.toLowerCase();
  if (ext === 'm3u8') return { kind: 'manifest', format: 'hls' };
  if (ext === 'mpd') return { kind: 'manifest', format: 'dash' };
  if (url.protocol !== 'https:') return { kind: 'insecure', url: raw };
  // The signed URL is passed on exactly as Loom gave it: re-serialising could break its signature.
  return { kind: 'direct', url: raw, extension: ext === 'mp4' || ext === 'webm' ? ext : undefined };
}

/** The error for a streaming manifest (never handed on: ffmpeg must not fetch remote playlists). */
export function loomManifestError(format: 'hls' | 'dash'): IngestError {
  const name = format === 'hls' ? 'HLS (.m3u8)' : 'DASH (.mpd)';
  return new IngestError(
    'unsupported_media_type',
    `Loom served a streaming manifest (${name}) for this video instead of an MP4/WebM file; HLS/DASH streaming manifests are not supported`,
  );
}

/**
 * Decides the media URL from the answers of `transcoded-url` and (when it was asked) `raw-url`, in that order:
 * 1. the first direct MP4/WebM URL wins; 2. else a manifest → `unsupported_media_type`; a non-https URL →
 * `upstream_error`; 3. only 404s (and empty answers) → `source_not_found`; 4. only 4xx/`{"url":null}` (and empty
 * answers) → `source_forbidden`; 5. a 429 → `upstream_blocked`; a failed request → its own error; a 5xx →
 * `upstream_error`; 6. nothing but empty answers → `upstream_error`.
 */
export function decideLoomMedia(answers: readonly LoomUrlAnswer[]): { url: string; extension: 'mp4' | 'webm' | undefined } {
  const classified = answers.flatMap((a) => (a.kind === 'url' ? [classifyLoomMediaUrl(a.url)] : []));
  for (const c of classified) if (c.kind === 'direct') return { url: c.url, extension: c.extension };
  for (const c of classified) if (c.kind === 'manifest') throw loomManifestError(c.format);
  if (classified.some((c) => c.kind === 'insecure')) {
    throw new IngestError('upstream_error', 'Loom returned a media URL that is not https; refusing to download it');
  }
  const kinds = answers.map((a) => a.kind);
  const only = (...allowed: string[]) => kinds.every((k) => allowed.includes(k));
  if (kinds.includes('not_found') && only('not_found', 'empty')) {
    throw new IngestError('source_not_found', 'Loom says this video does not exist (404): it was deleted or the link is wrong');
  }
  if (only('not_found', 'forbidden', 'no_url', 'empty') && kinds.some((k) => k === 'forbidden' || k === 'no_url')) {
    throw new IngestError('source_forbidden', 'Loom refused to give out this video: it is private, password-protected or its sharing is restricted');
  }
  for (const a of answers) {
    if (a.kind === 'rate_limited') {
      const options = a.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: a.retryAfterSeconds };
      throw new IngestError('upstream_blocked', 'Loom is rate-limiting requests (429); try again later', options);
    }
  }
  for (const a of answers) if (a.kind === 'failed') throw a.error;
  const server = answers.find((a) => a.kind === 'server');
  if (server) throw new IngestError('upstream_error', `Loom failed to give a media URL (HTTP ${server.status})`);
  throw new IngestError('upstream_error', 'Loom answered without a media URL (empty or unreadable answer from transcoded-url and raw-url)');
}

/** Best-effort descriptive metadata; every field null when unknown. */
export interface LoomVideoMetadata {
  title: string | null;
  description: string | null;
  owner_name: string | null;
  /** ISO 8601. */
  created_at: string | null;
  duration_seconds: number | null;
  width: number | null;
  height: number | null;
}

/** Who may see the video, according to `GetVideoSSR.__typename`. */
export type LoomAccess = 'ok' | 'private' | 'password';

/** A small query of our own for the fields we keep. */
export const GET_VIDEO_SSR_QUERY = `query GetVideoSSR($id: ID!, $password: String) {
  getVideo(id: $id, password: $password) {
    __typename
    ... on RegularUserVideo {
      id
      name
      description
      createdAt
      owner { display_name }
      video_properties { duration width height }
    }
  }
}`;

/** The JSON body of the `GetVideoSSR` GraphQL request. */
export function getVideoSsrBody(id: string): string {
  return JSON.stringify({ operationName: 'GetVideoSSR', variables: { id, password: null }, query: GET_VIDEO_SSR_QUERY });
}

/**
 * Maps a `GetVideoSSR` answer (`data.getVideo`; a batched `[{data}]` answer is tolerated). `PrivateVideo` →
 * `private`, `VideoPasswordMissingOrIncorrect` → `password`; a video object → `ok` with its metadata.
 * Undefined when the answer is unusable (errors, `getVideo: null`, unknown shape): fall back to oEmbed.
 * `video_properties.duration` is read as seconds (`durationMs` as milliseconds).
 */
export function parseGetVideoSsr(json: unknown): { access: LoomAccess; metadata: LoomVideoMetadata } | undefined {
  const root = Array.isArray(json) ? json[0] : json;
  const video = field(field(root, 'data'), 'getVideo');
  if (!isRecord(video)) return undefined;
  const typename = video['__typename'];
  if (typename === 'PrivateVideo') return { access: 'private', metadata: emptyMetadata() };
  if (typename === 'VideoPasswordMissingOrIncorrect') return { access: 'password', metadata: emptyMetadata() };
  const props = field(video, 'video_properties');
  const owner = field(video, 'owner');
  const ownerName =
    text(field(owner, 'display_name')) ??
    text([text(field(owner, 'first_name')), text(field(owner, 'last_name'))].filter(Boolean).join(' '));
  const durationMs = positive(field(props, 'durationMs'));
  const metadata: LoomVideoMetadata = {
    title: text(video['name']),
    description: text(video['description']),
    owner_name: ownerName,
    created_at: isoDate(video['createdAt']),
    duration_seconds: durationMs === null ? positive(field(props, 'duration')) : durationMs / 1000,
    width: positiveInt(field(props, 'width')),
    height: positiveInt(field(props, 'height')),
  };
  if (typename !== 'RegularUserVideo' && metadata.title === null && video['id'] === undefined) return undefined;
  return { access: 'ok', metadata };
}

/** Maps an oEmbed answer: `title`, `author_name`, `duration` (seconds), `description` when present. */
export function parseLoomOembed(json: unknown): LoomVideoMetadata | undefined {
  if (!isRecord(json)) return undefined;
  const metadata = emptyMetadata();
  metadata.title = text(json['title']);
  metadata.owner_name = text(json['author_name']);
  metadata.description = text(json['description']);
  metadata.duration_seconds = positive(json['duration']);
  // oEmbed width/height are the player's size, not the video's: not used.
  return metadata.title === null && metadata.owner_name === null ? undefined : metadata;
}

/** Provenance stored as the File's `source_metadata` (`source_type: 'loom'`, nulls where unknown). */
export type LoomSourceMetadata = { source_type: 'loom'; loom_id: string } & LoomVideoMetadata;

/** Builds the provenance of a Loom video. */
export function loomSourceMetadata(id: string, metadata: LoomVideoMetadata | undefined): LoomSourceMetadata {
  return { source_type: 'loom', loom_id: id, ...(metadata ?? emptyMetadata()) };
}

/** `<sanitised title>.<ext>` or `<id>.<ext>` (ext `mp4` unless the media URL is `.webm`). */
export function loomFilename(id: string, title: string | null | undefined, extension: 'mp4' | 'webm' | undefined): string {
  return titleFilename(title, id, extension ?? 'mp4');
}

/**
 * Refuses an opened media response that is a streaming manifest by content (`#EXTM3U`, `<MPD`), whatever its
 * URL said. Undefined otherwise (the engine's own checks take it from there).
 */
export function loomBodyError(firstBytes: Buffer): IngestError | undefined {
  const head = firstBytes.subarray(0, 1024).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (head.startsWith('#EXTM3U')) return loomManifestError('hls');
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<MPD[\s>]/.test(head)) return loomManifestError('dash');
  return undefined;
}

/** Parses JSON text; undefined for an empty or malformed body. */
export function parseJson(body: string): unknown {
  const trimmed = body.trim();
  if (trimmed === '') return undefined;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return undefined;
  }
}

function emptyMetadata(): LoomVideoMetadata {
  return { title: null, description: null, owner_name: null, created_at: null, duration_seconds: null, width: null, height: null };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

function positive(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : null;
}

function positiveInt(value: unknown): number | null {
  const n = positive(value);
  return n === null ? null : Math.round(n);
}

/** ISO 8601 from an ISO string or epoch number (seconds or milliseconds); null when unparseable. */
function isoDate(value: unknown): string | null {
  let ms: number;
  if (typeof value === 'number' && Number.isFinite(value)) ms = value < 1e12 ? value * 1000 : value;
  else if (typeof value === 'string' && value.trim() !== '') ms = Date.parse(value);
  else return null;
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}
