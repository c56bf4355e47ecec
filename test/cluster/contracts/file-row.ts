// A complete file row for registry tests (no test-runner imports: child processes use it too).
import { randomUUID } from 'node:crypto';
import type { FileRow } from '../../../src/ports/file-records.js';

/** A complete pending file row; `overrides` win. */
export function fileRow(overrides: Partial<FileRow> = {}): FileRow {
  const id = overrides.id ?? `file_${randomUUID()}`;
  return {
    id,
    identity_hash: `identity-${randomUUID()}`,
    identity_key: 'direct:https://media.example.com/a.mp4',
    status: 'pending',
    url: 'https://media.example.com/a.mp4',
    canonical_url: 'https://media.example.com/a.mp4',
    source: 'direct',
    filename: 'a.mp4',
    bytes: null,
    content_sha256: null,
    metadata: null,
    media_type: null,
    media_info: null,
    source_metadata: null,
    error_code: null,
    error_message: null,
    progress_received: null,
    progress_total: null,
    enable_segment_thumbnails: true,
    created_at: Date.now(),
    updated_at: Date.now(),
    owner: 'worker-a',
    run_token: null,
    attempt: null,
    retries: null,
    retry_error_code: null,
    retry_error_message: null,
    resume_state: null,
    ...overrides,
  };
}
