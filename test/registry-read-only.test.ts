// The local registry opened for reading (what the CLI's read commands use): nothing is created, rows written by a
// read-write registry are read back, and every write is refused as `storage_error` instead of touching the file.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteRegistry } from '../src/adapters/local/sqlite-registry.js';
import { fileRow } from './cluster/contracts/file-row.js';
import { tempDataDir } from './support/engine.js';

const dirs: string[] = [];
const dir = (): string => {
  const created = tempDataDir('mi-ro-');
  dirs.push(created);
  return created;
};

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SqliteRegistry { readOnly: true }', () => {
  it('reads a missing file as an empty registry, creates nothing and refuses writes', async () => {
    const file = path.join(dir(), 'missing', 'registry.sqlite');
    const registry = new SqliteRegistry(file, { readOnly: true });
    await registry.open();
    try {
      expect(await registry.listFiles({ limit: 50, offset: 0, order: 'created_at', sort: 'desc' })).toEqual({ rows: [], total: 0 });
      expect(await registry.getFile('file_x')).toBeUndefined();
      await expect(registry.insertFileOnce(fileRow())).rejects.toMatchObject({ code: 'storage_error' });
    } finally {
      await registry.close();
    }
    expect(existsSync(path.dirname(file))).toBe(false);
  });

  it('reads what a read-write registry wrote, without changing the file, and refuses writes', async () => {
    const file = path.join(dir(), 'registry.sqlite');
    const writer = new SqliteRegistry(file);
    await writer.open();
    const row = fileRow({ status: 'completed', owner: null, metadata: { k: 1 } });
    await writer.insertFileOnce(row);
    await writer.close();
    const digest = (): string => createHash('sha256').update(readFileSync(file)).digest('hex');
    const before = digest();

    const reader = new SqliteRegistry(file, { readOnly: true });
    await reader.open();
    try {
      expect(await reader.getFile(row.id)).toMatchObject({ id: row.id, status: 'completed', metadata: { k: 1 }, enable_segment_thumbnails: true });
      expect((await reader.listFiles({ limit: 50, offset: 0, order: 'created_at', sort: 'desc' })).total).toBe(1);
      await expect(reader.deleteFile(row.id)).rejects.toMatchObject({ code: 'storage_error' });
      await expect(reader.updateUserFields(row.id, { filename: 'b.mp4' })).rejects.toMatchObject({ code: 'storage_error' });
    } finally {
      await reader.close();
    }
    expect(digest()).toBe(before);
  });
});
