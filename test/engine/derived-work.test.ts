// DerivedWork: one probe per content in an engine, shared by concurrent files, never a failure handed to another file.
import { describe, expect, it } from 'vitest';
import { DerivedWork } from '../../src/engine/derived-work.js';
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
    expect((await work.probe('/blobs/aa', async () => result('mov'))).format).toBe('mov');
  });
});
