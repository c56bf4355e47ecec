// The cluster ports module against the real services: loaded through the dynamic door, bound to the four ports of
// an inversify container, each port working; an unreachable service fails start-up with storage_error.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Container } from 'inversify';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { loadClusterModule } from '../../src/adapters/cluster/load.js';
import { resolveConfig } from '../../src/config/load-config.js';
import { PORTS } from '../../src/ports/tokens.js';
import type { BlobStore } from '../../src/ports/blob-store.js';
import type { BusEvent, EventBus } from '../../src/ports/event-bus.js';
import type { Registry } from '../../src/ports/registry.js';
import type { WorkQueue } from '../../src/ports/work-queue.js';
import { clusterServices } from '../support/cluster-services.js';
import { fileRow } from './contracts/file-row.js';
import { deleteRedisKeys } from './support/redis-keys.js';

const cluster = await clusterServices('cluster: ports module');

describe.skipIf(!cluster)('cluster ports module', () => {
  it('binds working Postgres, S3, BullMQ and Redis adapters to the four ports', async () => {
    const schema = `mi_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const prefix = `test-${randomUUID()}`;
    const config = await resolveConfig({
      configFile: path.resolve('test/support/empty.config.ts'),
      env: {},
      overrides: { cluster: { ...cluster!, postgresSchema: schema, redisPrefix: prefix, s3: { ...cluster!.s3, prefix } } },
    });
    const loaded = await loadClusterModule(config);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mi-cluster-module-'));
    try {
      const container = new Container();
      container.loadSync(loaded!.module);
      const registry = container.get<Registry>(PORTS.Registry);
      const blobs = container.get<BlobStore>(PORTS.BlobStore);
      const queue = container.get<WorkQueue>(PORTS.WorkQueue);
      const events = container.get<EventBus>(PORTS.EventBus);

      const inserted = await registry.insertFileOnce(fileRow());
      expect(await registry.getFile(inserted.row.id)).toMatchObject({ id: inserted.row.id });

      const spool = path.join(dir, 'spool');
      writeFileSync(spool, 'cluster blob');
      const sha256 = createHash('sha256').update('cluster blob').digest('hex');
      await blobs.putBlob(spool, sha256);
      expect(await blobs.statBlob(sha256)).toMatchObject({ bytes: 12 });

      const seen: BusEvent[] = [];
      events.subscribe({ fileId: inserted.row.id }, (event) => seen.push(event));
      let ran!: (jobId: string) => void;
      const running = new Promise<string>((resolve) => (ran = resolve));
      queue.process(async (job) => {
        await events.publish({ type: 'file.completed', file: { id: job.jobId, status: 'completed' } });
        ran(job.jobId);
      });
      expect(await queue.enqueue({ kind: 'restart', jobId: inserted.row.id, url: inserted.row.url })).toBe(true);
      expect(await running).toBe(inserted.row.id);
      expect(seen.map((e) => e.type)).toEqual(['file.completed']);
      await blobs.deleteBlob(sha256);
    } finally {
      await loaded!.ports.close();
      await deleteRedisKeys(cluster!.redisUrl, prefix);
      rmSync(dir, { recursive: true, force: true });
      const admin = new pg.Client({ connectionString: cluster!.postgresUrl });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });

  it('fails start-up with storage_error when a service is unfit, closing what it opened', async () => {
    const config = await resolveConfig({
      configFile: path.resolve('test/support/empty.config.ts'),
      env: {},
      overrides: { cluster: { ...cluster!, postgresSchema: 'mi_test_unfit', redisPrefix: 'test-unfit', s3: { ...cluster!.s3, bucket: `missing-${randomUUID()}` } } },
    });
    await expect(loadClusterModule(config)).rejects.toMatchObject({ code: 'storage_error', message: expect.stringContaining('checking bucket') });
    const admin = new pg.Client({ connectionString: cluster!.postgresUrl });
    await admin.connect();
    await admin.query('DROP SCHEMA IF EXISTS mi_test_unfit CASCADE');
    await admin.end();
    await deleteRedisKeys(cluster!.redisUrl, 'test-unfit');
  });

  it('is not loaded without a cluster section', async () => {
    const config = await resolveConfig({ configFile: path.resolve('test/support/empty.config.ts'), env: {} });
    expect(await loadClusterModule(config)).toBeUndefined();
  });
});
