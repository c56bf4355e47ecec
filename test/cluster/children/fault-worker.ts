// One cluster engine process for the fault tests: a worker (every engine takes jobs) that first syncs CHILD_URLS
// (waiting for each to end with CHILD_WAIT=1, else only until its media response is open), prints the outcomes, and
// stays a worker until a line arrives on stdin; then it closes and exits. Its warnings and errors are printed as
// pino JSON lines on stdout (so the parent can wait for one, e.g. `run superseded`).
import path from 'node:path';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { createIngest } from '../../../src/index.js';
import { directHttp } from '../../../plugins/direct-http/index.js';

const { network, ...extra } = (process.env.CHILD_CONFIG ? JSON.parse(process.env.CHILD_CONFIG) : {}) as { network?: Record<string, unknown> } & Record<string, never>;
const ingest = await createIngest({
  configFile: path.resolve('test/support/empty.config.ts'),
  logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' }, pino.destination(1)),
  plugins: [directHttp()],
  builtinPlugins: [],
  checkDecoder: false,
  dataDir: process.env.CHILD_DATA_DIR!,
  network: { ...network, connectTo: [process.env.CHILD_CONNECT_TO!] },
  cluster: JSON.parse(process.env.CHILD_CLUSTER!),
  ...extra,
});
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
const wait = process.env.CHILD_WAIT === '1';
const urls = JSON.parse(process.env.CHILD_URLS ?? '[]') as string[];
const results = await Promise.all(
  urls.map((url) =>
    ingest.sync(url, { wait }).then(
      (file) => [url, file.id, file.status, file.error?.code ?? null, file.error?.message ?? null],
      (error: { code?: string; message?: string }) => [url, null, 'refused', error.code ?? String(error), error.message ?? null],
    ),
  ),
);
process.stdout.write(`${JSON.stringify({ results })}\n`);
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
lines.close();
await ingest.close();
