import { errorForStatus, parseRetryAfter } from '../plugin-kit.js';
import { IngestError } from '../errors.js';
import type { DownloadRequest, HttpClient, HttpResponse, SourcePlugin } from '../plugin-api.js';
import { describeKind, isNonMediaContentType, sniffKind } from './sniff.js';
import { filenameFromContentDisposition, filenameFromUrl } from './filename.js';

/** Bytes read before deciding whether a body is media. */
const PEEK_BYTES = 4096;

/** The validators of a response: a resume is accepted only from a response with the same ones. */
export interface Validators {
  /** A strong ETag (weak ones cannot validate byte ranges and are dropped). */
  etag: string | null;
  lastModified: string | null;
}

/** An opened media response whose first bytes were checked; the rest of the body is unread. */
export interface OpenedMedia {
  response: HttpResponse;
  /** The body from its first byte (the peeked bytes included); for a resumed response, from `startOffset`. */
  body: AsyncIterable<Buffer>;
  /** Full length of the media when known: Content-Length of an identity 200, or the Content-Range total of a 206. */
  declaredBytes: number | null;
  /** Offset of the body's first byte in the media: 0, or where a 206 resumed. */
  startOffset: number;
  validators: Validators;
  /**
   * Whether a cut body can later continue with `Range`: an identity-encoded body, not `Accept-Ranges: none`, with a
   * strong ETag, a Last-Modified or a known length to check the continuation against.
   */
  resumable: boolean;
  /** Filename from Content-Disposition (wins over everything). */
  dispositionFilename: string | undefined;
  /** Filename from the final URL's last path segment (the last resort). */
  urlFilename: string | undefined;
  /** What the response tells about provenance. */
  httpInfo: { final_url: string; etag: string | null; last_modified: string | null; content_type: string | null };
}

/** What a resume expects of the server: the offset to continue from and what the first response said. */
export interface ResumeFrom extends Validators {
  offset: number;
  /** Full length of the media, when known. */
  total: number | null;
}

/**
 * The outcome of a `Range` request ({@link openMediaFrom}):
 * - `resumed`: a 206 starting at the offset with matching validators and length; append its body.
 * - `full`: the server ignored Range (or If-Range failed) and sent the whole media again (already sniffed); restart from zero with it.
 * - `mismatch`: a 206 for the wrong offset, validators or length, or an encoded one; request again without Range.
 * - `unsatisfiable`: 416; request again without Range.
 * - `expired`: 401/403/410, typically a signed URL that expired; re-resolve it through the plugin.
 */
export type RangeOutcome =
  | { kind: 'resumed'; opened: OpenedMedia }
  | { kind: 'full'; opened: OpenedMedia }
  | { kind: 'mismatch'; reason: string }
  | { kind: 'unsatisfiable' }
  | { kind: 'expired'; error: IngestError };

/** Maps a non-2xx status of a media or page request to the contract's codes (see the plugin kit's `errorForStatus`). */
export function errorForResponse(response: HttpResponse, what = response.url): IngestError {
  return errorForStatus(response.status, { what, retryAfter: response.header('retry-after') });
}

/** Retry-After in seconds (delta-seconds or HTTP-date): the plugin kit's, re-exported for the engine's tests. */
export { parseRetryAfter };

/** Reads chunks until `size` bytes (or the end) arrived; the same iterator then yields the rest. */
async function peek(chunks: AsyncIterator<Buffer>, size: number): Promise<Buffer> {
  const head: Buffer[] = [];
  let total = 0;
  while (total < size) {
    const next = await chunks.next();
    if (next.done) break;
    head.push(next.value);
    total += next.value.length;
  }
  return Buffer.concat(head);
}

/** The peeked bytes, then the rest; a consumer that stops early (or fails) closes the underlying body too. */
async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  let done = false;
  try {
    if (first.length > 0) yield first;
    for (;;) {
      const next = await rest.next();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await rest.return?.();
  }
}

/**
 * Opens the media request through the guarded client and decides, from the status, the headers and the
 * first bytes, whether it is worth storing. Throws the contract's codes before any byte is stored.
 */
export async function openMedia(
  http: HttpClient,
  request: DownloadRequest,
  plugin: SourcePlugin,
  options: { signal?: AbortSignal; maxBytes: number },
): Promise<OpenedMedia> {
  const response = await send(http, request, options);
  if (response.status < 200 || response.status >= 300) {
    await response.dump();
    throw errorForResponse(response);
  }
  return acceptFull(response, plugin);
}

/**
 * Asks for the rest of a media from `from.offset` (`Range: bytes=<n>-`, with `If-Range` when a validator is known)
 * and classifies the answer (see {@link RangeOutcome}). Other statuses throw the contract's codes.
 */
export async function openMediaFrom(
  http: HttpClient,
  request: DownloadRequest,
  plugin: SourcePlugin,
  options: { signal?: AbortSignal; maxBytes: number; from: ResumeFrom },
): Promise<RangeOutcome> {
  const { from } = options;
  const ifRange = from.etag ?? from.lastModified;
  const response = await send(http, request, options, from.offset, ifRange ? { 'if-range': ifRange } : {});
  const status = response.status;
  if (status === 206) return acceptPartial(response, from);
  if (status >= 200 && status < 300) return { kind: 'full', opened: await acceptFull(response, plugin) };
  await response.dump();
  if (status === 416) return { kind: 'unsatisfiable' };
  if (status === 401 || status === 403 || status === 410) return { kind: 'expired', error: errorForResponse(response) };
  throw errorForResponse(response);
}

