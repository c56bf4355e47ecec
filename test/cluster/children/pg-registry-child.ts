// A separate OS process using the Postgres registry, driven by the pg-registry tests.
//   insert-race: waits at a shared advisory-lock barrier, then makes CHILD_INSERTS concurrent inserts of one identity.
//   stale-write: inserts a file, prints its token, waits at the barrier, then writes with that token.
import pg from 'pg';
import { PgRegistry } from '../../../src/adapters/cluster/pg-registry.js';
import { fileRow } from '../contracts/file-row.js';

const env = process.env;
const registry = new PgRegistry({ connectionString: env.CHILD_PG_URL!, schema: env.CHILD_SCHEMA!, poolSize: 5 });
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

/** Blocks until the parent releases the advisory lock CHILD_BARRIER it holds. */
async function barrier(): Promise<void> {
  const client = new pg.Client({ connectionString: env.CHILD_PG_URL! });
  await client.connect();
  await client.query('SELECT pg_advisory_lock_shared($1)', [Number(env.CHILD_BARRIER)]);
  await client.end();
}

await registry.open();
if (env.CHILD_MODE === 'insert-race') {
  print({ ready: true });
  await barrier();
  const outcomes = await Promise.all(
    Array.from({ length: Number(env.CHILD_INSERTS) }, (_, i) =>
      registry.insertFileOnce(fileRow({ id: `file_${process.pid}_${i}`, identity_hash: env.CHILD_IDENTITY!, owner: `pid-${process.pid}` })),
    ),
  );
  print({ created: outcomes.filter((o) => o.created).length, ids: [...new Set(outcomes.map((o) => o.row.id))] });
} else if (env.CHILD_MODE === 'stale-write') {
  const outcome = await registry.insertFileOnce(fileRow({ owner: `pid-${process.pid}` }));
  if (!outcome.created) throw new Error('expected a new file');
  print({ fileId: outcome.row.id, token: outcome.token });
  await barrier();
  try {
    await registry.update(outcome.row.id, outcome.token, { status: 'failed', error_code: 'internal', error_message: 'stale write' });
    print({ wrote: true });
  } catch (error) {
    print({ wrote: false, code: (error as { code?: string }).code });
  }
}
await registry.close();
