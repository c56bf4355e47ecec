import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { IngestError, isIngestError } from '../errors.js';
import { PartialWrite } from './partial-write.js';
import { nodeStorageFs } from './storage-fs.js';
import type { StorageFs } from './storage-fs.js';
import { mapStorageError } from './storage-errors.js';

export { mapStorageError, isStorageFault } from './storage-errors.js';
export { PartialWrite } from './partial-write.js';
export type { StorageFs, StorageFile } from './storage-fs.js';

/** What a finished write produced. */
export interface WrittenBlob {
  sha256: string;
  bytes: number;
  /** The blob's path after commit. */
  path: string;
}

const FILE_ID = /^[0-9a-zA-Z-]{1,64}$/;

/**
 * Content-addressed blob storage under `<dataDir>/blobs/sha256/ab/cd/<hash>`. A download streams into
 * `<dataDir>/tmp/<fileId>.part` (named by file id so a restart can find and resume it) while its SHA-256 is
 * computed, then moves into place with an fsync'd atomic rename; identical bytes are stored once. Remote names
 * never become paths. Every file-system call goes through a {@link StorageFs} facade (tests inject faults there).
 */
export class ContentAddressedStore {
  readonly blobsDir: string;
  readonly tempDir: string;
  readonly thumbnailsDir: string;

  constructor(readonly dataDir: string, readonly fsys: StorageFs = nodeStorageFs) {
    this.blobsDir = path.join(dataDir, 'blobs', 'sha256');
    this.tempDir = path.join(dataDir, 'tmp');
    this.thumbnailsDir = path.join(dataDir, 'thumbnails');
  }

  async init(): Promise<void> {
    try {
      for (const dir of [this.blobsDir, this.tempDir, this.thumbnailsDir]) await this.fsys.mkdir(dir, { recursive: true });
    } catch (error) {
      throw mapStorageError(error, `the data dir ${this.dataDir}`);
    }
  }

