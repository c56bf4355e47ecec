/**
 * TikTok's page status codes (`statusCode`/`statusMsg` of the video detail) mapped to media-ingest errors. Pure.
 *
 * Choice for 10204 ("unavailable"): some resolvers read it as "this IP is blocked". We map it to
 * `source_not_found` (not retryable) because TikTok uses it for removed and never-existing posts, and a block of
 * our address would not clear on an immediate retry anyway; the message names the other reading so an operator
 * seeing it for every post knows to look at the egress address. Bot challenges without any data are reported
 * separately as `upstream_blocked` (see adapter.ts).
 */
import { IngestError } from '../../src/plugin-api.js';
import type { ErrorCode } from '../../src/plugin-api.js';

/** Why TikTok says a post cannot be fetched. */
export type TikTokStatusReason =
  | 'private_post'
  | 'private_account'
  | 'region_locked'
  | 'account_not_found'
  | 'deleted'
  | 'unavailable'
  | 'unknown_status';

/** The known status codes. */
export const TIKTOK_STATUS = {
  privatePost: 10216,
  privateAccount: 10222,
  accountNotFound: 10221,
  unavailable: 10204,
  regionLocked: 10231,
} as const;

const KNOWN: Readonly<Record<number, { reason: TikTokStatusReason; code: ErrorCode; says: string }>> = {
  [TIKTOK_STATUS.privatePost]: { reason: 'private_post', code: 'source_forbidden', says: 'is private' },
  [TIKTOK_STATUS.privateAccount]: { reason: 'private_account', code: 'source_forbidden', says: 'belongs to a private account' },
  [TIKTOK_STATUS.regionLocked]: { reason: 'region_locked', code: 'source_forbidden', says: 'is not available in this region' },
  [TIKTOK_STATUS.accountNotFound]: { reason: 'account_not_found', code: 'source_not_found', says: "belongs to an account that doesn't exist" },
  [TIKTOK_STATUS.unavailable]: {
    reason: 'unavailable',
    code: 'source_not_found',
    says: 'is unavailable (removed, or TikTok is refusing this network address)',
  },
};

/** `statusMsg` values that mean success (TikTok normally leaves it empty). */
const OK_MESSAGES = new Set(['', 'ok', 'success']);

/**
 * The failure a page status means, or undefined when it means success (code 0 and an empty message).
 * `status_deleted` wins over the code; any other non-zero code or non-empty message is `source_not_found`.
 */
export function tiktokStatusFailure(
  statusCode: number,
  statusMsg: string,
  id: string,
): { reason: TikTokStatusReason; error: IngestError } | undefined {
  const message = statusMsg.trim();
  if (statusCode === 0 && OK_MESSAGES.has(message.toLowerCase())) return undefined;
  const status = `status ${statusCode}${message === '' ? '' : ` "${message}"`}`;
  if (message.toLowerCase() === 'status_deleted') {
    return { reason: 'deleted', error: new IngestError('source_not_found', `TikTok post ${id} was deleted (${status})`) };
  }
  const known = KNOWN[statusCode];
  if (known) return { reason: known.reason, error: new IngestError(known.code, `TikTok post ${id} ${known.says} (${status})`) };
  return { reason: 'unknown_status', error: new IngestError('source_not_found', `TikTok post ${id} cannot be fetched (${status})`) };
}
