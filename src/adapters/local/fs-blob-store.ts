import { createReadStream } from 'node:fs';
import { link } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { IngestError } from '../../errors.js';
import type { BlobStore, OpenedObject, StoredBlob, StoredObjectInfo, ThumbnailCopy, ThumbnailUpload } from '../../ports/blob-store.js';
import { mapStorageError } from '../../store/storage-errors.js';
import { nodeStorageFs } from '../../store/storage-fs.js';
import type { StorageFs } from '../../store/storage-fs.js';

const SHA256 = /^[0-9a-f]{64}$/;
const FILE_ID = /^[0-9a-zA-Z-]{1,64}$/;
const IMAGE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\.(jpg|webp)$/;

/**
 * The local {@link BlobStore}: content-addressed blobs under `<dataDir>/blobs/sha256/ab/cd/<hash>` and thumbnails under
 * `<dataDir>/thumbnails/<fileId>/`, moved in from the spool with fsync'd atomic renames (identical bytes are stored
 * once). Thumbnail keys are paths relative to the data dir. Remote names never become paths.
 */
export class FsBlobStore implements BlobStore {
  readonly blobsDir: string;
  readonly thumbnailsDir: string;

  constructor(readonly dataDir: string, readonly fsys: StorageFs = nodeStorageFs) {
    this.blobsDir = path.join(dataDir, 'blobs', 'sha256');
    this.thumbnailsDir = path.join(dataDir, 'thumbnails');
  }

  async init(): Promise<void> {
    try {
      for (const dir of [this.blobsDir, this.thumbnailsDir]) await this.fsys.mkdir(dir, { recursive: true });
    } catch (error) {
      throw mapStorageError(error, `the data dir ${this.dataDir}`);
    }
  }

  async close(): Promise<void> {}

