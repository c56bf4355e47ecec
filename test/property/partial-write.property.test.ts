// Property: however a body is split into chunks, cut, checkpointed, reopened (as after a crash) and resumed, the
// committed blob is exactly the body and its SHA-256 is the body's.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PartialWrite, Spool } from '../../src/store/spool.js';
import type { StorageFile, StorageFs } from '../../src/store/spool.js';
import { nodeStorageFs } from '../../src/store/storage-fs.js';
import { FsBlobStore } from '../../src/adapters/local/fs-blob-store.js';

/** The spool and the local blob store together: a download is finished in the spool, then put by its hash. */
class SpoolAndStore extends Spool {
  readonly blobs = new FsBlobStore(this.dataDir);

  override async init(): Promise<void> {
    await super.init();
    await this.blobs.init();
  }

  async commitPartial(partial: PartialWrite): Promise<{ sha256: string; bytes: number; path: string }> {
    const spooled = await this.finishPartial(partial);
    await this.blobs.putBlob(spooled.path, spooled.sha256);
    return { ...spooled, path: this.blobs.blobPath(spooled.sha256) };
  }
}

const root = mkdtempSync(path.join(os.tmpdir(), 'mi-partial-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function* chunks(data: Buffer, sizes: number[], failAt?: number): AsyncGenerator<Buffer> {
  let offset = 0;
  let i = 0;
  while (offset < data.length) {
    if (failAt !== undefined && offset >= failAt) throw new Error('connection reset');
    const size = Math.max(1, sizes[i++ % sizes.length]!);
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

describe('PartialWrite', () => {
  it('assembles the exact body through cuts, checkpoints and crash reopens (property)', async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 300_000 }),
      fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
      fc.boolean(),
      async (bytes, sizes, cuts, crash) => {
        const data = Buffer.from(bytes);
        const store = new SpoolAndStore(path.join(root, `d${++run}`));
        await store.init();
        const id = `file-${run}`;
        let partial = await store.createPartial(id);
        for (const cut of [...cuts].sort()) {
          const failAt = Math.floor(cut * data.length);
          await partial.append(chunks(data.subarray(partial.bytes), sizes, Math.max(0, failAt - partial.bytes))).catch(() => undefined);
          const durable = await partial.checkpoint();
          if (crash) {
            // A crash: the process is gone; a later one reopens the temp file at its durable length.
            await partial.close();
            const reopened = await store.reopenPartial(id, durable);
            if (durable === 0) expect(reopened).toBeUndefined();
            partial = reopened ?? (await store.createPartial(id));
          }
        }
        await partial.append(chunks(data.subarray(partial.bytes), sizes));
        const blob = await store.commitPartial(partial);
        expect(blob.bytes).toBe(data.length);
        expect(blob.sha256).toBe(createHash('sha256').update(data).digest('hex'));
        expect(readFileSync(blob.path).equals(data)).toBe(true);
      },
    ), { numRuns: 40 });
  });

  it('refuses to reopen a temp file shorter than its recorded durable length', async () => {
    const store = new SpoolAndStore(path.join(root, 'short'));
    await store.init();
    writeFileSync(store.partialPath('abc'), Buffer.alloc(10));
    expect(await store.reopenPartial('abc', 11)).toBeUndefined();
    const ok = await store.reopenPartial('abc', 4);
    expect(ok?.bytes).toBe(4);
    await ok?.discard();
  });

  it('catches a temp file changed on disk behind its back (hash re-check of a resumed download)', async () => {
    const store = new SpoolAndStore(path.join(root, 'tamper'));
    await store.init();
    const partial = await store.createPartial('t1');
    await partial.append(chunks(Buffer.alloc(5000, 7), [1000]));
    await partial.checkpoint();
    await partial.close();
    const reopened = (await store.reopenPartial('t1', 5000))!;
    await reopened.append(chunks(Buffer.alloc(5000, 8), [1000]));
    // Corrupt a byte of the first half on disk after it was hashed.
    const fd = await import('node:fs/promises').then((fs) => fs.open(store.partialPath('t1'), 'r+'));
    await fd.write(Buffer.from([9]), 0, 1, 10);
    await fd.close();
    await expect(store.commitPartial(reopened)).rejects.toMatchObject({ code: 'storage_error' });
  });

  it('writes the exact body through pipelined writes, short writes and background syncs (property)', async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(
      fc.uint8Array({ minLength: 1, maxLength: 200_000 }),
      fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 1, max: 40_000 }),
      fc.integer({ min: 1, max: 60_000 }),
      fc.integer({ min: 1, max: 9_000 }),
      async (bytes, sizes, flushBytes, syncEveryBytes, shortWriteMax) => {
        const data = Buffer.from(bytes);
        const dir = path.join(root, `p${++run}`);
        const store = new SpoolAndStore(dir);
        await store.init();
        const syncs: number[] = [];
        // Every write of the temp file is cut short at `shortWriteMax` bytes: the writer must continue it.
        const partial = await PartialWrite.create(shortWrites(shortWriteMax), store.partialPath('p'), { flushBytes, syncEveryBytes });
        partial.onDurable = (durable) => syncs.push(durable);
        await partial.append(chunks(data, sizes), () => partial.syncInBackground());
        expect(partial.bytes).toBe(data.length);
        const blob = await store.commitPartial(partial);
        expect(blob.sha256).toBe(createHash('sha256').update(data).digest('hex'));
        expect(readFileSync(blob.path).equals(data)).toBe(true);
        // Background syncs only ever report more durable bytes, never more than were written.
        expect(syncs).toEqual([...syncs].sort((a, b) => a - b));
        expect(syncs.every((n) => n > 0 && n <= data.length)).toBe(true);
      },
    ), { numRuns: 40 });
  });

  it('fails the next write with storage_error when a background fdatasync failed (an fsync error is never forgotten)', async () => {
    const store = new SpoolAndStore(path.join(root, 'eio'));
    await store.init();
    let syncCalls = 0;
    const fsys: StorageFs = {
      ...nodeStorageFs,
      async open(file, flags) {
        const handle = await nodeStorageFs.open(file, flags);
        return { ...bind(handle), datasync: () => (++syncCalls === 1 ? Promise.reject(Object.assign(new Error('EIO: injected'), { code: 'EIO' })) : handle.datasync()) };
      },
    };
    const partial = await PartialWrite.create(fsys, store.partialPath('e'), { flushBytes: 1000, syncEveryBytes: 2000 });
    const failed = partial.append(chunks(Buffer.alloc(100_000, 1), [500]));
    await expect(failed).rejects.toMatchObject({ code: 'storage_error', message: expect.stringMatching(/EIO/) });
    expect(syncCalls).toBeGreaterThan(0);
    expect(partial.durableBytes).toBe(0);
    await partial.discard();
  });
});

/** The methods of an open file, bound to it (so a test can replace some). */
function bind(handle: StorageFile): StorageFile {
  return {
    write: (buffer, offset, length, position) => handle.write(buffer, offset, length, position),
    writev: (buffers, position) => handle.writev(buffers, position),
    read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
    truncate: (length) => handle.truncate(length),
    sync: () => handle.sync(),
    datasync: () => handle.datasync(),
    stat: () => handle.stat(),
    close: () => handle.close(),
  };
}

/** The real file system, except that every write to a temp file writes at most `max` bytes (a legal short write). */
function shortWrites(max: number): StorageFs {
  return {
    ...nodeStorageFs,
    async open(file, flags) {
      const handle = await nodeStorageFs.open(file, flags);
      return {
        ...bind(handle),
        write: (buffer, offset, length, position) => handle.write(buffer, offset, Math.min(length, max), position),
        writev: async (buffers, position) => {
          const cut: Buffer[] = [];
          let left = max;
          for (const b of buffers) {
            if (left === 0) break;
            cut.push(b.subarray(0, Math.min(b.length, left)));
            left -= cut[cut.length - 1]!.length;
          }
          return handle.writev(cut, position);
        },
      };
    },
  };
}
