// A worker process on the BullMQ work queue, driven by the work-queue tests. Prints {owner} once ready, {started}
// when a job starts; with CHILD_HOLD=1 a job holds until it is cancelled; with CHILD_DOWNLOAD=1 it downloads the
// job's URL under a network slot of its host; then it ends with {ran}.
import { BullMqWorkQueue } from '../../../src/adapters/cluster/bullmq-work-queue.js';

const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const queue = new BullMqWorkQueue({
  redisUrl: process.env.CHILD_REDIS_URL!,
  prefix: process.env.CHILD_PREFIX!,
  concurrency: { network: 4, perHost: 2, cpu: 1 },
  lockDurationMs: Number(process.env.CHILD_LOCK_MS ?? 60_000),
  stalledIntervalMs: Number(process.env.CHILD_STALLED_MS ?? 30_000),
});
await queue.open();
queue.process(async (job, signal) => {
  print({ started: job.jobId, owner: queue.owner });
  if (process.env.CHILD_HOLD === '1') await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  if (process.env.CHILD_DOWNLOAD === '1') {
    const url = new URL(job.url);
    await queue.withSlot({ class: 'network', key: url.host, signal }, async () => {
      const response = await fetch(url, { signal });
      await response.arrayBuffer();
    });
  }
  print({ ran: job.jobId, owner: queue.owner, pid: process.pid });
});
print({ owner: queue.owner });
process.on('SIGTERM', () => void queue.close().then(() => process.exit(0)));
