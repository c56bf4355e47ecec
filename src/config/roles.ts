/**
 * Roles of an engine process in cluster mode. `all` (the default, and the only role embedded mode has) both serves
 * requests and runs file runs; `api` accepts and serves requests and queues runs but never runs one (its work queue
 * consumer is not started); `worker` runs queued runs (the CLI's `worker` command and `serve --role worker` give
 * it no API, only a health endpoint).
 */
import { IngestError } from '../errors.js';

/** Every role, in the order the CLI lists them. */
export const INGEST_ROLES = ['api', 'worker', 'all'] as const;

/** What an engine process does in a cluster. */
export type IngestRole = (typeof INGEST_ROLES)[number];

/** `value` as a role; `invalid_request` naming `what` (a flag or option) when it is none. */
export function parseRole(value: unknown, what = 'role', allowed: readonly IngestRole[] = INGEST_ROLES): IngestRole {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as IngestRole;
  throw new IngestError('invalid_request', `${what} must be one of ${allowed.join(', ')}, not ${JSON.stringify(String(value))}`);
}

/** Refuses a role other than `all` without cluster mode: an embedded engine both serves and runs, in one process. */
export function assertRoleFits(role: IngestRole, clustered: boolean, what = 'role'): void {
  if (role === 'all' || clustered) return;
  throw new IngestError(
    'invalid_request',
    `The ${what} ${role} needs cluster mode (the cluster config section, or MEDIA_INGEST_POSTGRES_URL, MEDIA_INGEST_REDIS_URL and MEDIA_INGEST_S3_*); embedded mode has only the role all`,
  );
}
