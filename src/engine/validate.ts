import { IngestError } from '../errors.js';
import { FILE_STATUSES } from '../ports/file-records.js';
import type { FileListQuery, FileStatus } from '../ports/registry.js';

/** List query as callers give it (strings from a query string are accepted). */
export interface ListQueryInput {
  status?: string;
  limit?: number | string;
  offset?: number | string;
  order?: string;
  sort?: string;
  created_before?: string | number;
  created_after?: string | number;
}

/** Pagination input. */
export interface PageInput {
  limit?: number | string;
  offset?: number | string;
}

/** Thumbnail list query. */
export interface ThumbnailQueryInput extends PageInput {
  type?: string;
  isDefault?: boolean;
}

const STATUSES: readonly FileStatus[] = FILE_STATUSES;

function integer(value: number | string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new IngestError('invalid_request', `${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

/** A date bound: `YYYY-MM-DD` (UTC), an ISO timestamp, or epoch milliseconds. */
function dateBound(value: string | number | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = typeof value === 'number' || /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new IngestError('invalid_request', `${name} must be a date (YYYY-MM-DD)`);
  return ms;
}

export function validatePage(input: PageInput): { limit: number; offset: number } {
  return { limit: integer(input.limit, 'limit', 1, 100, 50), offset: integer(input.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, 0) };
}

export function validateListQuery(input: ListQueryInput): FileListQuery {
  const page = validatePage(input);
  if (input.status !== undefined && !STATUSES.includes(input.status as FileStatus)) {
    throw new IngestError('invalid_request', `status must be one of ${STATUSES.join(', ')}`);
  }
  const order = input.order ?? 'created_at';
  if (order !== 'created_at' && order !== 'filename') throw new IngestError('invalid_request', 'order must be created_at or filename');
  const sort = input.sort ?? 'desc';
  if (sort !== 'asc' && sort !== 'desc') throw new IngestError('invalid_request', 'sort must be asc or desc');
  const query: FileListQuery = { ...page, order, sort };
  if (input.status) query.status = input.status as FileStatus;
  const before = dateBound(input.created_before, 'created_before');
  const after = dateBound(input.created_after, 'created_after');
  if (before !== undefined) query.createdBefore = before;
  if (after !== undefined) query.createdAfter = after;
  return query;
}

/** `metadata` must be a plain JSON object (or null/absent) within the size limit. */
export function validateMetadata(value: unknown, maxBytes: number): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new IngestError('invalid_request', 'metadata must be a JSON object');
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new IngestError('invalid_request', 'metadata must be serialisable JSON', { cause: error });
  }
  if (Buffer.byteLength(text) > maxBytes) throw new IngestError('invalid_request', `metadata is larger than ${maxBytes} bytes`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Validates `update` input: optional metadata object and optional non-empty filename. */
export function validateUpdate(changes: { metadata?: unknown; filename?: unknown }, maxBytes: number): { metadata?: Record<string, unknown> | null; filename?: string } {
  if (typeof changes !== 'object' || changes === null) throw new IngestError('invalid_request', 'The update must be an object');
  const result: { metadata?: Record<string, unknown> | null; filename?: string } = {};
  if (changes.metadata !== undefined) result.metadata = validateMetadata(changes.metadata, maxBytes);
  if (changes.filename !== undefined) {
    if (typeof changes.filename !== 'string' || !changes.filename.trim() || changes.filename.length > 255 || /[\u0000-\u001f/\\]/.test(changes.filename)) {
      throw new IngestError('invalid_request', 'filename must be a non-empty string without path separators or control characters');
    }
    result.filename = changes.filename.trim();
  }
  return result;
}
