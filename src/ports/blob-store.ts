import type { Readable } from 'node:stream';

/** What {@link BlobStore.statBlob} / {@link BlobStore.statThumbnail} know of a stored object. */
export interface StoredObjectInfo {
  bytes: number;
  /** Last write, ms since the epoch (recovery spares young unreferenced blobs). */
  modifiedAt: number;
}

/** A blob in storage, by content hash. */
export interface StoredBlob {
  sha256: string;
  bytes: number;
}

/** A thumbnail image to store: a finished local file. */
export interface ThumbnailUpload {
  /** File name inside the file's thumbnail folder: `[A-Za-z0-9_-][A-Za-z0-9._-]*` with a `.jpg`/`.webp` extension. */
  name: string;
  /** The finished local file (the caller removes it afterwards; the store may move it instead of copying). */
  localPath: string;
}

/** A thumbnail stored already (another file's, of the same content) to store again under a file. */
export interface ThumbnailCopy {
  /** File name inside the target file's thumbnail folder (as {@link ThumbnailUpload.name}). */
  name: string;
  /** The stored thumbnail's key (as {@link BlobStore.putThumbnails} returned it). */
  fromKey: string;
}

/** An object opened for reading. */
export interface OpenedObject {
  body: Readable;
  bytes: number;
}

/** Where a client can fetch a thumbnail without the server streaming it (e.g. a presigned S3 URL). */
export interface ThumbnailLink {
  url: string;
  /** When the link stops working, ms since the epoch. */
  expiresAt: number;
}

/**
 * The blob store port: finished media by SHA-256 and each file's thumbnails. Downloads never stream into it: the
 * engine writes and hashes into a local spool file first, then {@link putBlob}s it (the local adapter renames it
 * into `<dataDir>/blobs/sha256/ab/cd/<hash>`, an S3 adapter uploads it to `blobs/sha256/<hash>` when absent).
 * Keys never come from remote names. Failures to reach or write storage throw `IngestError('storage_error')`.
 */
export interface BlobStore {
  /** Creates what the store needs (folders, bucket check); idempotent. */
  init(): Promise<void>;
  close(): Promise<void>;

  // ── blobs ──────────────────────────────────────────────────────────────────────────────────────────────────────
  /**
   * Stores the finished local file `localPath` whose SHA-256 is `sha256` (computed while it was written), durably,
   * unless that blob exists already. The local file is consumed (moved or removed) either way.
   */
  putBlob(localPath: string, sha256: string): Promise<StoredBlob>;
  statBlob(sha256: string): Promise<StoredObjectInfo | undefined>;
  /** Reads a blob, optionally a byte range (`end` inclusive). Throws `not_found` when absent. */
  openBlob(sha256: string, range?: { start: number; end?: number }): Promise<OpenedObject>;
  /**
   * A local path of the blob when the store keeps it on this machine's disk (the local adapter), so ffprobe and
   * ffmpeg read it in place; undefined otherwise, and the engine copies {@link openBlob} into its spool.
   */
  localBlobPath(sha256: string): Promise<string | undefined>;
  /** Removes a blob (absent is fine). The caller checked nothing references it. */
  deleteBlob(sha256: string): Promise<void>;
  /** Every stored blob (recovery removes those nothing references). */
  listBlobs(): AsyncIterable<StoredBlob & StoredObjectInfo>;

  // ── thumbnails ─────────────────────────────────────────────────────────────────────────────────────────────────
  /**
   * Stores a file's thumbnails durably (all or none: on failure nothing of this call stays) and returns their keys in
   * order, which the registry records as `ThumbnailRow.path`. Images of the file stored earlier under other names stay
   * until {@link deleteThumbnails}.
   */
  putThumbnails(fileId: string, images: ThumbnailUpload[]): Promise<string[]>;
  /**
   * Stores thumbnails another file of the same content has already stored as this file's (derived work reused by
   * content): durably, all or none, independent of the source (deleting either file keeps the other's). The local
   * adapter hard-links them, an S3 adapter copies them server-side. Returns the new keys in order. Throws
   * `not_found` when a source is gone (its file was deleted or failed meanwhile): the caller then makes its own.
   */
  copyThumbnails(fileId: string, images: ThumbnailCopy[]): Promise<string[]>;
  /** The keys stored for a file. */
  listThumbnails(fileId: string): Promise<string[]>;
  statThumbnail(key: string): Promise<StoredObjectInfo | undefined>;
  /** Reads a thumbnail by key. Throws `not_found` when absent. */
  openThumbnail(key: string): Promise<OpenedObject>;
  /** A direct link to a thumbnail when the store can make one (S3 presigned URL); undefined for the local store. */
  thumbnailLink?(key: string, ttlSeconds: number): Promise<ThumbnailLink | undefined>;
  /** Removes every thumbnail of a file (absent is fine). */
  deleteThumbnails(fileId: string): Promise<void>;
  /** File ids that have thumbnails stored (recovery removes those of files the registry does not know). */
  listThumbnailOwners(): AsyncIterable<string>;
}
