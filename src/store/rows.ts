/** Processing status of a file. */
export type FileStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'not_applicable';

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
  /** `host:pid` of the process working on it, null when idle. */
  owner: string | null;
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

/**
 * What a later run needs to resume a download from `<dataDir>/tmp/<fileId>.part`: the durable length, and the
 * validators and total length of the response the bytes came from (a resume is accepted only when they match).
 */
export interface ResumeState {
  /** Bytes of the temp file that were fdatasync'd. */
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

/** One row of `thumbnails`; `path` is relative to the data dir. */
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