  blobPath(sha256: string): string {
    if (!SHA256.test(sha256)) throw new IngestError('internal', `Not a SHA-256: ${sha256}`);
    return path.join(this.blobsDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async putBlob(localPath: string, sha256: string): Promise<StoredBlob> {
    const target = this.blobPath(sha256);
    try {
      await this.fsys.mkdir(path.dirname(target), { recursive: true });
      const existing = await this.statBlob(sha256);
      if (existing) {
        await this.fsys.rm(localPath, { force: true });
        return { sha256, bytes: existing.bytes };
      }
      await this.fsys.rename(localPath, target);
      // The blob's name, and the names of its two shard folders (new for a new prefix), survive a power loss.
      const shard = path.dirname(target);
      await Promise.all([this.syncDir(shard), this.syncDir(path.dirname(shard)), this.syncDir(this.blobsDir)]);
      return { sha256, bytes: (await this.fsys.stat(target)).size };
    } catch (error) {
      await this.fsys.rm(localPath, { force: true }).catch(() => undefined);
      throw mapStorageError(error, 'the downloaded file');
    }
  }

  async statBlob(sha256: string): Promise<StoredObjectInfo | undefined> {
    return this.statFile(this.blobPath(sha256));
  }

  async openBlob(sha256: string, range?: { start: number; end?: number }): Promise<OpenedObject> {
    return this.openFile(this.blobPath(sha256), `blob ${sha256}`, range);
  }

  async localBlobPath(sha256: string): Promise<string | undefined> {
    return (await this.statBlob(sha256)) ? this.blobPath(sha256) : undefined;
  }

  async deleteBlob(sha256: string): Promise<void> {
    await this.fsys.rm(this.blobPath(sha256), { force: true });
  }

  async *listBlobs(): AsyncIterable<StoredBlob & StoredObjectInfo> {
    for (const a of await this.fsys.readdir(this.blobsDir).catch(() => [] as string[])) {
      for (const b of await this.fsys.readdir(path.join(this.blobsDir, a)).catch(() => [] as string[])) {
        for (const name of await this.fsys.readdir(path.join(this.blobsDir, a, b)).catch(() => [] as string[])) {
          if (!SHA256.test(name)) continue;
          const info = await this.statBlob(name);
          if (info) yield { sha256: name, ...info };
        }
      }
    }
  }

  async putThumbnails(fileId: string, images: ThumbnailUpload[]): Promise<string[]> {
    const dir = this.thumbnailDir(fileId);
    for (const image of images) if (!IMAGE_NAME.test(image.name)) throw new IngestError('internal', `Bad thumbnail name: ${image.name}`);
    try {
      await this.fsys.rm(dir, { recursive: true, force: true });
      await this.fsys.mkdir(dir, { recursive: true });
      const targets = images.map((image) => path.join(dir, image.name));
      for (const [i, image] of images.entries()) await this.fsys.rename(image.localPath, targets[i]!);
      // Durable before the registry points at them: a completed file never lists a thumbnail a power loss took. The
      // file flushes run at once (the file system commits them together), then the folder's.
      await Promise.all(targets.map((target) => this.syncFile(target)));
      await Promise.all([this.syncDir(dir), this.syncDir(this.thumbnailsDir)]); // the file's folder is new
      return targets.map((target) => path.relative(this.dataDir, target));
    } catch (error) {
      await this.fsys.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      throw mapStorageError(error, 'thumbnails');
    }
  }

  /**
   * Hard-links another file's stored thumbnails into this file's folder: no bytes copied, and each name stays until
   * its own file's folder goes. The sources were flushed when stored; the new folder is flushed before returning.
   */
  async copyThumbnails(fileId: string, images: ThumbnailCopy[]): Promise<string[]> {
    const dir = this.thumbnailDir(fileId);
    for (const image of images) if (!IMAGE_NAME.test(image.name)) throw new IngestError('internal', `Bad thumbnail name: ${image.name}`);
    const sources = images.map((image) => this.thumbnailPath(image.fromKey));
    try {
      await this.fsys.rm(dir, { recursive: true, force: true });
      await this.fsys.mkdir(dir, { recursive: true });
      const targets = images.map((image) => path.join(dir, image.name));
      for (const [i, source] of sources.entries()) await link(source, targets[i]!);
      await Promise.all([this.syncDir(dir), this.syncDir(this.thumbnailsDir)]);
      return targets.map((target) => path.relative(this.dataDir, target));
    } catch (error) {
      await this.fsys.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      if ((error as NodeJS.ErrnoException)?.code === 'ENOENT') throw new IngestError('not_found', 'A thumbnail to copy is gone', { cause: error });
      throw mapStorageError(error, 'thumbnails');
    }
  }

  async listThumbnails(fileId: string): Promise<string[]> {
    const dir = this.thumbnailDir(fileId);
    const names = await this.fsys.readdir(dir).catch(() => [] as string[]);
    return names.map((name) => path.relative(this.dataDir, path.join(dir, name)));
  }

  async statThumbnail(key: string): Promise<StoredObjectInfo | undefined> {
    return this.statFile(this.thumbnailPath(key));
  }

  async openThumbnail(key: string): Promise<OpenedObject> {
    return this.openFile(this.thumbnailPath(key), `thumbnail ${key}`);
  }

  async deleteThumbnails(fileId: string): Promise<void> {
    await this.fsys.rm(this.thumbnailDir(fileId), { recursive: true, force: true });
  }

  async *listThumbnailOwners(): AsyncIterable<string> {
    for (const id of await this.fsys.readdir(this.thumbnailsDir).catch(() => [] as string[])) if (FILE_ID.test(id)) yield id;
  }

  private thumbnailDir(fileId: string): string {
    if (!FILE_ID.test(fileId)) throw new IngestError('internal', `Not a file id: ${fileId}`);
    return path.join(this.thumbnailsDir, fileId);
  }

  /** A thumbnail key (relative to the data dir) as a path, refused when it leaves the thumbnails folder. */
  private thumbnailPath(key: string): string {
    const full = path.resolve(this.dataDir, key);
    if (!full.startsWith(this.thumbnailsDir + path.sep)) throw new IngestError('not_found', `No thumbnail ${key}`);
    return full;
  }

  private async statFile(file: string): Promise<StoredObjectInfo | undefined> {
    const stat = await this.fsys.stat(file).catch(() => undefined);
    return stat?.isFile() ? { bytes: stat.size, modifiedAt: stat.mtimeMs } : undefined;
  }

  private async openFile(file: string, what: string, range?: { start: number; end?: number }): Promise<OpenedObject> {
    const info = await this.statFile(file);
    if (!info) throw new IngestError('not_found', `No ${what}`);
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? info.bytes - 1, info.bytes - 1);
    if (end < start) return { body: Readable.from([]), bytes: 0 };
    return { body: createReadStream(file, { start, end }), bytes: end - start + 1 };
  }

  private async syncFile(file: string): Promise<void> {
    const handle = await this.fsys.open(file, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private async syncDir(dir: string): Promise<void> {
    const handle = await this.fsys.open(dir, 'r').catch(() => undefined);
    if (!handle) return;
    await handle.sync().catch(() => undefined);
    await handle.close();
  }
}
