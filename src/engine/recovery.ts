import type { Logger } from 'pino';
import type { BlobStore } from '../ports/blob-store.js';
import { IN_FLIGHT_STATUSES } from '../ports/file-records.js';
import type { FileRow, Registry } from '../ports/registry.js';
import type { Spool } from '../store/spool.js';

/** What recovery works with: the ports, the local spool, and who is alive. */
export interface RecoveryDeps {
  registry: Registry;
  blobs: BlobStore;
  spool: Spool;
  logger: Logger;
  /** Who this process is (the owner it records when it claims a file). */
  owner: string;
  /** True when a file is being worked on by this engine. */
  isActive: (fileId: string) => boolean;
  /** True when `owner` is another live worker. */
  isLiveOwner: (owner: string | null) => Promise<boolean>;
}

/** What a start-up check found. */
export interface RecoveryPlan {
  /** Files a dead process left pending/processing: to run again (their spool download is kept for a resume). */
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
 * The start-up consistency pass, on the ports only (safe while other processes share the registry: nothing of a file
 * a live worker owns is touched).
 * 1. Files left `pending`/`processing` by a dead owner are collected to resume.
 * 2. Spool entries are removed unless they are the `<id>.part` download of a file to resume, or belong to a live owner.
 * 3. Every `completed` file is checked: a missing blob or thumbnail resets it to `pending` (it is processed again,
 *    and fails with the source's code when the source is gone), so a completed file always has its outputs.
 * 4. Thumbnails of unknown files, and blobs no file references (older than an hour), are removed.
 */
export async function planRecovery(deps: RecoveryDeps): Promise<RecoveryPlan> {
  const { registry, blobs, spool, logger } = deps;
  const resume: FileRow[] = [];
  for (const row of await registry.filesWithStatus([...IN_FLIGHT_STATUSES])) {
    if (!deps.isActive(row.id) && !(await deps.isLiveOwner(row.owner))) resume.push(row);
  }
  const resumeIds = new Set(resume.map((r) => r.id));

  const removedTemps = await spool.removeOrphanTemps(async (name) => {
    const id = name.split('.')[0]!;
    if (deps.isActive(id)) return true;
    if (resumeIds.has(id)) return name === `${id}.part`;
    // Looked up now, not from the list above: a live process may have started the file since.
    const row = await registry.getFile(id);
    return row !== undefined && IN_FLIGHT_STATUSES.has(row.status) && (await deps.isLiveOwner(row.owner));
  });

  const reprocess: FileRow[] = [];
  for (const file of await registry.filesWithStatus(['completed'])) {
    const blobOk = file.content_sha256 !== null && (await blobs.statBlob(file.content_sha256)) !== undefined;
    let thumbnailsOk = true;
    if (file.media_type === 'video') {
      const thumbnails = await registry.thumbnails(file.id);
      const present = await Promise.all(thumbnails.map(async (t) => (await blobs.statThumbnail(t.path)) !== undefined));
      thumbnailsOk = thumbnails.some((t) => t.is_default) && present.every(Boolean);
    }
    if (blobOk && thumbnailsOk) continue;
    logger.warn({ fileId: file.id, blob: blobOk, thumbnails: thumbnailsOk }, 'a completed file lost its outputs: processing it again');
    const claim = await registry.claim(file.id, deps.owner, {}, file.run_token);
    if (!claim) continue;
    await registry.replaceRenditions(file.id, claim.token, [], []);
    reprocess.push(await registry.release(file.id, claim.token, {
      status: 'pending', progress_received: null, progress_total: null,
      ...(blobOk ? {} : { content_sha256: null, bytes: null }),
    }));
  }

  const removedThumbnailDirs: string[] = [];
  for await (const id of blobs.listThumbnailOwners()) {
    if (await registry.getFile(id)) continue;
    await blobs.deleteThumbnails(id);
    removedThumbnailDirs.push(id);
  }
  const removedBlobs: string[] = [];
  const now = Date.now();
  for await (const blob of blobs.listBlobs()) {
    if (now - blob.modifiedAt < BLOB_GRACE_MS || (await registry.blobReferences(blob.sha256)) > 0) continue;
    await blobs.deleteBlob(blob.sha256);
    removedBlobs.push(blob.sha256);
  }
  if (removedTemps.length + removedThumbnailDirs.length + removedBlobs.length > 0) {
    logger.info({ temps: removedTemps.length, thumbnailDirs: removedThumbnailDirs.length, blobs: removedBlobs.length }, 'removed what a crash left behind');
  }
  return { resume, reprocess, removedTemps, removedThumbnailDirs, removedBlobs };
}
