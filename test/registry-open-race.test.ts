// Several openers of one new data dir at once (threads with their own SQLite connections, racing like processes):
// each migration step is applied exactly once and every opener ends with the full schema.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';

const dist = path.resolve('dist/src/adapters/local/sqlite-registry.js');
const root = mkdtempSync(path.join(os.tmpdir(), 'mi-open-race-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** One thread: waits at the shared barrier, opens the registry, reports the schema version it sees or its error. */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { SqliteRegistry } = await import(workerData.dist);
  const gate = new Int32Array(workerData.gate);
  Atomics.add(gate, 1, 1);
  Atomics.wait(gate, 0, 0);
  const registry = new SqliteRegistry(workerData.file);
  try {
    await registry.open();
    const page = await registry.listFiles({ limit: 1, offset: 0 });
    parentPort.postMessage({ ok: true, total: page.total });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message) });
  } finally {
    await registry.close();
  }
})();
`;

describe('SQLite registry opened by many at once', () => {
  it('8 openers of a new data dir all succeed, the schema migrated once', async () => {
    for (let round = 0; round < 3; round++) {
      const file = path.join(root, `round-${round}`, 'registry.sqlite');
      const gate = new SharedArrayBuffer(8);
      const view = new Int32Array(gate);
      const results = Array.from({ length: 8 }, () => new Promise<{ ok: boolean; message?: string; total?: number }>((resolve, reject) => {
        const worker = new Worker(THREAD, { eval: true, workerData: { dist, file, gate } });
        worker.once('message', resolve);
        worker.once('error', reject);
      }));
      while (Atomics.load(view, 1) < 8) await new Promise((resolve) => setImmediate(resolve));
      Atomics.store(view, 0, 1);
      Atomics.notify(view, 0);
      const outcomes = await Promise.all(results);
      expect(outcomes).toEqual(Array.from({ length: 8 }, () => ({ ok: true, total: 0 })));
    }
  });
});
