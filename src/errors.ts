/**
 * The one error type of media-ingest. Every failure a user can see carries a stable `code`
 * (see {@link ERROR_CODES}), the HTTP status the API answers with, and whether retrying may help.
 */

/** Every stable error code, with its HTTP status, retryability and what it means. Documented in the README. */
export const ERROR_CODES = {
  invalid_url: { httpStatus: 400, retryable: false, doc: 'The URL cannot be parsed, is too long, or carries credentials.' },
  unsupported_scheme: { httpStatus: 400, retryable: false, doc: 'The scheme is not http or https (file:, ftp:, data:, javascript: ...).' },
  youtube_not_supported: { httpStatus: 400, retryable: false, doc: 'YouTube links are not synced here; add them to a collection via add-media.' },
  connector_required: { httpStatus: 400, retryable: false, doc: 'A connector-native URI or link (S3, GCS, Google Drive, Zoom, Gong, Grain, Recall, iconik); the message names the connector.' },
  unsupported_page_host: { httpStatus: 400, retryable: false, doc: 'A page link from a host that has no resolver (Vimeo, Box, OneDrive ...).' },
  folder_not_supported: { httpStatus: 400, retryable: false, doc: 'A Dropbox or Loom folder link; only single files are synced.' },
  blocked_address: { httpStatus: 400, retryable: false, doc: 'The target (directly, via DNS or via a redirect) is a private, loopback, link-local or reserved address.' },
  too_many_redirects: { httpStatus: 400, retryable: false, doc: 'More redirects than the configured cap, or a redirect loop.' },
  file_too_large: { httpStatus: 400, retryable: false, doc: 'The body is larger than the byte limit (by Content-Length or by the bytes actually received).' },
  unsupported_encoding: { httpStatus: 502, retryable: false, doc: 'The source sent a media body with a Content-Encoding (gzip, br, deflate, zstd, stacked ...) or a Transfer-Encoding other than chunked; media bodies are taken only unencoded and never decoded.' },
  disk_budget_exceeded: { httpStatus: 507, retryable: false, doc: 'The download would pass the temporary disk budget of all downloads in flight (limits.maxTempBytes).' },
  duration_too_long: { httpStatus: 400, retryable: false, doc: 'The media is longer than the duration limit.' },
  media_limits_exceeded: { httpStatus: 400, retryable: false, doc: 'The media declares more than the decoding limits allow (pixel size, pixel or display aspect ratio, frame rate, frame count, stream count), or decoding it hit the memory, CPU-time or output-size limit of ffmpeg/ffprobe.' },
  source_forbidden: { httpStatus: 403, retryable: false, doc: 'The source refused access: login-gated, private, expired, age or region gated.' },
  source_not_found: { httpStatus: 404, retryable: false, doc: 'The source says the media does not exist (404, removed, dead short link).' },
  unsupported_media_type: { httpStatus: 415, retryable: false, doc: 'The URL serves something that is not audio or video: HTML, ZIP, image, playlist or manifest.' },
  media_corrupt: { httpStatus: 415, retryable: false, doc: 'The bytes look like media but cannot be read (truncated, garbage, no streams).' },
  upstream_blocked: { httpStatus: 502, retryable: true, doc: 'The source answered with a bot challenge or kept rate-limiting after retries.' },
  upstream_error: { httpStatus: 502, retryable: true, doc: 'The source failed (5xx, reset connection, unreadable answer).' },
  timeout: { httpStatus: 504, retryable: true, doc: 'A connect, idle or total deadline passed (also a hung ffmpeg/ffprobe).' },
  not_found: { httpStatus: 404, retryable: false, doc: 'No file with that id.' },
  unauthorized: { httpStatus: 401, retryable: false, doc: 'Missing or wrong bearer key.' },
  invalid_request: { httpStatus: 400, retryable: false, doc: 'The request body or query is malformed.' },
  storage_error: { httpStatus: 500, retryable: false, doc: 'The data dir cannot be written (disk full, read-only).' },
  run_superseded: { httpStatus: 409, retryable: false, doc: 'A file run wrote after another run took the file over (fencing); the stale run stops and changes nothing.' },
  cancelled: { httpStatus: 500, retryable: false, doc: 'The work was cancelled (file deleted or engine closed while in flight).' },
  internal: { httpStatus: 500, retryable: false, doc: 'An unexpected internal error.' },
} as const satisfies Record<string, { httpStatus: number; retryable: boolean; doc: string }>;

/** The message of every `internal` error shown to a caller; the detail goes to the log. */
export const INTERNAL_MESSAGE = 'An unexpected internal error occurred; the details are in the service log';

/** A stable error code string. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options of {@link IngestError}. */
export interface IngestErrorOptions {
  /** The underlying error, kept for logs. */
  cause?: unknown;
  /** Overrides the code's default retryability (e.g. a 404 that a CDN is known to flap on). */
  retryable?: boolean;
  /** Seconds the source asked us to wait (Retry-After), when known. */
  retryAfterSeconds?: number;
}

/**
 * The single error class of media-ingest. `code` is stable and documented; `message` is for humans and
 * names the URL or the stage where that helps.
 */
export class IngestError extends Error {
  override readonly name = 'IngestError';
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;
  /**
   * For `internal` only: the real message, for the log. Callers (File.error, CLI, API) see the generic
   * {@link INTERNAL_MESSAGE}, never a stack detail, a path or an address.
   */
  readonly detail?: string;

  constructor(code: ErrorCode, message: string, options: IngestErrorOptions = {}) {
    super(code === 'internal' ? INTERNAL_MESSAGE : message, options.cause === undefined ? undefined : { cause: options.cause });
    if (code === 'internal' && message !== INTERNAL_MESSAGE) this.detail = message;
    this.code = code;
    this.httpStatus = ERROR_CODES[code].httpStatus;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The `{code, message}` pair stored on a failed file. */
  toFileError(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }

  /** The body the CLI and the HTTP API print for a refusal. */
  toJSON(): { error: string; code: ErrorCode } {
    return { error: this.message, code: this.code };
  }
}

/** True when `value` is an {@link IngestError}. */
export function isIngestError(value: unknown): value is IngestError {
  if (value instanceof IngestError) return true;
  // Duck-typed too: a config file loaded through jiti may carry its own copy of this module.
  const candidate = value as { name?: unknown; code?: unknown } | null;
  return (
    typeof candidate === 'object' && candidate !== null && candidate.name === 'IngestError' &&
    typeof candidate.code === 'string' && candidate.code in ERROR_CODES
  );
}

/** Wraps anything thrown into an IngestError (unknown errors become `internal`, keeping the cause). */
export function toIngestError(value: unknown, fallback: ErrorCode = 'internal'): IngestError {
  if (isIngestError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new IngestError(fallback, message, { cause: value });
}
