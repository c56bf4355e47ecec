import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { IngestError, isIngestError } from '../errors.js';

/** What a finished write produced. */
export interface WrittenBlob {
  sha256: string;
  bytes: number;
  /** The blob's path after commit. */
  path: string;
}

const STORAGE_CODES = new Set(['ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'EDQUOT', 'EIO']);

/** Turns file-system failures into `storage_error`, keeping other IngestErrors. */
export function mapStorageError(error: unknown, what: string): IngestError {
  if (isIngestError(error)) return error;
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  if (STORAGE_CODES.has(code)) {
    const reason = code === 'ENOSPC' || code === 'EDQUOT' ? 'the disk is full' : code === 'EROFS' ? 'the data dir is read-only' : `${code}`;
    return new IngestError('storage_error', `Could not write ${what}: ${reason}`, { cause: error });
  }
  return new IngestError('storage_error', `Could not write ${what}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

/**
 * Content-addressed blob storage under `<dataDir>/blobs/sha256/ab/cd/<hash>`. Bodies stream into a temp file
 * while their SHA-256 is computed, then move into place with an fsync'd atomic rename; identical bytes are
 * stored once. Remote names never become paths.
 */
export class ContentAddressedStore {
  readonly blobsDir: string;
  readonly tempDir: string;
  readonly thumbnailsDir: string;

  constructor(readonly dataDir: string) {
    this.blobsDir = path.join(dataDir, 'blobs', 'sha256');
    this.tempDir = path.join(dataDir, 'tmp');
    this.thumbnailsDir = path.join(dataDir, 'thumbnails');
  }

  async init(): Promise<void> {
    for (const dir of [this.blobsDir, this.tempDir, this.thumbnailsDir]) await fs.mkdir(dir, { recursive: true });
  }

  blobPath(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new IngestError('internal', `Not a SHA-256: ${sha256}`);
    return path.join(this.blobsDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  /** A fresh temp path inside the data dir. */
  tempPath(suffix = ''): string {
    return path.join(this.tempDir, `${randomUUID()}${suffix}`);
  }

  /**
   * Streams `source` into the store. `onBytes` is called with the running total. On any failure the temp
   * file is removed and the error rethrown (file-system errors as `storage_error`).
   */
  async write(source: AsyncIterable<Buffer> | NodeJS.ReadableStream, onBytes?: (total: number) => void): Promise<WrittenBlob> {
    const temp = this.tempPath('.part');
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
        hash.update(chunk);
        bytes += chunk.length;
        onBytes?.(bytes);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(source as NodeJS.ReadableStream, meter, createWriteStream(temp, { highWaterMark: 1 << 20 }));
      const handle = await fs.open(temp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      const sha256 = hash.digest('hex');
      return { sha256, bytes, path: await this.commit(temp, sha256) };
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw isIngestError(error) ? error : mapStorageError(error, 'the downloaded file');
    }
  }

  /** Moves a fully written temp file to its content address (or drops it when the blob exists). */
  private async commit(temp: string, sha256: string): Promise<string> {
    const target = this.blobPath(sha256);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const exists = await fs.stat(target).then((s) => s.isFile(), () => false);
    if (exists) {
      await fs.rm(temp, { force: true });
      return target;
    }
    await fs.rename(temp, target);
    await syncDir(path.dirname(target));
    return target;
  }

  async hasBlob(sha256: string): Promise<boolean> {
    return fs.stat(this.blobPath(sha256)).then((s) => s.isFile(), () => false);
  }

  async removeBlob(sha256: string): Promise<void> {
    await fs.rm(this.blobPath(sha256), { force: true });
  }

  /** Folder of one file's thumbnails. */
  thumbnailDir(fileId: string): string {
    return path.join(this.thumbnailsDir, fileId);
  }

  /** Removes every temp file (left by a crash); called on start. Returns how many were removed. */
  async removeOrphanTemps(): Promise<number> {
    const entries = await fs.readdir(this.tempDir).catch(() => [] as string[]);
    await Promise.all(entries.map((e) => fs.rm(path.join(this.tempDir, e), { recursive: true, force: true })));
    return entries.length;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close();
}
