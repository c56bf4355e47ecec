// A media-ingest engine in its own process, for the crash tests: reads its plan from CHILD_ENGINE_PLAN, syncs and
// waits, and prints one JSON line per event on stdout. MEDIA_INGEST_TEST_CRASH_AT (set by the test) makes it SIGKILL
// itself at that point.
import path from 'node:path';
import pino from 'pino';
import { createIngest } from '../../src/index.js';
import { directHttp } from '../../plugins/direct-http/index.js';
import type { ChildPlan } from './support.js';

const plan = JSON.parse(process.env.CHILD_ENGINE_PLAN ?? '{}') as ChildPlan;
const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

const ingest = await createIngest({
  configFile: path.resolve('test/support/empty.config.ts'),
  logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' }, pino.destination(2)),
  plugins: [directHttp()],
  dataDir: plan.dataDir,
  network: { connectTo: plan.connectTo },
  retry: { baseDelayMs: 50 },
  thumbnails: { width: 160 },
  recover: plan.recover ?? true,
});
print({ event: 'started', pid: process.pid });
const ids: string[] = [...(plan.waitFor ?? [])];
for (const url of plan.sync ?? []) {
  try {
    const file = await ingest.sync(url);
    print({ event: 'synced', url, file });
    ids.push(file.id);
  } catch (error) {
    print({ event: 'refused', url, code: (error as { code?: string }).code, message: (error as Error).message });
  }
}
for (const id of ids) {
  const file = await ingest.waitFor(id);
  print({ event: 'done', file });
}
await ingest.close();
print({ event: 'closed' });