function send(
  http: HttpClient, request: DownloadRequest, options: { signal?: AbortSignal; maxBytes: number },
  rangeStart?: number, extraHeaders: Record<string, string> = {},
): Promise<HttpResponse> {
  return http.request(request.url, {
    method: request.method ?? 'GET',
    headers: { ...(request.headers ?? {}), ...extraHeaders },
    ...(request.cookieJar ? { cookieJar: request.cookieJar } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(rangeStart ? { rangeStart } : {}),
    maxBytes: options.maxBytes,
  });
}

/** A 2xx with the whole media: peek, let the plugin check it, sniff, and describe it. */
async function acceptFull(response: HttpResponse, plugin: SourcePlugin): Promise<OpenedMedia> {
  let first: Buffer;
  const chunks = response.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    first = await peek(chunks, PEEK_BYTES);
  } catch (error) {
    await response.dump();
    throw error;
  }
  const refuse = async (error: IngestError): Promise<never> => {
    await response.dump();
    throw error;
  };
  if (plugin.checkResponse) {
    try {
      plugin.checkResponse(response, first);
    } catch (error) {
      return refuse(error as IngestError);
    }
  }
  const contentType = response.header('content-type') ?? null;
  const kind = sniffKind(first);
  if (first.length === 0) return refuse(new IngestError('media_corrupt', `${response.url} answered an empty body`));
  if (kind !== 'media' && kind !== 'unknown') {
    return refuse(new IngestError('unsupported_media_type', `${response.url} serves ${describeKind(kind)}, not audio or video`));
  }
  const typeProblem = isNonMediaContentType(contentType ?? undefined);
  if (typeProblem && kind !== 'media') {
    return refuse(new IngestError('unsupported_media_type', `${response.url} serves ${typeProblem} (Content-Type ${contentType}), not audio or video`));
  }
  const length = Number(response.header('content-length') ?? NaN);
  const identity = isIdentity(response);
  const declaredBytes = Number.isFinite(length) && identity ? length : null;
  return describe(response, prepend(first, chunks), declaredBytes, 0, validatorsOf(response));
}

/** A 206: accepted only when it continues exactly the media the first response started. */
async function acceptPartial(response: HttpResponse, from: ResumeFrom): Promise<RangeOutcome> {
  const mismatch = async (reason: string): Promise<RangeOutcome> => {
    await response.dump();
    return { kind: 'mismatch', reason };
  };
  const range = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec((response.header('content-range') ?? '').trim());
  if (!range) return mismatch(`a 206 without a usable Content-Range (${response.header('content-range') ?? 'none'})`);
  const start = Number(range[1]);
  const total = range[3] === '*' ? null : Number(range[3]);
  if (start !== from.offset) return mismatch(`a 206 starting at byte ${start} instead of ${from.offset}`);
  if (!isIdentity(response)) return mismatch('a content-encoded 206');
  if (from.total !== null && total !== null && total !== from.total) return mismatch(`the length changed (${from.total} → ${total})`);
  const now = validatorsOf(response);
  if (from.etag !== null && now.etag !== from.etag) return mismatch(`the ETag changed (${from.etag} → ${now.etag ?? 'none'})`);
  if (from.lastModified !== null && now.lastModified !== from.lastModified) {
    return mismatch(`Last-Modified changed (${from.lastModified} → ${now.lastModified ?? 'none'})`);
  }
  if (from.etag === null && from.lastModified === null && (from.total === null || total === null)) {
    return mismatch('nothing to check the continuation against (no ETag, Last-Modified or length)');
  }
  const opened = describe(response, response.body, total ?? from.total, start, { etag: from.etag, lastModified: from.lastModified });
  return { kind: 'resumed', opened };
}

function describe(response: HttpResponse, body: AsyncIterable<Buffer>, declaredBytes: number | null, startOffset: number, validators: Validators): OpenedMedia {
  const acceptRanges = (response.header('accept-ranges') ?? '').trim().toLowerCase();
  const resumable = isIdentity(response) && acceptRanges !== 'none' &&
    (validators.etag !== null || validators.lastModified !== null || declaredBytes !== null);
  return {
    response,
    body,
    declaredBytes,
    startOffset,
    validators,
    resumable,
    dispositionFilename: filenameFromContentDisposition(response.header('content-disposition')),
    urlFilename: filenameFromUrl(response.url),
    httpInfo: {
      final_url: response.url,
      etag: response.header('etag') ?? null,
      last_modified: response.header('last-modified') ?? null,
      content_type: response.header('content-type') ?? null,
    },
  };
}

function isIdentity(response: HttpResponse): boolean {
  const encoding = (response.header('content-encoding') ?? 'identity').trim().toLowerCase();
  return encoding === '' || encoding === 'identity';
}

function validatorsOf(response: HttpResponse): Validators {
  const etag = response.header('etag')?.trim();
  return {
    etag: etag && !etag.startsWith('W/') ? etag : null,
    lastModified: response.header('last-modified')?.trim() || null,
  };
}
