/**
 * The {@link BlobStore} port on an S3 API (AWS S3, Swift s3api, Ceph RGW ...). Blobs live at
 * `<prefix>blobs/sha256/<hash>` and are uploaded from the worker's finished spool file only when absent (HEAD first;
 * streamed multipart above one part); thumbnails live under their file at `<prefix>files/<fileId>/thumbnails/<name>`.
 * Dedup is the registry's job, not S3's: conditional PUTs are not portable (Swift answers 501).
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { IngestError, isIngestError } from '../../errors.js';
import type { BlobStore, OpenedObject, StoredBlob, StoredObjectInfo, ThumbnailCopy, ThumbnailLink, ThumbnailUpload } from '../../ports/blob-store.js';
import type { ClusterS3Config } from '../../config/cluster-config.js';
import { createS3Client } from './s3-client.js';

const SHA256 = /^[0-9a-f]{64}$/;
const FILE_ID = /^[0-9a-zA-Z-]{1,64}$/; // the engine's file ids (as the local store checks them)
const THUMBNAIL_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*\.(jpg|webp)$/;
const THUMBNAIL_KEY = /^files\/([0-9a-zA-Z-]{1,64})\/thumbnails\/([A-Za-z0-9_-][A-Za-z0-9._-]*\.(jpg|webp))$/;
const MiB = 1024 * 1024;

/** Options of {@link S3BlobStore}. */
export interface S3BlobStoreOptions {
  s3: ClusterS3Config;
  /** Multipart part size, bytes (S3's minimum is 5 MiB). @default 8 MiB */
  partSize?: number;
  /** Parts uploaded at once per blob. @default 4 */
  queueSize?: number;
  /** Called as a blob upload progresses (bytes sent so far). */
  onUploadProgress?: (sha256: string, loaded: number) => void;
  /** An S3 client to use instead of one made from `s3` (the store does not destroy it). */
  client?: S3Client;
  /**
   * Start-up recovery: {@link S3BlobStore.init} aborts the blob multipart uploads started longer ago than this, ms
   * (left by workers that died mid-upload). Keep it above the longest upload a live worker can be making; `false`
   * turns it off. @default 21600000 (6 h)
   */
  abortUploadsOlderThanMs?: number | false;
}

const isMissing = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
};

function storageError(error: unknown, what: string): IngestError {
  if (isIngestError(error)) return error;
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  return new IngestError('storage_error', `S3 blob store: ${what} failed: ${e?.name ?? 'Error'}${status}`, { cause: error });
}

