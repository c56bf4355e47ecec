// The Registry port's contract, for any adapter (SQLite locally, Postgres in a cluster): call `registryContract`
// inside a describe with a factory that returns a fresh, opened, empty registry.
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Registry } from '../../../src/ports/registry.js';
import type { FileRow, RunToken, SegmentRow, ThumbnailRow } from '../../../src/ports/file-records.js';
import { isIngestError } from '../../../src/errors.js';
import { fileRow } from './file-row.js';

export { fileRow } from './file-row.js';

/** Expects `promise` to reject with an IngestError of `code`. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isIngestError(error), `expected IngestError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

function thumb(fileId: string, id: string, time: number, isDefault = false): ThumbnailRow {
  return { id, file_id: fileId, type: isDefault ? 'file' : 'segment', time, segment_id: null, path: `thumbnails/${fileId}/${id}.jpg`, width: 640, height: 360, is_default: isDefault, created_at: Date.now() };
}

export function registryContract(makeRegistry: () => Promise<Registry>, disposeRegistry: (registry: Registry) => Promise<void>): void {
  let registry: Registry;
  beforeEach(async () => {
    registry = await makeRegistry();
  });
  afterEach(async () => {
    await disposeRegistry(registry);
  });

  async function created(overrides: Partial<FileRow> = {}): Promise<{ row: FileRow; token: RunToken }> {
    const outcome = await registry.insertFileOnce(fileRow(overrides));
    if (!outcome.created) throw new Error('expected a new row');
    return { row: outcome.row, token: outcome.token };
  }

  it('open is idempotent', async () => {
    await registry.open();
    await registry.open();
    expect(await registry.listFiles({ limit: 10, offset: 0, order: 'created_at', sort: 'desc' })).toEqual({ rows: [], total: 0 });
  });

  it('inserts one file per identity and claims it for its owner', async () => {
    const first = fileRow({ metadata: { team: 'a', n: [1, 2] }, enable_segment_thumbnails: false });
    const outcome = await registry.insertFileOnce(first);
    expect(outcome.created).toBe(true);
    if (!outcome.created) return;
    expect(outcome.token).toBeTruthy();
    expect(outcome.row).toMatchObject({ id: first.id, owner: 'worker-a', run_token: outcome.token, metadata: { team: 'a', n: [1, 2] }, enable_segment_thumbnails: false });
    const again = await registry.insertFileOnce(fileRow({ identity_hash: first.identity_hash, owner: 'worker-b' }));
    expect(again.created).toBe(false);
    expect(again.row.id).toBe(first.id);
    expect(again.row.owner).toBe('worker-a');
    expect(await registry.findByIdentity(first.identity_hash)).toEqual(outcome.row);
    expect(await registry.getFile('file_missing')).toBeUndefined();
  });

  it('records aliases once and finds files by them', async () => {
    const { row } = await created();
    const other = await created();
    await registry.addAlias('alias-1', row.id, 'https://a.example/x');
    await registry.addAlias('alias-1', other.row.id, 'https://a.example/x'); // ignored: the first alias stays
    expect((await registry.findByAlias('alias-1'))?.id).toBe(row.id);
    expect(await registry.findByAlias('alias-none')).toBeUndefined();
  });

  it('fences every run write on the run token', async () => {
    const { row, token } = await created();
    const updated = await registry.update(row.id, token, { status: 'processing', progress_received: 10, resume_state: { bytes: 10, etag: '"e"', last_modified: null, total: 100 } });
    expect(updated).toMatchObject({ status: 'processing', progress_received: 10, resume_state: { bytes: 10, etag: '"e"', total: 100 } });
    expect(updated.updated_at).toBeGreaterThanOrEqual(row.updated_at);

    // Another worker takes the file over (the first one was presumed dead).
    const takeover = await registry.claim(row.id, 'worker-b', { attempt: 1 });
    expect(takeover?.token).toBeTruthy();
    expect(takeover!.token).not.toBe(token);
    expect(takeover!.row).toMatchObject({ owner: 'worker-b', attempt: 1, run_token: takeover!.token });

    // The stale worker comes back: every write is refused, nothing changes.
    await expectCode(registry.update(row.id, token, { status: 'failed', error_code: 'internal' }), 'run_superseded');
    await expectCode(registry.release(row.id, token, { status: 'completed' }), 'run_superseded');
    await expectCode(registry.replaceRenditions(row.id, token, [thumb(row.id, 't1', 1, true)], []), 'run_superseded');
    expect(await registry.getFile(row.id)).toMatchObject({ status: 'processing', owner: 'worker-b', error_code: null });
    expect(await registry.thumbnails(row.id)).toEqual([]);

    // The new run finishes; its token then stops working too.
    const released = await registry.release(row.id, takeover!.token, { status: 'completed', bytes: 100 });
    expect(released).toMatchObject({ status: 'completed', owner: null, run_token: null, bytes: 100 });
    await expectCode(registry.update(row.id, takeover!.token, { bytes: 1 }), 'run_superseded');
    await expectCode(registry.update('file_missing', token, { bytes: 1 }), 'not_found');
    await expectCode(registry.claim('file_missing', 'worker-c'), 'not_found');
  });

  it('claims with an expected token as a compare-and-set', async () => {
    const { row, token } = await created();
    await registry.release(row.id, token, { status: 'failed' });
    const first = await registry.claim(row.id, 'worker-b', { status: 'pending' }, null);
    expect(first?.row).toMatchObject({ owner: 'worker-b', status: 'pending' });
    expect(await registry.claim(row.id, 'worker-c', {}, null)).toBeUndefined(); // lost the race: no longer idle
    expect(await registry.claim(row.id, 'worker-c', {}, token)).toBeUndefined(); // a stale expectation
    const second = await registry.claim(row.id, 'worker-c', {}, first!.token);
    expect(second?.row.owner).toBe('worker-c');
    await expectCode(registry.claim('file_missing', 'worker-c', {}, null), 'not_found');
  });

  it('replaces renditions in one step and lists thumbnails default first', async () => {
    const { row, token } = await created();
    const segments: SegmentRow[] = [
      { id: 's2', file_id: row.id, idx: 1, start_time: 20, end_time: 40, thumbnail_id: 't3' },
      { id: 's1', file_id: row.id, idx: 0, start_time: 0, end_time: 20, thumbnail_id: 't2' },
    ];
    await registry.replaceRenditions(row.id, token, [thumb(row.id, 't3', 30), thumb(row.id, 't2', 10), thumb(row.id, 't1', 5, true)], segments);
    expect((await registry.thumbnails(row.id)).map((t) => [t.id, t.is_default])).toEqual([['t1', true], ['t2', false], ['t3', false]]);
    expect((await registry.segments(row.id)).map((s) => s.id)).toEqual(['s1', 's2']);
    expect(await registry.thumbnail(row.id, 't2')).toMatchObject({ id: 't2', time: 10, is_default: false, path: `thumbnails/${row.id}/t2.jpg` });
    await registry.replaceRenditions(row.id, token, [thumb(row.id, 't9', 1, true)], []);
    expect((await registry.thumbnails(row.id)).map((t) => t.id)).toEqual(['t9']);
    expect(await registry.segments(row.id)).toEqual([]);
    expect(await registry.thumbnail(row.id, 't2')).toBeUndefined();
  });

  it('lists with filters, order, paging and a total', async () => {
    const base = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { row, token } = await created({ created_at: base + i, filename: `f${4 - i}.mp4` });
      ids.push(row.id);
      if (i % 2 === 0) await registry.release(row.id, token, { status: 'completed', content_sha256: 'abc' });
    }
    const page = await registry.listFiles({ limit: 2, offset: 1, order: 'created_at', sort: 'desc' });
    expect(page.total).toBe(5);
    expect(page.rows.map((r) => r.id)).toEqual([ids[3], ids[2]]);
    const byName = await registry.listFiles({ limit: 10, offset: 0, order: 'filename', sort: 'asc' });
    expect(byName.rows.map((r) => r.filename)).toEqual(['f0.mp4', 'f1.mp4', 'f2.mp4', 'f3.mp4', 'f4.mp4']);
    const completed = await registry.listFiles({ limit: 10, offset: 0, order: 'created_at', sort: 'asc', status: 'completed', createdAfter: base });
    expect(completed.rows.map((r) => r.id)).toEqual([ids[2], ids[4]]);
    expect(completed.total).toBe(2);
    expect((await registry.filesWithStatus(['pending'])).map((r) => r.id).sort()).toEqual([ids[1], ids[3]].sort());
    expect(await registry.filesWithStatus([])).toEqual([]);
    expect(await registry.blobReferences('abc')).toBe(3);
    expect(await registry.blobReferences('none')).toBe(0);
  });

  it('changes user fields unfenced and deletes with everything attached', async () => {
    const { row, token } = await created();
    await registry.addAlias('alias-del', row.id, 'https://a.example/del');
    await registry.replaceRenditions(row.id, token, [thumb(row.id, 'td', 1, true)], []);
    expect(await registry.updateUserFields(row.id, { metadata: { k: 'v' }, filename: 'renamed.mp4' })).toMatchObject({ metadata: { k: 'v' }, filename: 'renamed.mp4', run_token: token });
    await expectCode(registry.updateUserFields('file_missing', { filename: 'x' }), 'not_found');
    expect(await registry.deleteFile(row.id)).toBe(true);
    expect(await registry.deleteFile(row.id)).toBe(false);
    expect(await registry.findByAlias('alias-del')).toBeUndefined();
    expect(await registry.thumbnails(row.id)).toEqual([]);
    await expectCode(registry.update(row.id, token, { bytes: 1 }), 'not_found');
  });
}
