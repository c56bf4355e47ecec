import type { Logger } from 'pino';
import type { ContentAddressedStore } from '../store/blob-store.js';
import type { Registry } from '../store/registry.js';
import type { FileRow } from '../store/rows.js';

/** What recovery needs from the engine. */
export interface RecoveryDeps {
  registry: Registry;
  store: ContentAddressedStore;
  logger: Logger;
  /** True when a file is being worked on by this engine. */
  isActive: (fileId: string) => boolean;
  /** True when `owner` (`host:pid`) is another live process on this host. */
  isLiveOwner: (owner: string | null) => boolean;
}

/** What a start-up check found. */
export interface RecoveryPlan {
  /** Files a dead process left pending/processing: to run again (their temp download is kept for a resume). */
  resume: FileRow[];
  /** Completed files whose blob or thumbnails are missing: reset to `pending`, to process again. */
  reprocess: FileRow[];
  removedTemps: string[];
  removedThumbnailDirs: string[];
  removedBlobs: string[];
}

/** An unreferenced blob younger than this may belong to a download a live process is about to record. */
const BLOB_GRACE_MS = 60 * 60 * 1000;

/**
 * The start-up consistency pass over the registry and the blob store (safe while other processes share the data
 * dir: nothing of a file a live process owns is touched).
 * 1. Files left `pending`/`processing` by a dead owner are collected to resume.
 * 2. Temp entries are removed unless they are the `<id>.part` download of a file to resume, or belong to a live owner.
 * 3. Every `completed` file is checked: a missing blob or thumbnail resets it to `pending` (it is processed again,
 *    and fails with the source's code when the source is gone), so a completed file always has its outputs.
 * 4. Thumbnail folders of unknown files, and blobs no file references (older than an hour), are removed.
 */
export async function planRecovery(deps: RecoveryDeps): Promise<RecoveryPlan> {
  const { registry, store, logger } = deps;
  const resume = registry
    .filesWithStatus(['pending', 'processing'])
    .filter((row) => !deps.isActive(row.id) && !deps.isLiveOwner(row.owner));
  const resumeIds = new Set(resume.map((r) => r.id));

  const removedTemps = await store.removeOrphanTemps((name) => {
    const id = name.split('.')[0]!;
    if (deps.isActive(id)) return true;
    if (resumeIds.has(id)) return name === `${id}.part`;
    // Looked up now, not from the list above: a live process may have started the file since.
    const row = registry.getFile(id);
    return row !== undefined && (row.status === 'pending' || row.status === 'processing') && deps.isLiveOwner(row.owner);
  });

  const reprocess: FileRow[] = [];
  for (const file of registry.completedFiles()) {
    const blobOk = file.content_sha256 !== null && (await store.hasBlob(file.content_sha256));
    let thumbnailsOk = true;
    if (file.media_type === 'video') {
      const thumbnails = registry.thumbnails(file.id);
      thumbnailsOk = thumbnails.some((t) => t.is_default) && (await Promise.all(thumbnails.map((t) => store.exists(t.path)))).every(Boolean);
    }
    if (blobOk && thumbnailsOk) continue;
    logger.warn({ fileId: file.id, blob: blobOk, thumbnails: thumbnailsOk }, 'a completed file lost its outputs: processing it again');
    registry.replaceRenditions(file.id, [], []);
    const reset = registry.updateFile(file.id, {
      status: 'pending', owner: null, progress_received: null, progress_total: null,
      ...(blobOk ? {} : { content_sha256: null, bytes: null }),
    });
    if (reset) reprocess.push(reset);
  }

  const removedThumbnailDirs = await store.removeOrphanThumbnailDirs((id) => registry.hasFile(id));
  const removedBlobs = await store.removeUnreferencedBlobs((sha) => registry.blobReferences(sha) > 0, BLOB_GRACE_MS);
  if (removedTemps.length + removedThumbnailDirs.length + removedBlobs.length > 0) {
    logger.info({ temps: removedTemps.length, thumbnailDirs: removedThumbnailDirs.length, blobs: removedBlobs.length }, 'removed what a crash left behind');
  }
  return { resume, reprocess, removedTemps, removedThumbnailDirs, removedBlobs };
}
