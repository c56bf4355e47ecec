/**
 * One mapping from anything thrown in a request to the API's error body `{"error": "...", "code": "..."}`:
 * IngestErrors keep their code and status; Fastify's own errors (bad JSON, schema validation, 404 route,
 * 415 content type, 413 body too large) keep their HTTP status and become `invalid_request` (or `not_found`,
 * `unauthorized`); anything else (and any `internal` IngestError) is a 500 `internal` whose details go to the
 * log only.
 */
import { ERROR_CODES, isIngestError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

/** The JSON error body of every non-2xx answer. */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
}

/** What to answer for an error. */
export interface ErrorReply {
  status: number;
  body: ErrorBody;
}

interface HttpishError {
  statusCode?: unknown;
  status?: unknown;
  message?: unknown;
  validation?: unknown;
  validationContext?: unknown;
}

/** Maps a thrown value to a status and `{error, code}` body. */
export function errorReply(thrown: unknown): ErrorReply {
  if (isIngestError(thrown)) {
    const code = thrown.code;
    // `internal` wraps unexpected errors whose messages are implementation details: log them, do not send them.
    const message = code === 'internal' ? 'Internal server error' : thrown.message;
    return { status: ERROR_CODES[code].httpStatus, body: { error: message, code } };
  }
  const error = (typeof thrown === 'object' && thrown !== null ? thrown : {}) as HttpishError;
  const message = typeof error.message === 'string' && error.message ? error.message : 'Request failed';
  if (error.validation) return { status: 400, body: { error: message, code: 'invalid_request' } };
  const status = typeof error.statusCode === 'number' ? error.statusCode : typeof error.status === 'number' ? error.status : 500;
  if (status >= 400 && status < 500) {
    const code: ErrorCode = status === 401 ? 'unauthorized' : status === 404 ? 'not_found' : 'invalid_request';
    return { status, body: { error: message, code } };
  }
  return { status: 500, body: { error: 'Internal server error', code: 'internal' } };
}

