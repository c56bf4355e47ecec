import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { IngestError, isIngestError } from '../errors.js';
import type { StorageFile, StorageFs } from './storage-fs.js';
import { mapStorageError } from './storage-errors.js';

/** Received bytes are written in blocks of about this size. */
const FLUSH_BYTES = 1 << 20;
/** The reused write block: a flush holds at most FLUSH_BYTES plus one received chunk. */
const BLOCK_BYTES = FLUSH_BYTES + (256 << 10);

/**
 * A download being written to its temp file (`<dataDir>/tmp/<fileId>.part`), resumable: bytes are appended at the
 * end, the SHA-256 state is kept across appends (and rebuilt from disk when a later process picks the file up),
 * and {@link PartialWrite.checkpoint} makes the bytes so far durable so a resume never trusts unsynced data.
 * File-system failures surface as `storage_error`; errors of the source being appended pass through unchanged,
 * after every byte received before them has been written.
 */
export class PartialWrite {
  /** Bytes on disk and fdatasync'd: what a later process may resume from. */
  durableBytes: number;
  /** True when the bytes came from more than one response or from an earlier process. */
  resumed: boolean;
  private written: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private closed = false;
  /** The reused write block of {@link PartialWrite.gather}. */
  private block: Buffer | undefined;
  /** A background fdatasync in flight (see {@link PartialWrite.syncInBackground}). */
  private syncing: Promise<void> | undefined;

  private constructor(
    private readonly fsys: StorageFs,
    readonly path: string,
    private handle: StorageFile,
    private hash: Hash,
    bytes: number,
  ) {
    this.written = bytes;
    this.durableBytes = bytes;
    this.resumed = bytes > 0;
  }

  /** Starts an empty temp file at `path` (truncating any). */
  static async create(fsys: StorageFs, path: string): Promise<PartialWrite> {
    const handle = await storage(() => fsys.open(path, 'w+'), 'the download temp file');
    return new PartialWrite(fsys, path, handle, createHash('sha256'), 0);
  }

  /**
   * Reopens a temp file left by an earlier run, keeping its first `keepBytes` bytes (the last durable checkpoint)
   * and rehashing them. Undefined when the file is missing or shorter than that.
   */
  static async reopen(fsys: StorageFs, path: string, keepBytes: number): Promise<PartialWrite | undefined> {
    if (!(keepBytes > 0)) return undefined;
    const handle = await fsys.open(path, 'r+').catch(() => undefined);
    if (!handle) return undefined;
    try {
      const size = (await handle.stat()).size;
      if (size < keepBytes) {
        await handle.close();
        return undefined;
      }
      if (size > keepBytes) await handle.truncate(keepBytes);
      const hash = await hashRange(handle, keepBytes);
      return new PartialWrite(fsys, path, handle, hash, keepBytes);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw mapStorageError(error, 'the download temp file');
    }
  }

  /** Bytes received so far (written or about to be). */
  get bytes(): number {
    return this.written + this.pendingBytes;
  }

  /**
   * Appends everything `source` yields. `onChunk` runs after each chunk with the running total (and is awaited).
   * When the source fails, the bytes received before the failure are written, then its error is rethrown as is.
   */
  async append(source: AsyncIterable<Buffer>, onChunk?: (bytes: number) => void | Promise<void>): Promise<void> {
    if (this.bytes > 0) this.resumed = true;
    try {
      for await (const chunk of source) {
        this.hash.update(chunk);
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
        if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
        await onChunk?.(this.bytes);
      }
    } catch (error) {
      if (isStorageFailure(error)) throw error;
      await this.flush();
      throw error;
    }
    await this.flush();
  }

  /** Writes what is buffered and fdatasyncs: afterwards {@link PartialWrite.durableBytes} equals the bytes so far. */
  async checkpoint(): Promise<number> {
    await this.settleSync();
    await this.flush();
    await storage(() => this.handle.datasync(), 'the download temp file');
    this.durableBytes = this.written;
    return this.durableBytes;
  }

