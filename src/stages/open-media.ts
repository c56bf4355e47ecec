import type { Readable } from 'node:stream';
import { IngestError } from '../errors.js';
import type { DownloadRequest, HttpClient, HttpResponse, SourcePlugin } from '../plugin-api.js';
import { describeKind, isNonMediaContentType, sniffKind } from './sniff.js';
import { filenameFromContentDisposition, filenameFromUrl } from './filename.js';

/** Bytes read before deciding whether a body is media. */
const PEEK_BYTES = 4096;

/** An opened media response whose first bytes were checked; the rest of the body is unread. */
export interface OpenedMedia {
  response: HttpResponse;
  /** The body from its first byte (the peeked bytes included). */
  body: AsyncIterable<Buffer>;
  /** Declared length (Content-Length of a 200, or the remaining length of a 206), if any. */
  declaredBytes: number | null;
  /** Filename from Content-Disposition (wins over everything). */
  dispositionFilename: string | undefined;
  /** Filename from the final URL's last path segment (the last resort). */
  urlFilename: string | undefined;
  /** What the response tells about provenance. */
  httpInfo: { final_url: string; etag: string | null; last_modified: string | null; content_type: string | null };
}

/** Maps a non-2xx status of a media or page request to the contract's codes. */
export function errorForStatus(response: HttpResponse, what = response.url): IngestError {
  const status = response.status;
  const retryAfter = parseRetryAfter(response.header('retry-after'));
  const opts = retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter };
  if (status === 404 || status === 410) return new IngestError('source_not_found', `${what} answered ${status}: not found`);
  if (status === 401 || status === 403 || status === 451) return new IngestError('source_forbidden', `${what} answered ${status}: access denied`);
  if (status === 429) return new IngestError('upstream_blocked', `${what} answered 429: rate limited`, opts);
  if (status === 408) return new IngestError('timeout', `${what} answered 408: request timeout`, opts);
  if (status >= 500) return new IngestError('upstream_error', `${what} answered ${status}`, { ...opts, retryable: true });
  return new IngestError('upstream_error', `${what} answered an unexpected ${status}`, { retryable: false });
}

/** Retry-After in seconds (delta-seconds or HTTP-date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

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

async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (first.length > 0) yield first;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield next.value;
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
  options: { signal?: AbortSignal; maxBytes: number; rangeStart?: number },
): Promise<OpenedMedia> {
  const response = await http.request(request.url, {
    method: request.method ?? 'GET',
    headers: request.headers ?? {},
    ...(request.cookieJar ? { cookieJar: request.cookieJar } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.rangeStart ? { rangeStart: options.rangeStart } : {}),
    maxBytes: options.maxBytes,
  });
  if (response.status < 200 || response.status >= 300) {
    await response.dump();
    throw errorForStatus(response);
  }
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
  const length = Number(response.header('content-length'));
  return {
    response,
    body: prepend(first, chunks),
    declaredBytes: Number.isFinite(length) && response.header('content-encoding') === undefined ? length : null,
    dispositionFilename: filenameFromContentDisposition(response.header('content-disposition')),
    urlFilename: filenameFromUrl(response.url),
    httpInfo: {
      final_url: response.url,
      etag: response.header('etag') ?? null,
      last_modified: response.header('last-modified') ?? null,
      content_type: contentType,
    },
  };
}
