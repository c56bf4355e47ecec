/**
 * Rows of the hot reads as arrays (better-sqlite3's raw mode) turned into objects by literal: an object-mode row
 * costs a property-name lookup per column per row, which is most of the cost of reading one file. The column lists
 * are the tables' own, in table order (test/engine/hot-paths.test.ts checks them against the migrated schema), so
 * the objects are the ones `SELECT *` gives.
 */

/** The columns of `files`, in table order. */
export const FILE_COLUMNS = [
  'id', 'identity_hash', 'identity_key', 'status', 'url', 'canonical_url', 'source', 'filename', 'bytes', 'content_sha256',
  'metadata', 'media_type', 'media_info', 'source_metadata', 'error_code', 'error_message', 'progress_received',
  'progress_total', 'enable_segment_thumbnails', 'created_at', 'updated_at', 'owner', 'attempt', 'retries',
  'retry_error_code', 'retry_error_message', 'resume_state', 'run_token',
] as const;

/** The columns of `thumbnails`, in table order. */
export const THUMBNAIL_COLUMNS = ['id', 'file_id', 'type', 'time', 'segment_id', 'path', 'width', 'height', 'is_default', 'created_at'] as const;

/** `SELECT` list of {@link FILE_COLUMNS} for table alias `table`. */
export const selectList = (columns: readonly string[], table: string): string => columns.map((c) => `${table}.${c}`).join(', ');

/** A raw `files` row (columns as {@link FILE_COLUMNS}) as the object `SELECT *` gives, still encoded. */
export function fileObject(v: readonly unknown[]): Record<string, unknown> {
  return {
    id: v[0], identity_hash: v[1], identity_key: v[2], status: v[3], url: v[4], canonical_url: v[5], source: v[6], filename: v[7],
    bytes: v[8], content_sha256: v[9], metadata: v[10], media_type: v[11], media_info: v[12], source_metadata: v[13],
    error_code: v[14], error_message: v[15], progress_received: v[16], progress_total: v[17], enable_segment_thumbnails: v[18],
    created_at: v[19], updated_at: v[20], owner: v[21], attempt: v[22], retries: v[23], retry_error_code: v[24],
    retry_error_message: v[25], resume_state: v[26], run_token: v[27],
  };
}

/** A raw `thumbnails` row (columns as {@link THUMBNAIL_COLUMNS}) as the object `SELECT *` gives, still encoded. */
export function thumbnailObject(v: readonly unknown[]): Record<string, unknown> {
  return {
    id: v[0], file_id: v[1], type: v[2], time: v[3], segment_id: v[4], path: v[5], width: v[6], height: v[7], is_default: v[8], created_at: v[9],
  };
}

/**
 * `FROM` clause of the hot file reads: the file joined with its default thumbnail (the first `is_default` one by
 * time, as {@link THUMBNAIL_COLUMNS} under alias `t`, NULLs when it has none), so a File view is one statement and
 * one read transaction, and row and thumbnail come from the same snapshot.
 */
export const WITH_DEFAULT_THUMBNAIL =
  'LEFT JOIN thumbnails t ON t.id = (SELECT d.id FROM thumbnails d WHERE d.file_id = f.id AND d.is_default = 1 ORDER BY d.time ASC LIMIT 1)';