  /**
   * Starts an fdatasync of the bytes written so far without waiting for it, so the download keeps flowing while
   * the disk catches up; `onDurable` gets the new durable length once it is on disk. No-op while one is running.
   */
  syncInBackground(onDurable: (durableBytes: number) => void): void {
    if (this.syncing || this.closed) return;
    const upTo = this.written;
    this.syncing = this.handle
      .datasync()
      .then(() => {
        if (upTo > this.durableBytes && upTo <= this.written) {
          this.durableBytes = upTo;
          onDurable(upTo);
        }
      })
      .catch(() => undefined)
      .finally(() => {
        this.syncing = undefined;
      });
  }

  /** Waits for a background sync, if any. */
  private async settleSync(): Promise<void> {
    await this.syncing;
  }

  /** Drops every byte (the source changed or ignored Range): the file restarts from zero. */
  async reset(): Promise<void> {
    await this.settleSync();
    this.pending = [];
    this.pendingBytes = 0;
    await storage(() => this.handle.truncate(0), 'the download temp file');
    this.written = 0;
    this.durableBytes = 0;
    this.resumed = false;
    this.hash = createHash('sha256');
  }

  /**
   * Writes and fsyncs the rest and closes the file; returns its SHA-256 and length. A file assembled from more
   * than one response (or picked up from an earlier process) is re-read and its hash compared with the running one.
   */
  async finish(): Promise<{ sha256: string; bytes: number }> {
    await this.settleSync();
    await this.flush();
    await storage(() => this.handle.sync(), 'the downloaded file');
    const sha256 = this.hash.digest('hex');
    if (this.resumed) {
      const check = (await storage(() => hashRange(this.handle, this.written), 'the downloaded file')).digest('hex');
      if (check !== sha256) {
        throw new IngestError('storage_error', `The resumed download does not match its own SHA-256 on disk (${check} != ${sha256})`);
      }
    }
    await this.close();
    return { sha256, bytes: this.written };
  }

  /** Closes the file, keeping it for a later resume. Never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.settleSync();
    await this.flush().catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }

  /** Closes and removes the file. Never throws. */
  async discard(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    await this.close();
    await this.fsys.rm(this.path, { force: true }).catch(() => undefined);
  }

  /**
   * The pending chunks copied into one block for a single write. The block is reused (each write completes before the
   * next append), so a download does not allocate (and leave the allocator holding) a fresh megabyte per write.
   */
  private gather(): Buffer {
    if (this.pendingBytes > BLOCK_BYTES) return Buffer.concat(this.pending, this.pendingBytes);
    this.block ??= Buffer.allocUnsafeSlow(BLOCK_BYTES);
    let at = 0;
    for (const chunk of this.pending) at += chunk.copy(this.block, at);
    return this.block.subarray(0, at);
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0 || this.closed) return;
    const block = this.pending.length === 1 ? this.pending[0]! : this.gather();
    this.pending = [];
    this.pendingBytes = 0;
    await storage(async () => {
      let offset = 0;
      while (offset < block.length) {
        const { bytesWritten } = await this.handle.write(block, offset, block.length - offset, this.written + offset);
        if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
        offset += bytesWritten;
      }
    }, 'the download temp file');
    this.written += block.length;
  }
}

const STORAGE_FAILURE = Symbol('storage failure');

function isStorageFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[STORAGE_FAILURE] === true;
}

/** Runs a file-system call, turning its failure into a tagged `storage_error`. */
async function storage<T>(work: () => Promise<T>, what: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const mapped = isIngestError(error) ? error : mapStorageError(error, what);
    Object.defineProperty(mapped, STORAGE_FAILURE, { value: true });
    throw mapped;
  }
}

/** SHA-256 of the first `length` bytes of an open file. */
async function hashRange(handle: StorageFile, length: number): Promise<Hash> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.min(FLUSH_BYTES * 4, Math.max(1, length)));
  let position = 0;
  while (position < length) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - position), position);
    if (bytesRead <= 0) throw new IngestError('storage_error', `The temp file ended at ${position} of ${length} bytes`);
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash;
}

