/**
 * Helpers for source plugins, published through `media-ingest/plugin` (src/plugin-api.ts re-exports them), so a
 * plugin does not rewrite host normalising, Retry-After parsing, status mapping, cancellation or display names.
 */
import { IngestError, isIngestError } from './errors.js';
import { sanitizeFilename } from './stages/filename.js';

export { hostOf, hostIs, hostIsOrUnder } from './url/policy.js';

/** True for http: and https: URLs. */
export function isWebUrl(url: URL): boolean {
  return url.protocol === 'http:' || url.protocol === 'https:';
}

/**
 * A `Retry-After` value in seconds: delta-seconds (`120`) or an HTTP-date (`Tue, 01 Apr 2025 10:00:00 GMT`, counted
 * from `now`, never negative). Undefined when absent or unreadable (`-5`, `1.5`, garbage).
 */
export function parseRetryAfter(value: string | undefined | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // An HTTP-date names a day and month; anything else is unreadable.
  if (!/[a-z]{3}/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/** What {@link errorForStatus} says about the request. */
export interface StatusContext {
  /** Names the request in the message, e.g. `Loom API for video abc` or a URL (no query strings: they may be secret). */
  what: string;
  /** The response's `Retry-After` header, honoured for 429, 408 and 5xx. */
  retryAfter?: string | null;
  /** Replaces the default message detail per code (e.g. `{ source_not_found: 'the post does not exist' }`). */
  detail?: Partial<Record<'source_not_found' | 'source_forbidden' | 'upstream_blocked', string>>;
}

/**
 * The contract's code for a non-2xx HTTP status: 404/410 `source_not_found`; 401/403/451 `source_forbidden`;
 * 429 `upstream_blocked` (retryable); 408 `timeout`; 5xx `upstream_error` (retryable); anything else
 * `upstream_error` (not retryable). Retry-After is carried as `retryAfterSeconds`.
 */
export function errorForStatus(status: number, context: StatusContext): IngestError {
  const { what, detail = {} } = context;
  const retryAfter = parseRetryAfter(context.retryAfter);
  const wait = retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter };
  if (status === 404 || status === 410) return new IngestError('source_not_found', `${what} answered ${status}: ${detail.source_not_found ?? 'not found'}`);
  if (status === 401 || status === 403 || status === 451) {
    return new IngestError('source_forbidden', `${what} answered ${status}: ${detail.source_forbidden ?? 'access denied'}`);
  }
  if (status === 429) return new IngestError('upstream_blocked', `${what} answered 429: ${detail.upstream_blocked ?? 'rate limited'}`, wait);
  if (status === 408) return new IngestError('timeout', `${what} answered 408: request timeout`, wait);
  if (status >= 500) return new IngestError('upstream_error', `${what} answered ${status}`, { ...wait, retryable: true });
  return new IngestError('upstream_error', `${what} answered an unexpected ${status}`, { retryable: false });
}

/**
 * The error behind an aborted signal: its reason when that is an IngestError (the engine aborts runs with one that
 * says why: deleted, closed, timed out), else `cancelled` naming `what`.
 */
export function cancelledBy(signal: AbortSignal, what = 'the work'): IngestError {
  return isIngestError(signal.reason) ? signal.reason : new IngestError('cancelled', `${what} was cancelled`);
}

/** A title made safe as a display name: no path separators, reserved, control or bidi characters; at most 150 characters. */
export function sanitizeTitle(title: string | null | undefined): string {
  const flat = (title ?? '').replace(/[\u0000-\u001f\u007f<>:"/\\|?*]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 150);
  return (sanitizeFilename(flat) ?? '').replace(/^[.\s]+|[.\s]+$/g, '');
}

/**
 * A display filename `<title>.<ext>` from a remote title: the sanitised title, else `fallback` (e.g. the video id);
 * `extension` when it is a plain 1-5 character extension, else `mp4`.
 */
export function titleFilename(title: string | null | undefined, fallback: string, extension?: string | null): string {
  const base = sanitizeTitle(title) || fallback;
  return `${base}.${extension && /^[a-z0-9]{1,5}$/i.test(extension) ? extension : 'mp4'}`;
}

/** An OpenAPI 3.0 schema of a nullable value, for a plugin's `sourceMetadataSchema`. */
export function nullableSchema(type: string, description?: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type, nullable: true, ...(description ? { description } : {}), ...extra };
}
