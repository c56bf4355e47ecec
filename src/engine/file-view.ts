import { IN_FLIGHT_STATUSES } from '../ports/file-records.js';
import type { FileRow, MediaInfo, SegmentRow, ThumbnailRow } from '../ports/registry.js';

/** The File object of the contract (Cloudglue `File` plus documented extras). */
export interface IngestFile {
  id: string;
  status: FileRow['status'];
  uri: string;
  bytes: number | null;
  created_at: number;
  updated_at: number;
  filename: string;
  metadata: Record<string, unknown> | null;
  media_type?: 'video' | 'audio';
  media_info?: MediaInfo;
  video_info?: Pick<MediaInfo, 'duration_seconds' | 'height' | 'width' | 'format' | 'has_audio'>;
  thumbnail_url?: string;
  source: string;
  source_metadata: Record<string, unknown> | null;
  url: string;
  canonical_url: string;
  content_sha256: string | null;
  error?: { code: string; message: string };
  progress?: FileProgress;
}

/**
 * `progress` of a pending/processing File (an extra of the contract). `attempt`, `retries` and `last_retry_error`
 * are extras of the extra: they make retries visible while they happen.
 */
export interface FileProgress {
  /**
   * What the run is doing: `resolving` (opening the source), `downloading`, `probing` (reading the stored media),
   * `thumbnails` (extracting images). Derived from the row, so every reader (events, GET, another process) agrees.
   */
  stage?: FileStage;
  bytes_received: number;
  bytes_total: number | null;
  /** The attempt in progress (1 for the first request; every retry or resume of the body adds one). */
  attempt?: number;
  /** Retries made so far in this run. */
  retries?: number;
  /** The last failure that was retried (present once a retry happened). */
  last_retry_error?: { code: string; message: string };
}

/** The stages a pending/processing file shows in `progress.stage`. */
export type FileStage = 'resolving' | 'downloading' | 'probing' | 'thumbnails';

/** The stage of an in-flight row: stored media info means thumbnails, a stored digest means probing. */
export function stageOf(row: Pick<FileRow, 'status' | 'content_sha256' | 'media_info'>): FileStage {
  if (row.status === 'pending') return 'resolving';
  if (row.media_info) return 'thumbnails';
  return row.content_sha256 ? 'probing' : 'downloading';
}

/** A Cloudglue `Thumbnail`. */
export interface IngestThumbnail {
  id: string;
  url: string;
  time: number;
  type: 'file' | 'segment';
  segment_id?: string;
  is_default: boolean;
  width: number;
  height: number;
}

/** A Cloudglue `FileSegment`. */
export interface IngestSegment {
  id: string;
  file_id: string;
  start_time: number;
  end_time: number;
  thumbnail_url: string;
  index: number;
}

/** How URLs in views are built. */
export interface ViewOptions {
  uriPrefix: string;
  publicBaseUrl: string;
}

/** The URL a thumbnail image is served at. */
export function thumbnailUrl(options: ViewOptions, thumbnail: Pick<ThumbnailRow, 'file_id' | 'id' | 'path'>): string {
  const extension = thumbnail.path.endsWith('.webp') ? 'webp' : 'jpg';
  return `${options.publicBaseUrl.replace(/\/$/, '')}/v1/files/${thumbnail.file_id}/thumbnails/${thumbnail.id}.${extension}`;
}

/** Row → File JSON. `defaultThumbnail` is the file's default thumbnail row when it has one. */
export function toFileView(row: FileRow, options: ViewOptions, defaultThumbnail?: ThumbnailRow): IngestFile {
  const file: IngestFile = {
    id: row.id,
    status: row.status,
    uri: `${options.uriPrefix}${row.id}`,
    bytes: row.bytes,
    created_at: row.created_at,
    updated_at: row.updated_at,
    filename: row.filename,
    metadata: row.metadata,
    source: row.source,
    source_metadata: row.source_metadata,
    url: row.url,
    canonical_url: row.canonical_url,
    content_sha256: row.content_sha256,
  };
  if (row.media_type) file.media_type = row.media_type;
  if (row.media_info) {
    file.media_info = row.media_info;
    if (row.media_type === 'video') {
      const { duration_seconds, height, width, format, has_audio } = row.media_info;
      file.video_info = { duration_seconds, height, width, format, has_audio };
    }
  }
  if (defaultThumbnail) file.thumbnail_url = thumbnailUrl(options, defaultThumbnail);
  if (row.status === 'failed' && row.error_code) file.error = { code: row.error_code, message: row.error_message ?? row.error_code };
  if (IN_FLIGHT_STATUSES.has(row.status) && row.progress_received !== null) {
    const progress: FileProgress = { stage: stageOf(row), bytes_received: row.progress_received, bytes_total: row.progress_total };
    if (row.attempt !== null && row.attempt !== undefined) progress.attempt = row.attempt;
    if (row.retries !== null && row.retries !== undefined) progress.retries = row.retries;
    if (row.retry_error_code) progress.last_retry_error = { code: row.retry_error_code, message: row.retry_error_message ?? row.retry_error_code };
    file.progress = progress;
  }
  return file;
}

export function toThumbnailView(row: ThumbnailRow, options: ViewOptions): IngestThumbnail {
  const view: IngestThumbnail = {
    id: row.id,
    url: thumbnailUrl(options, row),
    time: row.time,
    type: row.type,
    is_default: row.is_default,
    width: row.width,
    height: row.height,
  };
  if (row.segment_id) view.segment_id = row.segment_id;
  return view;
}

export function toSegmentView(row: SegmentRow, thumbnail: ThumbnailRow | undefined, options: ViewOptions): IngestSegment {
  return {
    id: row.id,
    file_id: row.file_id,
    start_time: row.start_time,
    end_time: row.end_time,
    thumbnail_url: thumbnail ? thumbnailUrl(options, thumbnail) : '',
    index: row.idx,
  };
}
