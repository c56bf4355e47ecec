// One engine process in cluster mode: syncs CHILD_URLS concurrently (each waited for) and prints the outcomes.
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { createIngest } from '../../../src/index.js';
import { directHttp } from '../../../plugins/direct-http/index.js';

const ingest = await createIngest({
  configFile: path.resolve('test/support/empty.config.ts'),
  logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  plugins: [directHttp()],
  builtinPlugins: [],
  dataDir: process.env.CHILD_DATA_DIR!,
  network: { connectTo: [process.env.CHILD_CONNECT_TO!] },
  cluster: JSON.parse(process.env.CHILD_CLUSTER!),
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
const urls = JSON.parse(process.env.CHILD_URLS!) as string[];
const results = await Promise.all(
  urls.map((url) =>
    ingest.sync(url, { wait: true }).then(
      (file) => [url, file.id, file.status, file.error?.code ?? null],
      (error: { code?: string; message?: string }) => [url, null, 'refused', error.code ?? error.message ?? String(error)],
    ),
  ),
);
process.stdout.write(`${JSON.stringify({ results })}\n`);
// Stay a worker until every process is done (the parent holds advisory lock CHILD_BARRIER until then).
const barrier = new pg.Client({ connectionString: JSON.parse(process.env.CHILD_CLUSTER!).postgresUrl });
await barrier.connect();
await barrier.query('SELECT pg_advisory_lock_shared($1)', [Number(process.env.CHILD_BARRIER)]);
await barrier.end();
await ingest.close();
