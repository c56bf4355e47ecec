import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { inject, injectable } from 'inversify';
import type { BlobStore } from '../ports/blob-store.js';
import type { Registry } from '../ports/registry.js';
import type { Spool } from '../store/spool.js';
import { TOKENS } from './tokens.js';

/** A stored blob available as a local file for ffprobe/ffmpeg; `release()` removes a local copy, if one was made. */
export interface LocalBlob {
  sha256: string;
  bytes: number;
  path: string;
  release(): Promise<void>;
}

/** What a file's run leaves in storage, through the ports: its blob, its thumbnails, its spool files. */
@injectable()
export class FileOutputs {
  constructor(
    @inject(TOKENS.Registry) private readonly registry: Registry,
    @inject(TOKENS.BlobStore) private readonly blobs: BlobStore,
    @inject(TOKENS.Spool) private readonly spool: Spool,
  ) {}

  /**
   * The blob as a local file: in place when the store keeps it on this disk, else copied into the spool.
   * Undefined when the blob is not stored.
   */
  async local(fileId: string, sha256: string): Promise<LocalBlob | undefined> {
    const info = await this.blobs.statBlob(sha256);
    if (!info) return undefined;
    const inPlace = await this.blobs.localBlobPath(sha256);
    if (inPlace) return { sha256, bytes: info.bytes, path: inPlace, release: async () => undefined };
    const copy = this.spool.partialPath(`${fileId}-blob`);
    const opened = await this.blobs.openBlob(sha256);
    await pipeline(opened.body, createWriteStream(copy));
    return { sha256, bytes: info.bytes, path: copy, release: () => this.spool.remove(copy) };
  }

  /** Removes what a failed or deleted file left: its spool file, thumbnails, and its blob when nothing else references it. */
  async discard(fileId: string, sha256: string | null): Promise<void> {
    await this.spool.removePartial(fileId);
    await this.blobs.deleteThumbnails(fileId).catch(() => undefined);
    if (sha256 && (await this.registry.blobReferences(sha256)) === 0) await this.blobs.deleteBlob(sha256);
  }
}
