// The S3 blob store against a real S3 API (Swift s3api): the BlobStore contract, upload only when absent, multipart,
// presigned thumbnail links with a real signature check, and recovery of a SIGKILLed worker's multipart upload.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/adapters/cluster/s3-client.js';
import { S3BlobStore } from '../../src/adapters/cluster/s3-blob-store.js';
import type { ClusterS3Config } from '../../src/config/cluster-config.js';
import type { BlobStore } from '../../src/ports/blob-store.js';
import { clusterServices } from '../support/cluster-services.js';
import { blobStoreContract, spoolFile } from './contracts/blob-store-contract.js';
import { spawnJsonChild } from './support/child-process.js';

const cluster = await clusterServices('cluster: S3 blob store');
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'children/s3-upload-child.ts');

/** Removes every object under a prefix. */
async function emptyPrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    if (!page.Contents?.length) return;
    for (const object of page.Contents) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key! }));
  }
}

describe.skipIf(!cluster)('S3 blob store', () => {
  const base = cluster?.s3 as ClusterS3Config;
  let client: S3Client;
  let dir: string;
  const prefixes = new Map<BlobStore, string>();
  const storeWith = (options: Partial<ConstructorParameters<typeof S3BlobStore>[0]> = {}) => {
    const prefix = `test-${randomUUID()}/`;
    const store = new S3BlobStore({ s3: { ...base, prefix }, ...options });
    prefixes.set(store, prefix);
    return store;
  };
  const dispose = async (store: BlobStore) => {
    await store.close();
    await emptyPrefix(client, base.bucket, prefixes.get(store)!);
  };

  beforeAll(() => {
    client = createS3Client(base);
    dir = mkdtempSync(path.join(os.tmpdir(), 'mi-s3-test-'));
  });
  afterAll(() => {
    client?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('port contract', () => {
    blobStoreContract(async () => {
      const store = storeWith();
      await store.init();
      return store;
    }, dispose);
  });

  it('uploads a large blob in parts once, and only HEADs it the second time', async () => {
    const progress: number[] = [];
    const store = storeWith({ partSize: 5 * 1024 * 1024, onUploadProgress: (_sha, loaded) => progress.push(loaded) });
    try {
      const content = Buffer.alloc(12 * 1024 * 1024 + 7, 'media-ingest ');
      const first = spoolFile(dir, content);
      expect(await store.putBlob(first.localPath, first.sha256)).toEqual({ sha256: first.sha256, bytes: content.length });
      expect(progress.length).toBeGreaterThanOrEqual(3); // one event per part: a multipart upload
      const read = await store.openBlob(first.sha256);
      const hash = createHash('sha256');
      for await (const chunk of read.body) hash.update(chunk as Buffer);
      expect(hash.digest('hex')).toBe(first.sha256);

      progress.length = 0;
      const second = spoolFile(dir, content);
      await store.putBlob(second.localPath, second.sha256);
      expect(progress).toEqual([]); // present already: nothing uploaded
    } finally {
      await dispose(store);
    }
  });

  it('links a thumbnail by a presigned URL the server checks', async () => {
    const store = storeWith();
    try {
      const image = spoolFile(dir, 'jpeg bytes', 'thumb.jpg');
      const [key] = await store.putThumbnails('file-link', [{ name: 'default.jpg', localPath: image.localPath }]);
      const link = await store.thumbnailLink(key!, 60);
      expect(link!.expiresAt).toBeGreaterThan(Date.now());
      const ok = await fetch(link!.url);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('image/jpeg');
      expect(await ok.text()).toBe('jpeg bytes');
      const tampered = new URL(link!.url);
      tampered.searchParams.set('X-Amz-Expires', '3600');
      expect((await fetch(tampered)).status).toBe(403);
    } finally {
      await dispose(store);
    }
  });

  it('aborts the multipart upload a SIGKILLed worker left open', async () => {
    const store = storeWith();
    const prefix = prefixes.get(store)!;
    try {
      const content = Buffer.alloc(40 * 1024 * 1024, 'spool ');
      const localPath = path.join(dir, 'killed-upload');
      writeFileSync(localPath, content);
      const sha256 = createHash('sha256').update(content).digest('hex');
      const worker = spawnJsonChild(CHILD, { CHILD_S3: JSON.stringify({ ...base, prefix }), CHILD_FILE: localPath, CHILD_SHA256: sha256 });
      await worker.next((line) => typeof line.loaded === 'number'); // the first part is in S3
      worker.process.kill('SIGKILL');
      await worker.exited(true);

      const open = await client.send(new ListMultipartUploadsCommand({ Bucket: base.bucket, Prefix: `${prefix}blobs/` }));
      expect(open.Uploads?.map((u) => u.Key)).toEqual([`${prefix}blobs/sha256/${sha256}`]);
      expect(await store.statBlob(sha256)).toBeUndefined();

      // A live worker's upload (younger than the threshold) is left alone by start-up recovery ...
      const young = new S3BlobStore({ s3: { ...base, prefix }, abortUploadsOlderThanMs: 3_600_000 });
      await young.init();
      await young.close();
      expect((await client.send(new ListMultipartUploadsCommand({ Bucket: base.bucket, Prefix: `${prefix}blobs/` }))).Uploads).toHaveLength(1);
      // ... an old one is aborted (0: every open upload, as when no worker runs).
      const recovering = new S3BlobStore({ s3: { ...base, prefix }, abortUploadsOlderThanMs: 0 });
      await recovering.init();
      await recovering.close();
      const after = await client.send(new ListMultipartUploadsCommand({ Bucket: base.bucket, Prefix: `${prefix}blobs/` }));
      expect(after.Uploads ?? []).toEqual([]);
      expect(await store.abortUnfinishedUploads(0)).toBe(0);
      expect(await store.statBlob(sha256)).toBeUndefined();
    } finally {
      await dispose(store);
    }
  });
});
