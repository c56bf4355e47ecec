// The Postgres registry against a real PostgreSQL: the Registry contract, concurrent migrations, one row per
// identity across OS processes, and a stale write from another process refused by fencing.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgRegistry } from '../../src/adapters/cluster/pg-registry.js';
import { PG_MIGRATIONS } from '../../src/adapters/cluster/pg-schema.js';
import type { Registry } from '../../src/ports/registry.js';
import { clusterServices } from '../support/cluster-services.js';
import { registryContract } from './contracts/registry-contract.js';
import { spawnJsonChild } from './support/child-process.js';
import { fileRow } from './contracts/file-row.js';

const cluster = await clusterServices('cluster: Postgres registry');
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'children/pg-registry-child.ts');
const schemaName = () => `mi_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;

describe.skipIf(!cluster)('Postgres registry', () => {
  const url = cluster?.postgresUrl ?? '';
  let admin: pg.Client;
  const schemas = new Map<Registry, string>();

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
  });
  const dropSchema = (schema: string) => admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);

  describe('port contract', () => {
    registryContract(
      async () => {
        const schema = schemaName();
        const registry = new PgRegistry({ connectionString: url, schema });
        schemas.set(registry, schema);
        await registry.open();
        return registry;
      },
      async (registry) => {
        await registry.close();
        await dropSchema(schemas.get(registry)!);
      },
    );
  });

  it('migrates once when several registries open the same schema at once', async () => {
    const schema = schemaName();
    const registries = Array.from({ length: 6 }, () => new PgRegistry({ connectionString: url, schema, poolSize: 2 }));
    try {
      await Promise.all(registries.map((r) => r.open()));
      const versions = await admin.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
      expect(versions.rows.map((r: { version: number }) => r.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
    } finally {
      await Promise.all(registries.map((r) => r.close()));
      await dropSchema(schema);
    }
  });

  it('refuses to run after close and reports an unreachable database as storage_error without its URL', async () => {
    const registry = new PgRegistry({ connectionString: 'postgres://secret-user:secret-pass@127.0.0.1:1/none', schema: schemaName() });
    const error = await registry.open().then(() => undefined, (e: unknown) => e as { code: string; message: string });
    expect(error?.code).toBe('storage_error');
    expect(error?.message).not.toContain('secret');
    await registry.close();
    await expect(registry.getFile('x')).rejects.toMatchObject({ code: 'storage_error' });
  });

  it('works on after its connections are killed (a Postgres restart as the client sees it)', async () => {
    const schema = schemaName();
    const applicationName = `mi-test-${randomUUID().slice(0, 8)}`;
    const registry = new PgRegistry({ connectionString: url, schema, applicationName, poolSize: 1 });
    await registry.open();
    try {
      const outcome = await registry.insertFileOnce(fileRow());
      const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
      expect(killed.rowCount).toBe(1);
      // A read on the dead connection is retried once on a new one; writes then go through as before.
      expect((await registry.getFile(outcome.row.id))?.id).toBe(outcome.row.id);
      if (!outcome.created) throw new Error('expected a new row');
      expect(await registry.update(outcome.row.id, outcome.token, { progress_received: 5 })).toMatchObject({ progress_received: 5 });
    } finally {
      await registry.close();
      await dropSchema(schema);
    }
  });

  it('4 processes × 20 concurrent inserts of one identity make exactly one row', async () => {
    const schema = schemaName();
    const setup = new PgRegistry({ connectionString: url, schema });
    await setup.open();
    const barrier = Math.floor(Math.random() * 2 ** 31);
    const identity = `identity-${randomUUID()}`;
    await admin.query('SELECT pg_advisory_lock($1)', [barrier]);
    try {
      const children = Array.from({ length: 4 }, () =>
        spawnJsonChild(CHILD, { CHILD_MODE: 'insert-race', CHILD_PG_URL: url, CHILD_SCHEMA: schema, CHILD_BARRIER: String(barrier), CHILD_IDENTITY: identity, CHILD_INSERTS: '20' }),
      );
      await Promise.all(children.map((c) => c.next((line) => line.ready === true)));
      await admin.query('SELECT pg_advisory_unlock($1)', [barrier]); // all four start inserting together
      const results = await Promise.all(children.map((c) => c.next((line) => 'created' in line)));
      await Promise.all(children.map((c) => c.exited()));
      const rows = await admin.query(`SELECT id FROM ${schema}.files WHERE identity_hash = $1`, [identity]);
      expect(rows.rowCount).toBe(1);
      expect(results.reduce((sum, r) => sum + (r.created as number), 0)).toBe(1);
      for (const result of results) expect(result.ids).toEqual([rows.rows[0].id]);
    } finally {
      await admin.query('SELECT pg_advisory_unlock_all()');
      await setup.close();
      await dropSchema(schema);
    }
  });

  it('refuses the late write of a worker process whose file another run took over', async () => {
    const schema = schemaName();
    const registry = new PgRegistry({ connectionString: url, schema });
    await registry.open();
    const barrier = Math.floor(Math.random() * 2 ** 31);
    await admin.query('SELECT pg_advisory_lock($1)', [barrier]);
    try {
      const stale = spawnJsonChild(CHILD, { CHILD_MODE: 'stale-write', CHILD_PG_URL: url, CHILD_SCHEMA: schema, CHILD_BARRIER: String(barrier) });
      const { fileId } = (await stale.next((line) => 'fileId' in line)) as { fileId: string };
      const takeover = await registry.claim(fileId, 'worker-new', { status: 'processing' });
      await admin.query('SELECT pg_advisory_unlock($1)', [barrier]); // the stale worker wakes up and writes
      expect(await stale.next((line) => 'wrote' in line)).toEqual({ wrote: false, code: 'run_superseded' });
      await stale.exited();
      expect(await registry.getFile(fileId)).toMatchObject({ status: 'processing', owner: 'worker-new', run_token: takeover!.token, error_code: null });
    } finally {
      await admin.query('SELECT pg_advisory_unlock_all()');
      await registry.close();
      await dropSchema(schema);
    }
  });
});