  blobPath(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new IngestError('internal', `Not a SHA-256: ${sha256}`);
    return path.join(this.blobsDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  /** A fresh temp path inside the data dir. */
  tempPath(suffix = ''): string {
    return path.join(this.tempDir, `${randomUUID()}${suffix}`);
  }

  /** The resumable temp file of one file's download. */
  partialPath(fileId: string): string {
    if (!FILE_ID.test(fileId)) throw new IngestError('internal', `Not a file id: ${fileId}`);
    return path.join(this.tempDir, `${fileId}.part`);
  }

  /** Starts the download temp file of `fileId` from zero. */
  createPartial(fileId: string): Promise<PartialWrite> {
    return PartialWrite.create(this.fsys, this.partialPath(fileId));
  }

  /** Picks up the download temp file of `fileId` at its durable length; undefined when it is missing or short. */
  reopenPartial(fileId: string, durableBytes: number): Promise<PartialWrite | undefined> {
    return PartialWrite.reopen(this.fsys, this.partialPath(fileId), durableBytes);
  }

  async removePartial(fileId: string): Promise<void> {
    await this.fsys.rm(this.partialPath(fileId), { force: true }).catch(() => undefined);
  }

  /** A scratch directory for one file's work (e.g. extracted frames), inside the temp dir and named by its id. */
  async workDir(fileId: string, purpose: string): Promise<string> {
    if (!FILE_ID.test(fileId) || !/^[a-z]+$/.test(purpose)) throw new IngestError('internal', `Bad work dir name: ${fileId} ${purpose}`);
    const dir = path.join(this.tempDir, `${fileId}.${purpose}-${randomUUID().slice(0, 8)}`);
    await this.fsys.mkdir(dir, { recursive: true }).catch((error: unknown) => {
      throw mapStorageError(error, 'a work directory');
    });
    return dir;
  }

  /**
   * Finishes a download: fsyncs it, checks a resumed one against its running hash, and moves it to its content
   * address (or drops it when that blob exists). On failure the temp file is removed.
   */
  async commitPartial(partial: PartialWrite): Promise<WrittenBlob> {
    try {
      const { sha256, bytes } = await partial.finish();
      return { sha256, bytes, path: await this.commit(partial.path, sha256) };
    } catch (error) {
      await partial.discard();
      throw isIngestError(error) ? error : mapStorageError(error, 'the downloaded file');
    }
  }

  /**
   * Streams `source` into the store under a random temp name (not resumable). `onBytes` is called with the
   * running total. On any failure the temp file is removed and the error rethrown (file-system errors as `storage_error`).
   */
  async write(source: AsyncIterable<Buffer>, onBytes?: (total: number) => void): Promise<WrittenBlob> {
    const partial = await PartialWrite.create(this.fsys, this.tempPath('.part'));
    try {
      await partial.append(source, onBytes);
    } catch (error) {
      await partial.discard();
      throw isIngestError(error) ? error : mapStorageError(error, 'the downloaded file');
    }
    return this.commitPartial(partial);
  }

  /** Moves a fully written temp file to its content address (or drops it when the blob exists). */
  private async commit(temp: string, sha256: string): Promise<string> {
    const target = this.blobPath(sha256);
    await this.fsys.mkdir(path.dirname(target), { recursive: true });
    const exists = await this.fsys.stat(target).then((s) => s.isFile(), () => false);
    if (exists) {
      await this.fsys.rm(temp, { force: true });
      return target;
    }
    await this.fsys.rename(temp, target);
    await this.syncDir(path.dirname(target));
    return target;
  }

  async hasBlob(sha256: string): Promise<boolean> {
    return this.fsys.stat(this.blobPath(sha256)).then((s) => s.isFile(), () => false);
  }

  async removeBlob(sha256: string): Promise<void> {
    await this.fsys.rm(this.blobPath(sha256), { force: true });
  }

  /** Folder of one file's thumbnails. */
  thumbnailDir(fileId: string): string {
    return path.join(this.thumbnailsDir, fileId);
  }

  /** True when `relative` (a path relative to the data dir) is a regular file. */
  async exists(relative: string): Promise<boolean> {
    return this.fsys.stat(path.join(this.dataDir, relative)).then((s) => s.isFile(), () => false);
  }

  /** fsyncs files and then their directories, so what they contain survives a power loss. */
  async syncFiles(files: string[]): Promise<void> {
    for (const file of files) {
      const handle = await this.fsys.open(file, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (const dir of new Set(files.map((f) => path.dirname(f)))) await this.syncDir(dir);
  }

  /**
   * Removes temp files left by a crash; called on start. Entries for which `keep(name)` is true (the download of a
   * file that will resume, anything of a file a live process works on) stay. Returns the names removed.
   */
  async removeOrphanTemps(keep: (name: string) => boolean = () => false): Promise<string[]> {
    const entries = await this.fsys.readdir(this.tempDir).catch(() => [] as string[]);
    const orphans = entries.filter((name) => !keep(name));
    await Promise.all(orphans.map((e) => this.fsys.rm(path.join(this.tempDir, e), { recursive: true, force: true })));
    return orphans;
  }

  /** Thumbnail folders of files the registry does not know (a crash between delete and cleanup). */
  async removeOrphanThumbnailDirs(isKnownFile: (fileId: string) => boolean): Promise<string[]> {
    const entries = await this.fsys.readdir(this.thumbnailsDir).catch(() => [] as string[]);
    const orphans = entries.filter((id) => !isKnownFile(id));
    await Promise.all(orphans.map((id) => this.fsys.rm(this.thumbnailDir(id), { recursive: true, force: true })));
    return orphans;
  }

  /**
   * Blobs no file references, last written more than `graceMs` ago (a younger one may belong to a download that a
   * live process is about to record). Returns the hashes removed.
   */
  async removeUnreferencedBlobs(isReferenced: (sha256: string) => boolean, graceMs: number, now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    for (const a of await this.fsys.readdir(this.blobsDir).catch(() => [] as string[])) {
      for (const b of await this.fsys.readdir(path.join(this.blobsDir, a)).catch(() => [] as string[])) {
        for (const name of await this.fsys.readdir(path.join(this.blobsDir, a, b)).catch(() => [] as string[])) {
          if (!/^[0-9a-f]{64}$/.test(name) || isReferenced(name)) continue;
          const stat = await this.fsys.stat(this.blobPath(name)).catch(() => undefined);
          if (!stat || now - stat.mtimeMs < graceMs) continue;
          await this.removeBlob(name);
          removed.push(name);
        }
      }
    }
    return removed;
  }

  private async syncDir(dir: string): Promise<void> {
    const handle = await this.fsys.open(dir, 'r').catch(() => undefined);
    if (!handle) return;
    await handle.sync().catch(() => undefined);
    await handle.close();
  }
}
