// One engine process: syncs CHILD_URLS concurrently (each waited for) and prints the outcomes. In cluster mode with
// CHILD_CLUSTER, else embedded on CHILD_DATA_DIR (which several children may share). With CHILD_GATE it prints
// {ready} and starts syncing only when a line arrives on stdin, so that every child starts at once.
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import pino from 'pino';
import { createIngest } from '../../src/index.js';
import { directHttp } from '../../plugins/direct-http/index.js';
import { IngestError } from '../../src/plugin-api.js';
import type { SourcePlugin } from '../../src/plugin-api.js';

/** Short links whose identity needs resolving: `http://short.example.test/s/<n>/<anything>` is media n. */
const shortLinks: SourcePlugin = {
  id: 'shortlink',
  description: 'test short links',
  urlForms: ['http://short.example.test/s/<n>/<anything>'],
  matches: (url) => url.hostname === 'short.example.test',
  identify: () => undefined,
  async resolve(url) {
    const n = /^\/s\/(\d+)\//.exec(url.pathname)?.[1];
    if (!n) throw new IngestError('invalid_url', 'not a test short link');
    return { identity: { key: `shortlink:${n}`, canonicalUrl: `http://short.example.test/s/${n}/` }, download: { url: `http://media.example.test/short/${n}.wav` } };
  },
};

const cluster = process.env.CHILD_CLUSTER ? JSON.parse(process.env.CHILD_CLUSTER) : undefined;
const ingest = await createIngest({
  configFile: path.resolve('test/support/empty.config.ts'),
  logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }, pino.destination(2)),
  plugins: [shortLinks, directHttp()],
  builtinPlugins: [],
  dataDir: process.env.CHILD_DATA_DIR!,
  network: { connectTo: [process.env.CHILD_CONNECT_TO!] },
  ...(cluster ? { cluster } : {}),
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
if (process.env.CHILD_GATE) {
  const lines = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => lines.once('line', () => resolve()));
  lines.close();
}
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
if (cluster && process.env.CHILD_BARRIER) {
  // Stay a worker until every process is done (the parent holds advisory lock CHILD_BARRIER until then).
  const barrier = new pg.Client({ connectionString: cluster.postgresUrl });
  await barrier.connect();
  await barrier.query('SELECT pg_advisory_lock_shared($1)', [Number(process.env.CHILD_BARRIER)]);
  await barrier.end();
  // What this process still had in flight when it closed (its runs are handed back to the other workers).
  process.stdout.write(`${JSON.stringify({ closing: ingest.workload() })}\n`);
}
await ingest.close();
