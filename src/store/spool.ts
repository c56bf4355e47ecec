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

/** A finished spool file, hashed while it was written, ready for {@link BlobStore.putBlob}. */
export interface SpooledFile {
  path: string;
  sha256: string;
  bytes: number;
}

const FILE_ID = /^[0-9a-zA-Z-]{1,64}$/;

/**
 * This machine's scratch space under `<dataDir>/tmp`, in every mode (a cluster worker spools locally too): a download
 * streams into `<fileId>.part` (named by file id so a restart can find and resume it) while its SHA-256 is computed;
 * thumbnails are made in per-file work dirs. Finished files go to the {@link BlobStore}. Every file-system call goes
 * through a {@link StorageFs} facade (tests inject faults there).
 */
export class Spool {
  readonly tempDir: string;

  constructor(readonly dataDir: string, readonly fsys: StorageFs = nodeStorageFs) {
    this.tempDir = path.join(dataDir, 'tmp');
  }

  async init(): Promise<void> {
    try {
      await this.fsys.mkdir(this.tempDir, { recursive: true });
    } catch (error) {
      throw mapStorageError(error, `the data dir ${this.dataDir}`);
    }
  }

  /** A fresh temp path inside the spool. */
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

  /** Removes a spool path (file or folder). Never throws. */
  async remove(target: string): Promise<void> {
    await this.fsys.rm(target, { recursive: true, force: true }).catch(() => undefined);
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
   * Finishes a download: fsyncs it and checks a resumed one against its running hash. On failure the temp file is
   * removed.
   */
  async finishPartial(partial: PartialWrite): Promise<SpooledFile> {
    try {
      const { sha256, bytes } = await partial.finish();
      return { path: partial.path, sha256, bytes };
    } catch (error) {
      await partial.discard();
      throw isIngestError(error) ? error : mapStorageError(error, 'the downloaded file');
    }
  }

  /**
   * Streams `source` into the spool under a random temp name (not resumable). `onBytes` is called with the running
   * total. On any failure the temp file is removed and the error rethrown (file-system errors as `storage_error`).
   */
  async write(source: AsyncIterable<Buffer>, onBytes?: (total: number) => void): Promise<SpooledFile> {
    const partial = await PartialWrite.create(this.fsys, this.tempPath('.part'));
    try {
      await partial.append(source, onBytes);
    } catch (error) {
      await partial.discard();
      throw isIngestError(error) ? error : mapStorageError(error, 'the downloaded file');
    }
    return this.finishPartial(partial);
  }

  /**
   * Removes temp files left by a crash; called on start. Entries for which `keep(name)` is true (the download of a
   * file that will resume, anything of a file a live process works on) stay. Returns the names removed.
   */
  async removeOrphanTemps(keep: (name: string) => boolean | Promise<boolean> = () => false): Promise<string[]> {
    const entries = await this.fsys.readdir(this.tempDir).catch(() => [] as string[]);
    const orphans: string[] = [];
    for (const name of entries) if (!(await keep(name))) orphans.push(name);
    await Promise.all(orphans.map((e) => this.fsys.rm(path.join(this.tempDir, e), { recursive: true, force: true })));
    return orphans;
  }
}
