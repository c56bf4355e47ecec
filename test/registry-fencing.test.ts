// The local Registry adapter honours the port's contract: insert-once by identity, and fencing (a run's writes are
// conditional on its run token; a superseded run's write throws run_superseded and changes nothing).
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteRegistry } from '../src/adapters/local/sqlite-registry.js';
import type { FileRow } from '../src/ports/registry.js';
import { tempDataDir } from './support/engine.js';

const dir = tempDataDir('mi-fencing-');
let registry: SqliteRegistry;

beforeAll(async () => {
  registry = new SqliteRegistry(path.join(dir, 'registry.sqlite'));
  await registry.open();
});

afterAll(async () => {
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});

function row(id: string, identity: string): FileRow {
  const now = Date.now();
  return {
    id, identity_hash: identity, identity_key: `k:${identity}`, status: 'processing', url: `https://x.test/${id}`,
    canonical_url: `https://x.test/${id}`, source: 'http', filename: 'a.mp4', bytes: null, content_sha256: null, metadata: null,
    media_type: null, media_info: null, source_metadata: null, error_code: null, error_message: null, progress_received: 0,
    progress_total: null, enable_segment_thumbnails: true, created_at: now, updated_at: now, owner: 'worker-a', run_token: null,
    attempt: 1, retries: 0, retry_error_code: null, retry_error_message: null, resume_state: null,
  };
}

describe('SqliteRegistry (the Registry port, local adapter)', () => {
  it('inserts one file per identity, and hands a token only to the run that created it', async () => {
    const first = await registry.insertFileOnce(row('f1', 'id-1'));
    const second = await registry.insertFileOnce(row('f2', 'id-1'));
    expect(first).toMatchObject({ created: true, row: { id: 'f1', owner: 'worker-a' } });
    expect(first.created && first.token).toBeTruthy();
    expect(second).toMatchObject({ created: false, row: { id: 'f1' } });
    expect('token' in second).toBe(false);
  });

  it('rejects the write of a run another run took over, and keeps the new run\'s state', async () => {
    const created = await registry.insertFileOnce(row('f3', 'id-3'));
    if (!created.created) throw new Error('expected a new file');
    const stale = created.token;
    await registry.update('f3', stale, { progress_received: 10 });
    // Worker A is presumed dead; worker B takes the file over (no expected token: an unconditional takeover).
    const takeover = await registry.claim('f3', 'worker-b', { status: 'pending' });
    expect(takeover).toMatchObject({ row: { owner: 'worker-b', status: 'pending' } });
    await expect(registry.update('f3', stale, { progress_received: 999 })).rejects.toMatchObject({ code: 'run_superseded' });
    await expect(registry.release('f3', stale, { status: 'failed' })).rejects.toMatchObject({ code: 'run_superseded' });
    await expect(registry.replaceRenditions('f3', stale, [], [])).rejects.toMatchObject({ code: 'run_superseded' });
    expect(await registry.getFile('f3')).toMatchObject({ owner: 'worker-b', status: 'pending', progress_received: 10 });
    // B finishes; its token is spent afterwards.
    const done = await registry.release('f3', takeover!.token, { status: 'completed' });
    expect(done).toMatchObject({ status: 'completed', owner: null, run_token: null });
    await expect(registry.update('f3', takeover!.token, { bytes: 1 })).rejects.toMatchObject({ code: 'run_superseded' });
  });

  it('claims compare-and-set on the token read, so two restarts of one file make one run', async () => {
    await registry.insertFileOnce(row('f4', 'id-4'));
    const current = (await registry.getFile('f4'))!;
    const a = await registry.claim('f4', 'worker-a', {}, current.run_token);
    const b = await registry.claim('f4', 'worker-b', {}, current.run_token);
    expect(a).toBeDefined();
    expect(b).toBeUndefined();
    expect((await registry.getFile('f4'))!.owner).toBe('worker-a');
  });

  it('says not_found for a write to a file that is gone', async () => {
    const created = await registry.insertFileOnce(row('f5', 'id-5'));
    if (!created.created) throw new Error('expected a new file');
    expect(await registry.deleteFile('f5')).toBe(true);
    await expect(registry.update('f5', created.token, { bytes: 1 })).rejects.toMatchObject({ code: 'not_found' });
    await expect(registry.claim('f5', 'worker-a')).rejects.toMatchObject({ code: 'not_found' });
    await expect(registry.updateUserFields('f5', { filename: 'x' })).rejects.toMatchObject({ code: 'not_found' });
  });
});
