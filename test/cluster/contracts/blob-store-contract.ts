// The BlobStore port's contract, for any adapter (local files, S3): call `blobStoreContract` inside a describe with a
// factory that returns a fresh, initialised, empty store.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { BlobStore } from '../../../src/ports/blob-store.js';
import { expectCode } from './registry-contract.js';

/** Writes `content` to a fresh spool file; returns its path and SHA-256. */
export function spoolFile(dir: string, content: string | Buffer, name = `spool-${Math.random().toString(36).slice(2)}`): { localPath: string; sha256: string } {
  const localPath = path.join(dir, name);
  writeFileSync(localPath, content);
  return { localPath, sha256: createHash('sha256').update(content).digest('hex') };
}

export function blobStoreContract(makeStore: () => Promise<BlobStore>, disposeStore: (store: BlobStore) => Promise<void>): void {
  let store: BlobStore;
  let dir: string;
  beforeEach(async () => {
    store = await makeStore();
    dir = mkdtempSync(path.join(os.tmpdir(), 'mi-blob-contract-'));
  });
  afterEach(async () => {
    await disposeStore(store);
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a blob by hash, consumes the spool file, and reads it whole or by range', async () => {
    const { localPath, sha256 } = spoolFile(dir, 'hello blob store');
    expect(await store.statBlob(sha256)).toBeUndefined();
    expect(await store.putBlob(localPath, sha256)).toEqual({ sha256, bytes: 16 });
    expect(existsSync(localPath)).toBe(false);
    expect(await store.statBlob(sha256)).toMatchObject({ bytes: 16 });
    const whole = await store.openBlob(sha256);
    expect(whole.bytes).toBe(16);
    expect(await text(whole.body)).toBe('hello blob store');
    const part = await store.openBlob(sha256, { start: 6, end: 9 });
    expect(part.bytes).toBe(4);
    expect(await text(part.body)).toBe('blob');
    const tail = await store.openBlob(sha256, { start: 11 });
    expect(await text(tail.body)).toBe('store');
  });

  it('keeps one copy of a blob stored twice and lists it', async () => {
    const first = spoolFile(dir, 'same bytes');
    const second = spoolFile(dir, 'same bytes');
    await store.putBlob(first.localPath, first.sha256);
    expect(await store.putBlob(second.localPath, second.sha256)).toEqual({ sha256: first.sha256, bytes: 10 });
    expect(existsSync(second.localPath)).toBe(false);
    const listed = [];
    for await (const blob of store.listBlobs()) listed.push(blob);
    expect(listed).toEqual([expect.objectContaining({ sha256: first.sha256, bytes: 10 })]);
    expect(listed[0]!.modifiedAt).toBeGreaterThan(0);
  });

  it('deletes blobs (absent is fine) and reports a missing blob as not_found', async () => {
    const { localPath, sha256 } = spoolFile(dir, 'to delete');
    await store.putBlob(localPath, sha256);
    await store.deleteBlob(sha256);
    await store.deleteBlob(sha256);
    expect(await store.statBlob(sha256)).toBeUndefined();
    await expectCode(store.openBlob(sha256), 'not_found');
  });

  it('stores, lists, reads and deletes thumbnails under their file', async () => {
    const a = spoolFile(dir, 'jpeg-a', 'a.jpg');
    const b = spoolFile(dir, 'jpeg-b', 'b.jpg');
    const keys = await store.putThumbnails('file-abc', [
      { name: 'default.jpg', localPath: a.localPath },
      { name: 'seg-0.jpg', localPath: b.localPath },
    ]);
    expect(keys).toHaveLength(2);
    expect([...(await store.listThumbnails('file-abc'))].sort()).toEqual([...keys].sort());
    expect(await store.listThumbnails('file-other')).toEqual([]);
    expect(await store.statThumbnail(keys[1]!)).toMatchObject({ bytes: 6 });
    expect(await text((await store.openThumbnail(keys[0]!)).body)).toBe('jpeg-a');
    const owners = [];
    for await (const owner of store.listThumbnailOwners()) owners.push(owner);
    expect(owners).toEqual(['file-abc']);
    await store.deleteThumbnails('file-abc');
    await store.deleteThumbnails('file-abc');
    expect(await store.listThumbnails('file-abc')).toEqual([]);
    expect(await store.statThumbnail(keys[0]!)).toBeUndefined();
    await expectCode(store.openThumbnail(keys[0]!), 'not_found');
  });

  it('copies a file\'s thumbnails to another file, independent of the source, and reports a gone source as not_found', async () => {
    const a = spoolFile(dir, 'jpeg-a', 'a.jpg');
    const b = spoolFile(dir, 'jpeg-b', 'b.jpg');
    const source = await store.putThumbnails('file-src', [
      { name: 'default.jpg', localPath: a.localPath },
      { name: 'segment-0.jpg', localPath: b.localPath },
    ]);
    const copied = await store.copyThumbnails('file-dst', [
      { name: 'default.jpg', fromKey: source[0]! },
      { name: 'segment-0.jpg', fromKey: source[1]! },
    ]);
    expect(copied).toHaveLength(2);
    expect(copied.some((key) => source.includes(key))).toBe(false);
    expect([...(await store.listThumbnails('file-dst'))].sort()).toEqual([...copied].sort());
    // Deleting the source keeps the copies, readable.
    await store.deleteThumbnails('file-src');
    expect(await text((await store.openThumbnail(copied[0]!)).body)).toBe('jpeg-a');
    expect(await text((await store.openThumbnail(copied[1]!)).body)).toBe('jpeg-b');
    // A source that is gone: not_found, and nothing of the failed copy stays.
    await expectCode(store.copyThumbnails('file-third', [
      { name: 'default.jpg', fromKey: copied[0]! },
      { name: 'segment-0.jpg', fromKey: source[1]! },
    ]), 'not_found');
    expect(await store.listThumbnails('file-third')).toEqual([]);
    // Deleting the copy keeps nothing behind and does not touch other files.
    await store.deleteThumbnails('file-dst');
    expect(await store.listThumbnails('file-dst')).toEqual([]);
    await expect(store.copyThumbnails('file-x', [{ name: '../x.jpg', fromKey: copied[0]! }])).rejects.toThrow();
  });

  it('refuses names and keys that could escape their place', async () => {
    const a = spoolFile(dir, 'x', 'x.jpg');
    await expect(store.putThumbnails('file-abc', [{ name: '../x.jpg', localPath: a.localPath }])).rejects.toThrow();
    await expect(store.putThumbnails('../etc', [{ name: 'x.jpg', localPath: a.localPath }])).rejects.toThrow();
    await expect(store.openThumbnail('../../registry.sqlite')).rejects.toThrow();
    await expect(store.putBlob(a.localPath, '../not-a-hash')).rejects.toThrow();
  });
}
