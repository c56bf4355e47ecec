/**
 * The records the engine keeps per file, as every {@link Registry} adapter stores and returns them.
 * Column names are snake_case because they are the stored shape (SQLite and Postgres alike).
 */

/** Every processing status of a file, in lifecycle order. The one list the rest of the code derives from. */
export const FILE_STATUSES = ['pending', 'processing', 'completed', 'failed', 'not_applicable'] as const;

/** Processing status of a file. */
export type FileStatus = (typeof FILE_STATUSES)[number];

/** Statuses after which a file run is over (a `failed` file may be synced again, which starts a new run). */
export const TERMINAL_STATUSES: ReadonlySet<FileStatus> = new Set<FileStatus>(['completed', 'failed', 'not_applicable']);

/** Statuses of a file whose run is (or was, if its owner died) in flight. */
export const IN_FLIGHT_STATUSES: ReadonlySet<FileStatus> = new Set<FileStatus>(['pending', 'processing']);

/** True when `status` ends a run. */
export function isTerminalStatus(status: FileStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/**
 * The fencing token of one run of one file, handed out by {@link Registry.claim} (and by
 * {@link Registry.insertFileOnce} for the run that created the row). Opaque to the engine; an adapter may use a
 * counter, a UUID or a database sequence. Every write a run makes carries it, so a run that was presumed dead and
 * comes back cannot overwrite the state of the run that replaced it.
 */
export type RunToken = string & { readonly __brand: 'RunToken' };

/** One row of `files` (JSON columns decoded). */
export interface FileRow {
  id: string;
  identity_hash: string;
  identity_key: string;
  status: FileStatus;
  url: string;
  canonical_url: string;
  source: string;
  filename: string;
  bytes: number | null;
  content_sha256: string | null;
  metadata: Record<string, unknown> | null;
  media_type: 'video' | 'audio' | null;
  media_info: MediaInfo | null;
  source_metadata: Record<string, unknown> | null;
  error_code: string | null;
  error_message: string | null;
  progress_received: number | null;
  progress_total: number | null;
  enable_segment_thumbnails: boolean;
  created_at: number;
  updated_at: number;
  /** Who works on it (`host:pid` locally, a worker id in a cluster), null when idle. */
  owner: string | null;
  /** The fencing token of the run in progress, null when idle. Written only by the {@link Registry}. */
  run_token: RunToken | null;
  /** The attempt in progress of the current run (1-based), null when idle. */
  attempt: number | null;
  /** Retries made in the current run. */
  retries: number | null;
  /** The last failure that was retried in the current run. */
  retry_error_code: string | null;
  retry_error_message: string | null;
  /** Where an interrupted download can resume (null when there is nothing to resume). */
  resume_state: ResumeState | null;
}

/** The columns a run may change through {@link Registry.update}: never the identity, the id or the token. */
export type FilePatch = Partial<Omit<FileRow, 'id' | 'identity_hash' | 'identity_key' | 'created_at' | 'updated_at' | 'run_token'>>;

/** The columns a user may change (the `update` command): not fenced, a run never writes them. */
export type UserPatch = Partial<Pick<FileRow, 'metadata' | 'filename'>>;

/**
 * What a later run needs to resume a download from the worker's spool file of this file: the durable length, and
 * the validators and total length of the response the bytes came from (a resume is accepted only when they match).
 */
export interface ResumeState {
  /** Bytes of the spool file that were fdatasync'd. */
  bytes: number;
  etag: string | null;
  last_modified: string | null;
  /** Full length of the media, when known. */
  total: number | null;
}

/** The unified media info of the File object. */
export interface MediaInfo {
  duration_seconds: number | null;
  width: number | null;
  height: number | null;
  sample_rate: number | null;
  channels: number | null;
  bitrate: number | null;
  format: string | null;
  has_audio: boolean | null;
}

/** One row of `thumbnails`; `path` is the {@link BlobStore} key of the image (relative to the data dir locally). */
export interface ThumbnailRow {
  id: string;
  file_id: string;
  type: 'file' | 'segment';
  time: number;
  segment_id: string | null;
  path: string;
  width: number;
  height: number;
  is_default: boolean;
  created_at: number;
}

/** One row of `segments`. */
export interface SegmentRow {
  id: string;
  file_id: string;
  idx: number;
  start_time: number;
  end_time: number;
  thumbnail_id: string | null;
}
