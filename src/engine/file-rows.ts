import { createHash } from 'node:crypto';
import type { SourcePlugin } from '../plugin-api.js';
import type { FileRow } from '../ports/registry.js';
import { sanitizeFilename } from '../stages/filename.js';
import type { RetryBudget } from './backoff.js';
import type { PreparedSource } from './transfer.js';

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The display name: Content-Disposition, else the plugin's suggestion, else the URL's last segment. */
export function displayFilename(prepared: PreparedSource): string {
  const { opened, resolved } = prepared;
  return opened.dispositionFilename ?? sanitizeFilename(resolved.filename) ?? opened.urlFilename ?? 'file';
}

/** Provenance: the plugin's, else what the media response told. */
export function sourceMetadataOf(plugin: SourcePlugin, prepared: PreparedSource): Record<string, unknown> | null {
  if (prepared.resolved.sourceMetadata) return prepared.resolved.sourceMetadata;
  return { source_type: plugin.id, ...prepared.opened.httpInfo };
}

/** The row of a new file whose media response is open (status `processing`, owned by this process). */
export function newFileRow(
  url: URL, plugin: SourcePlugin, prepared: PreparedSource, budget: RetryBudget,
  options: { id: string; owner: string; metadata: Record<string, unknown> | null; segmentThumbnails: boolean },
): FileRow {
  const identity = prepared.resolved.identity;
  const now = Date.now();
  return {
    id: options.id, identity_hash: sha256(identity.key), identity_key: identity.key, status: 'processing',
    url: url.href, canonical_url: identity.canonicalUrl, source: plugin.id,
    filename: displayFilename(prepared), bytes: null, content_sha256: null,
    metadata: options.metadata, media_type: null, media_info: null,
    source_metadata: sourceMetadataOf(plugin, prepared), error_code: null, error_message: null,
    progress_received: 0, progress_total: prepared.opened.declaredBytes,
    enable_segment_thumbnails: options.segmentThumbnails, created_at: now, updated_at: now, owner: options.owner,
    attempt: budget.attempt, retries: budget.retries, retry_error_code: budget.lastError?.code ?? null,
    retry_error_message: budget.lastError?.message ?? null, resume_state: null, run_token: null,
  };
}
