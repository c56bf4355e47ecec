import { IngestError, isIngestError } from '../errors.js';

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const TLS_CODE = /^(CERT_|ERR_TLS_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_(GET|VERIFY))/;

function findIngestError(error: unknown, depth = 0): IngestError | undefined {
  if (isIngestError(error)) return error;
  if (depth > 5 || typeof error !== 'object' || error === null) return undefined;
  const nested = (error as { cause?: unknown }).cause;
  if (nested !== undefined) return findIngestError(nested, depth + 1);
  const errors = (error as { errors?: unknown[] }).errors;
  if (Array.isArray(errors)) for (const e of errors) {
    const found = findIngestError(e, depth + 1);
    if (found) return found;
  }
  return undefined;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string') return code;
  const cause = (error as { cause?: unknown })?.cause;
  return cause && cause !== error ? errorCode(cause) : '';
}

/**
 * Maps anything a request or body stream throws to an IngestError: our own errors (blocked address,
 * size limit, deadline) pass through; undici and socket errors become `timeout` or `upstream_error`. The
 * message names the URL and the error code only: socket and TLS messages carry the resolved address
 * (`connect ECONNREFUSED 10.0.0.5:443`, `IP: 10.0.0.5 is not in the cert's list`), which stays in the cause
 * for the log.
 */
export function mapNetworkError(error: unknown, href: string): IngestError {
  const known = findIngestError(error);
  if (known) return known;
  const code = errorCode(error);
  if (TIMEOUT_CODES.has(code)) {
    return new IngestError('timeout', `Timed out talking to ${href} (${code})`, { cause: error });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NODATA') {
    return new IngestError('upstream_error', `Could not resolve the host of ${href} (${code})`, {
      cause: error,
      retryable: code === 'EAI_AGAIN',
    });
  }
  if (TLS_CODE.test(code)) {
    return new IngestError('upstream_error', `TLS verification failed for ${href} (${code})`, { cause: error, retryable: false });
  }
  if ((error as { name?: string })?.name === 'AbortError') {
    return new IngestError('cancelled', `Request to ${href} was cancelled`, { cause: error });
  }
  return new IngestError('upstream_error', `Request to ${href} failed (${code || 'connection error'})`, { cause: error, retryable: true });
}
