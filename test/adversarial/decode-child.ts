// An engine in its own process for decode-bombs.test.ts (so the test can measure the memory of its whole process
// tree): reads its plan from DECODE_CHILD_PLAN, syncs each URL with default thumbnails (segment thumbnails on),
// waits, and prints one JSON line per file, then its own peak RSS.
import path from 'node:path';
import pino from 'pino';
import { createIngest } from '../../src/index.js';
import type { IngestConfigInput } from '../../src/config/define-config.js';
import { directHttp } from '../../plugins/direct-http/index.js';

interface Plan {
  dataDir: string;
  connectTo: string[];
  urls: string[];
  limits?: IngestConfigInput['limits'];
}

const plan = JSON.parse(process.env.DECODE_CHILD_PLAN ?? '{}') as Plan;
const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

const ingest = await createIngest({
  configFile: path.resolve('test/support/empty.config.ts'),
  logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }, pino.destination(2)),
  plugins: [directHttp()],
  dataDir: plan.dataDir,
  network: { connectTo: plan.connectTo },
  retry: { attempts: 1 },
  ...(plan.limits ? { limits: plan.limits } : {}),
});
for (const url of plan.urls) {
  try {
    const file = await ingest.sync(url, { wait: true });
    const thumbnails = (await ingest.thumbnails(file.id, { limit: 100 })).data.map((t) => ({ width: t.width, height: t.height }));
    print({ url, status: file.status, code: file.error?.code ?? null, message: file.error?.message ?? null, thumbnails });
  } catch (error) {
    print({ url, status: 'refused', code: (error as { code?: string }).code ?? 'not an IngestError', message: (error as Error).message, thumbnails: [] });
  }
}
await ingest.close();
print({ maxRssKb: process.resourceUsage().maxRSS });
