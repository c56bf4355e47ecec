// DerivedWork / ContentMemo: derived work once per content in an engine, shared by concurrent files, never a failure
// handed to another file, reused through a per-file copy when there is one.
import { describe, expect, it } from 'vitest';
import { ContentMemo, DerivedWork } from '../../src/engine/derived-work.js';
import type { ProbeResult } from '../../src/stages/probe.js';

const result = (format: string): ProbeResult => ({ format } as unknown as ProbeResult);

describe('DerivedWork.probe', () => {
  it('runs one probe per blob, shared by concurrent and later callers', async () => {
    const work = new DerivedWork();
    let runs = 0;
    const compute = async (): Promise<ProbeResult> => {
      runs++;
      return result('mp4');
    };
    const [a, b] = await Promise.all([work.probe('/blobs/aa', compute), work.probe('/blobs/aa', compute)]);
    const c = await work.probe('/blobs/aa', compute);
    expect(runs).toBe(1);
    expect(b).toBe(a);
    expect(c).toBe(a);
    await work.probe('/blobs/bb', compute);
    expect(runs).toBe(2);
  });

  it("computes again after a failure instead of handing another file that failure", async () => {
    const work = new DerivedWork();
    const failing = work.probe('/blobs/aa', async () => Promise.reject(new Error('cancelled')));
    const waiter = work.probe('/blobs/aa', async () => result('mkv'));
    await expect(failing).rejects.toThrow('cancelled');
    expect((await waiter).format).toBe('mkv');
    // The waiter's own result is what later files reuse.
    expect((await work.probe('/blobs/aa', async () => result('mov'))).format).toBe('mkv');
  });
});

describe('ContentMemo with a reuse step (thumbnails)', () => {
  it('computes once, then turns the first result into each later caller\'s own', async () => {
    const memo = new ContentMemo<{ owner: string }>();
    const computed: string[] = [];
    const compute = (owner: string) => async () => {
      computed.push(owner);
      return { owner };
    };
    const reuse = (owner: string) => async (earlier: { owner: string }) => ({ owner: `${owner} (copy of ${earlier.owner})` });
    const [a, b] = await Promise.all([memo.use('sha', compute('a'), reuse('a')), memo.use('sha', compute('b'), reuse('b'))]);
    expect(a).toEqual({ owner: 'a' });
    expect(b).toEqual({ owner: 'b (copy of a)' });
    expect(computed).toEqual(['a']);
  });

  it('computes for itself when the reuse fails, and later callers reuse that result', async () => {
    const memo = new ContentMemo<{ owner: string }>();
    await memo.use('sha', async () => ({ owner: 'a' }));
    const gone = await memo.use('sha', async () => ({ owner: 'b' }), async () => Promise.reject(new Error('source deleted')));
    expect(gone).toEqual({ owner: 'b' });
    const later = await memo.use('sha', async () => ({ owner: 'c' }), async (earlier) => ({ owner: `copy of ${earlier.owner}` }));
    expect(later).toEqual({ owner: 'copy of b' });
  });
});

describe('ContentMemo.forget', () => {
  it('forgets a key only while it still remembers a value the caller calls stale', async () => {
    const memo = new ContentMemo<{ fileId: string }>();
    await memo.use('c1', async () => ({ fileId: 'file_a' }));
    await memo.forget('c1', (held) => held.fileId === 'file_b');
    let computed = 0;
    const copy = async (earlier: { fileId: string }) => ({ fileId: `${earlier.fileId}+copy` });
    expect(await memo.use('c1', async () => (computed++, { fileId: 'file_x' }), copy)).toEqual({ fileId: 'file_a+copy' });
    expect(computed).toBe(0);
    // file_a+copy is the newest holder now; file_a running again must not unremember it.
    await memo.forget('c1', (held) => held.fileId === 'file_a');
    expect(await memo.use('c1', async () => (computed++, { fileId: 'file_x' }), copy)).toEqual({ fileId: 'file_a+copy+copy' });
    await memo.forget('c1', (held) => held.fileId === 'file_a+copy+copy');
    expect(await memo.use('c1', async () => (computed++, { fileId: 'file_x' }), copy)).toEqual({ fileId: 'file_x' });
    expect(computed).toBe(1);
    await memo.forget('unknown', () => true);
  });
});