export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly uploads = new Set<Upload>();

  constructor(private readonly options: S3BlobStoreOptions) {
    this.client = options.client ?? createS3Client(options.s3);
    this.ownsClient = !options.client;
    this.bucket = options.s3.bucket;
    this.prefix = options.s3.prefix;
  }

  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storageError(error, what);
    }
  }

  private blobKey(sha256: string): string {
    if (!SHA256.test(sha256)) throw new IngestError('invalid_request', 'S3 blob store: a blob hash must be 64 lowercase hex digits');
    return `${this.prefix}blobs/sha256/${sha256}`;
  }

  /** The full object key of a thumbnail key as the registry records it (checked: never an arbitrary object). */
  private thumbnailObjectKey(key: string): string {
    if (!THUMBNAIL_KEY.test(key)) throw new IngestError('invalid_request', 'S3 blob store: not a thumbnail key');
    return `${this.prefix}${key}`;
  }

  private fileThumbnailPrefix(fileId: string): string {
    if (!FILE_ID.test(fileId)) throw new IngestError('invalid_request', 'S3 blob store: bad file id');
    return `files/${fileId}/thumbnails/`;
  }

  /** Checks the bucket, then aborts the multipart uploads dead workers left (see `abortUploadsOlderThanMs`). */
  async init(): Promise<void> {
    await this.call(`checking bucket ${this.bucket}`, () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
    const olderThan = this.options.abortUploadsOlderThanMs ?? 6 * 3600 * 1000;
    if (olderThan !== false) await this.abortUnfinishedUploads(olderThan);
  }

  /** Aborts the uploads this process has in flight, then releases the client. */
  async close(): Promise<void> {
    await Promise.all([...this.uploads].map((upload) => upload.abort().catch(() => undefined)));
    if (this.ownsClient) this.client.destroy();
  }

  private async head(key: string): Promise<StoredObjectInfo | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { bytes: head.ContentLength ?? 0, modifiedAt: head.LastModified?.getTime() ?? 0 };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw storageError(error, 'HEAD');
    }
  }

  private async open(key: string, range?: { start: number; end?: number }): Promise<OpenedObject> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}) }),
      );
      return { body: response.Body as Readable, bytes: response.ContentLength ?? 0 };
    } catch (error) {
      if (isMissing(error)) throw new IngestError('not_found', 'The stored object does not exist');
      throw storageError(error, 'GET');
    }
  }

  async putBlob(localPath: string, sha256: string): Promise<StoredBlob> {
    const key = this.blobKey(sha256);
    const { size } = await this.call('reading the spool file', () => stat(localPath));
    const existing = await this.head(key);
    if (existing && existing.bytes === size) {
      await this.abortUploadsOf(key);
      await rm(localPath, { force: true });
      return { sha256, bytes: size };
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: createReadStream(localPath), ContentLength: size, Metadata: { sha256 } },
      partSize: Math.max(5 * MiB, this.options.partSize ?? 8 * MiB),
      queueSize: this.options.queueSize ?? 4,
      leavePartsOnError: false, // a failed upload is aborted, not left behind
    });
    const onProgress = this.options.onUploadProgress;
    if (onProgress) upload.on('httpUploadProgress', (progress) => onProgress(sha256, progress.loaded ?? 0));
    this.uploads.add(upload);
    try {
      await this.call(`uploading blob ${sha256}`, () => upload.done());
    } catch (error) {
      // Another run stored the same content meanwhile (and aborted this upload as a leftover): it is stored.
      if ((await this.head(key))?.bytes !== size) throw error;
    } finally {
      this.uploads.delete(upload);
    }
    await this.abortUploadsOf(key);
    const stored = await this.head(key);
    if (stored?.bytes !== size) throw new IngestError('storage_error', `S3 blob store: blob ${sha256} has ${stored?.bytes ?? 'no'} bytes after upload, expected ${size}`);
    await rm(localPath, { force: true });
    return { sha256, bytes: size };
  }

  async statBlob(sha256: string): Promise<StoredObjectInfo | undefined> {
    return this.head(this.blobKey(sha256));
  }

  async openBlob(sha256: string, range?: { start: number; end?: number }): Promise<OpenedObject> {
    return this.open(this.blobKey(sha256), range);
  }

  /** Blobs are never on this machine's disk: the engine copies {@link openBlob} into its spool. */
  async localBlobPath(_sha256: string): Promise<string | undefined> {
    return undefined;
  }

  async deleteBlob(sha256: string): Promise<void> {
    const key = this.blobKey(sha256);
    await this.call('DELETE', () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  private async *listKeys(prefix: string): AsyncGenerator<{ key: string; bytes: number; modifiedAt: number }> {
    let token: string | undefined;
    do {
      const page = await this.call('LIST', () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}${prefix}`, ContinuationToken: token })),
      );
      for (const object of page.Contents ?? []) {
        yield { key: object.Key!.slice(this.prefix.length), bytes: object.Size ?? 0, modifiedAt: object.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *listBlobs(): AsyncIterable<StoredBlob & StoredObjectInfo> {
    for await (const object of this.listKeys('blobs/sha256/')) {
      const sha256 = object.key.slice('blobs/sha256/'.length);
      if (SHA256.test(sha256)) yield { sha256, bytes: object.bytes, modifiedAt: object.modifiedAt };
    }
  }

  async putThumbnails(fileId: string, images: ThumbnailUpload[]): Promise<string[]> {
    const folder = this.fileThumbnailPrefix(fileId);
    for (const image of images) {
      if (!THUMBNAIL_NAME.test(image.name)) throw new IngestError('invalid_request', `S3 blob store: bad thumbnail name ${JSON.stringify(image.name)}`);
    }
    const keys = images.map((image) => `${folder}${image.name}`);
    const stored: string[] = [];
    try {
      for (const [index, image] of images.entries()) {
        const { size } = await stat(image.localPath);
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: `${this.prefix}${keys[index]}`,
            Body: createReadStream(image.localPath),
            ContentLength: size,
            ContentType: image.name.endsWith('.webp') ? 'image/webp' : 'image/jpeg',
          }),
        );
        stored.push(keys[index]!);
      }
      return keys;
    } catch (error) {
      // All or none: remove what this call stored before the failure.
      await Promise.all(stored.map((key) => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${key}` })).catch(() => undefined)));
      throw storageError(error, `storing thumbnails of ${fileId}`);
    }
  }

  /** Copies another file's thumbnails server-side (CopyObject): no bytes through this worker. All or none. */
  async copyThumbnails(fileId: string, images: ThumbnailCopy[]): Promise<string[]> {
    const folder = this.fileThumbnailPrefix(fileId);
    for (const image of images) {
      if (!THUMBNAIL_NAME.test(image.name)) throw new IngestError('invalid_request', `S3 blob store: bad thumbnail name ${JSON.stringify(image.name)}`);
    }
    const sources = images.map((image) => this.thumbnailObjectKey(image.fromKey));
    const keys = images.map((image) => `${folder}${image.name}`);
    const stored: string[] = [];
    try {
      for (const [index, source] of sources.entries()) {
        await this.client.send(new CopyObjectCommand({
          Bucket: this.bucket, Key: `${this.prefix}${keys[index]}`,
          CopySource: `${this.bucket}/${source.split('/').map(encodeURIComponent).join('/')}`,
        }));
        stored.push(keys[index]!);
      }
      return keys;
    } catch (error) {
      await Promise.all(stored.map((key) => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${key}` })).catch(() => undefined)));
      if (isMissing(error)) throw new IngestError('not_found', 'A thumbnail to copy is gone', { cause: error });
      throw storageError(error, `copying thumbnails to ${fileId}`);
    }
  }

  async listThumbnails(fileId: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const object of this.listKeys(this.fileThumbnailPrefix(fileId))) keys.push(object.key);
    return keys;
  }

  async statThumbnail(key: string): Promise<StoredObjectInfo | undefined> {
    return this.head(this.thumbnailObjectKey(key));
  }

  async openThumbnail(key: string): Promise<OpenedObject> {
    return this.open(this.thumbnailObjectKey(key));
  }

  /** A presigned GET of the thumbnail, valid `ttlSeconds` (the signature is checked by the S3 server). */
  async thumbnailLink(key: string, ttlSeconds: number): Promise<ThumbnailLink | undefined> {
    const objectKey = this.thumbnailObjectKey(key);
    const expiresIn = Math.max(1, Math.min(7 * 24 * 3600, Math.floor(ttlSeconds)));
    const url = await this.call('presigning', () => getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }), { expiresIn }));
    return { url, expiresAt: Date.now() + expiresIn * 1000 };
  }

  async deleteThumbnails(fileId: string): Promise<void> {
    for (const key of await this.listThumbnails(fileId)) {
      await this.call('DELETE', () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${key}` })));
    }
  }

  async *listThumbnailOwners(): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const page = await this.call('LIST', () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}files/`, Delimiter: '/', ContinuationToken: token })),
      );
      for (const common of page.CommonPrefixes ?? []) {
        const fileId = common.Prefix!.slice(`${this.prefix}files/`.length).replace(/\/$/, '');
        if (FILE_ID.test(fileId)) yield fileId;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Once a blob is stored, every multipart upload still open on its key is a leftover (a worker SIGKILLed while
   * uploading the same content; blobs are content-addressed, so nothing is lost): aborted, so no parts linger. Best
   * effort (a store without the listing permission still stores blobs; start-up recovery aborts old leftovers).
   */
  private async abortUploadsOf(key: string): Promise<void> {
    const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: key })).catch(() => undefined);
    if (!page) return;
    for (const upload of page.Uploads ?? []) {
      if (upload.Key !== key) continue;
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: upload.UploadId! })).catch(() => undefined);
    }
  }

  /**
   * Recovery: aborts the multipart uploads of blobs started more than `olderThanMs` ago (a SIGKILLed worker leaves
   * its upload open; S3 keeps its parts, and bills them, until aborted). Pick `olderThanMs` above the longest
   * upload a live worker can be making, or 0 (every open upload) when no worker runs. Returns how many were aborted.
   */
  async abortUnfinishedUploads(olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.call('listing multipart uploads', () =>
        this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: `${this.prefix}blobs/`, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker })),
      );
      for (const upload of page.Uploads ?? []) {
        // 0 means every one (servers round `Initiated`, Swift to the second, possibly past our clock).
        if (olderThanMs > 0 && (upload.Initiated?.getTime() ?? 0) > cutoff) continue;
        await this.call('aborting a multipart upload', () =>
          this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key!, UploadId: upload.UploadId! })),
        );
        aborted++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return aborted;
  }
}
