// The BullMQ work queue and the Redis event bus against a real Redis: dedup by job id, jobs spread over worker
// processes and run once, a SIGKILLed worker's job taken over, a per-host limit that holds across workers,
// cancellation across instances, shutdown handing jobs back, and the refusal of an evicting Redis.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BullMqWorkQueue } from '../../src/adapters/cluster/bullmq-work-queue.js';
import type { BullMqWorkQueueOptions } from '../../src/adapters/cluster/bullmq-work-queue.js';
import { RedisEventBus } from '../../src/adapters/cluster/redis-event-bus.js';
import { cancelReasonOf } from '../../src/ports/work-queue.js';
import type { FileRunJob } from '../../src/ports/work-queue.js';
import type { BusEvent } from '../../src/ports/event-bus.js';
import { clusterServices } from '../support/cluster-services.js';
import { eventBusContract } from './contracts/event-bus-contract.js';
import { spawnJsonChild } from './support/child-process.js';
import type { JsonChild } from './support/child-process.js';
import { startPrivateRedis } from './support/private-redis.js';
import { deleteRedisKeys } from './support/redis-keys.js';

const cluster = await clusterServices('cluster: BullMQ work queue and Redis event bus');
const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'children/queue-worker-child.ts');
const job = (jobId: string): FileRunJob => ({ kind: 'restart', jobId, url: `https://media.example.com/${jobId}.mp4` });

/** A promise and its resolver. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe.skipIf(!cluster)('Redis event bus', () => {
  eventBusContract(
    async () => {
      const prefix = `test-${randomUUID()}`;
      const buses = [new RedisEventBus({ redisUrl: cluster!.redisUrl, prefix }), new RedisEventBus({ redisUrl: cluster!.redisUrl, prefix })] as [RedisEventBus, RedisEventBus];
      await Promise.all(buses.map((bus) => bus.open()));
      return buses;
    },
    async (buses) => {
      await Promise.all(buses.map((bus) => bus.close()));
    },
  );
});

describe.skipIf(!cluster)('BullMQ work queue', () => {
  const redisUrl = cluster?.redisUrl ?? '';
  const queues: BullMqWorkQueue[] = [];
  const children: JsonChild[] = [];
  let prefix = '';
  const makeQueue = async (options: Partial<BullMqWorkQueueOptions> = {}) => {
    const queue = new BullMqWorkQueue({ redisUrl, prefix, concurrency: { network: 8, perHost: 2, cpu: 2 }, ...options });
    await queue.open();
    queues.push(queue);
    return queue;
  };
  const worker = (env: Record<string, string> = {}) => {
    const child = spawnJsonChild(WORKER, { CHILD_REDIS_URL: redisUrl, CHILD_PREFIX: prefix, ...env });
    children.push(child);
    return child;
  };

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.process.exitCode === null) child.process.kill('SIGKILL');
    await Promise.all(queues.splice(0).map((q) => q.close()));
    if (prefix) await deleteRedisKeys(redisUrl, prefix);
  });
  // A fresh key prefix per test: no test sees another's jobs.
  const fresh = () => (prefix = `test-${randomUUID()}`);

  it('queues a job id once while it exists, and runs it once', async () => {
    fresh();
    const api = await makeQueue();
    expect(await Promise.all([1, 2, 3, 4, 5].map(() => api.enqueue(job('file_once'))))).toContain(true);
    expect(await api.enqueue(job('file_once'))).toBe(false);
    await expect(api.enqueue(job('bad:id'))).rejects.toMatchObject({ code: 'internal' });
    const runner = await makeQueue();
    const ran: string[] = [];
    const done = deferred();
    runner.process(async (j) => {
      ran.push(j.jobId);
      done.resolve();
    });
    await done.promise;
    await runner.drain();
    expect(ran).toEqual(['file_once']);
    expect(await api.enqueue(job('file_once'))).toBe(true); // finished jobs are removed: a restart can be queued
  });

  it('spreads jobs over two worker processes and runs each once', async () => {
    fresh();
    const api = await makeQueue();
    const workers = [worker(), worker()];
    await Promise.all(workers.map((w) => w.next((line) => 'owner' in line)));
    const ids = Array.from({ length: 12 }, (_, i) => `file_spread_${i}`);
    for (const id of ids) expect(await api.enqueue(job(id))).toBe(true);
    await api.drain();
    workers.forEach((w) => w.process.kill('SIGTERM'));
    const lines: Array<Record<string, unknown>> = [];
    for (const w of workers) {
      await w.exited(true);
      for (;;) {
        const line = await w.next((l) => 'ran' in l).catch(() => undefined);
        if (!line) break;
        lines.push(line);
      }
    }
    expect(lines.map((l) => l.ran).sort()).toEqual([...ids].sort());
  });

  it('hands the job of a SIGKILLed worker to another worker after its lock expires', async () => {
    fresh();
    const dying = worker({ CHILD_HOLD: '1', CHILD_LOCK_MS: '2000', CHILD_STALLED_MS: '1000' });
    const { owner } = (await dying.next((line) => 'owner' in line)) as { owner: string };
    const api = await makeQueue({ lockDurationMs: 2000, stalledIntervalMs: 1000 });
    await api.enqueue(job('file_stalled'));
    await dying.next((line) => line.started === 'file_stalled');
    expect(await api.isLiveOwner(owner)).toBe(true);
    dying.process.kill('SIGKILL');
    await dying.exited(true);
    const takenOver = deferred<string>();
    api.process(async (j) => takenOver.resolve(j.jobId));
    expect(await takenOver.promise).toBe('file_stalled');
    expect(await api.isLiveOwner(api.owner)).toBe(false);
    expect(await api.isLiveOwner('another-host:1:abcd')).toBe(false);
  });

  it('never runs more than perHost downloads of one host at once across three workers', async () => {
    fresh();
    const api = await makeQueue();
    const workers = await Promise.all([1, 2, 3].map(() => makeQueue({ concurrency: { network: 8, perHost: 2, cpu: 1 } })));
    let current = 0;
    let highest = 0;
    const ids = Array.from({ length: 12 }, (_, i) => `file_host_${i}`);
    const finished = new Set<string>();
    const all = deferred();
    for (const w of workers) {
      w.process(async (j, signal) => {
        await w.withSlot({ class: 'network', key: 'origin.example', signal }, async () => {
          current++;
          highest = Math.max(highest, current);
          await new Promise((r) => setTimeout(r, 40)); // a download in progress
          current--;
        });
        finished.add(j.jobId);
        if (finished.size === ids.length) all.resolve();
      });
    }
    for (const id of ids) await api.enqueue(job(id));
    await all.promise;
    expect(highest).toBe(2);
  });

  it('holds a per-host limit of 2 across three worker processes, as the origin sees it', async () => {
    fresh();
    let current = 0;
    let highest = 0;
    let served = 0;
    const origin = createServer((request, response) => {
      current++;
      highest = Math.max(highest, current);
      response.writeHead(200, { 'content-type': 'video/mp4' });
      // A slow origin: 8 chunks of 16 KiB, 15 ms apart.
      let chunks = 0;
      const timer = setInterval(() => {
        response.write(Buffer.alloc(16 * 1024));
        if (++chunks === 8) {
          clearInterval(timer);
          current--;
          served++;
          response.end();
        }
      }, 15);
      request.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const { port } = origin.address() as AddressInfo;
    try {
      const workers = [1, 2, 3].map(() => worker({ CHILD_DOWNLOAD: '1' }));
      await Promise.all(workers.map((w) => w.next((line) => 'owner' in line)));
      const api = await makeQueue();
      for (let i = 0; i < 9; i++) await api.enqueue({ kind: 'restart', jobId: `file_origin_${i}`, url: `http://127.0.0.1:${port}/v${i}.mp4` });
      await api.drain();
      expect(served).toBe(9);
      expect(highest).toBe(2);
      const ranBy = new Set<unknown>();
      for (const w of workers) {
        w.process.kill('SIGTERM');
        await w.exited(true);
        for (;;) {
          const line = await w.next((l) => 'ran' in l).catch(() => undefined);
          if (!line) break;
          ranBy.add(line.pid);
        }
      }
      expect(ranBy.size).toBeGreaterThan(1); // the work really was spread over processes
    } finally {
      origin.close();
    }
  });

  it('cancels a queued job by removing it and a running one in another instance through its signal', async () => {
    fresh();
    const api = await makeQueue();
    await api.enqueue(job('file_queued'));
    expect(await api.cancel('file_queued', 'deleted')).toBe(true);
    expect(await api.cancel('file_never', 'deleted')).toBe(false);

    const runner = await makeQueue();
    const started = deferred();
    const aborted = deferred<string | undefined>();
    runner.process(async (_j, signal) => {
      started.resolve();
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      aborted.resolve(cancelReasonOf(signal));
    });
    await api.enqueue(job('file_running'));
    await started.promise;
    expect(await api.cancel('file_running', 'deleted')).toBe(true);
    expect(await aborted.promise).toBe('deleted');
  });

  it('hands unfinished jobs back on close, to be taken by another worker', async () => {
    fresh();
    const first = await makeQueue();
    const started = deferred();
    const reasons: Array<string | undefined> = [];
    first.process(async (_j, signal) => {
      started.resolve();
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      reasons.push(cancelReasonOf(signal));
    });
    await first.enqueue(job('file_handback'));
    await started.promise;
    await first.close();
    expect(reasons).toEqual(['shutdown']);
    const second = await makeQueue();
    const taken = deferred<string>();
    second.process(async (j) => taken.resolve(j.jobId));
    expect(await taken.promise).toBe('file_handback');
  });

  it('refuses a Redis that may evict keys', async () => {
    const redis = await startPrivateRedis(['--maxmemory-policy', 'allkeys-lru']);
    try {
      const queue = new BullMqWorkQueue({ redisUrl: redis.url, concurrency: { network: 1, perHost: 1, cpu: 1 } });
      await expect(queue.open()).rejects.toMatchObject({ code: 'storage_error', message: expect.stringContaining('allkeys-lru') });
      await queue.close();
    } finally {
      await redis.stop();
    }
  });

  it('works on after Redis restarts: workers reconnect, events flow again; jobs queued before are gone', async () => {
    const redis = await startPrivateRedis();
    const options = { redisUrl: redis.url, prefix: 'restart', concurrency: { network: 2, perHost: 2, cpu: 1 } };
    const api = new BullMqWorkQueue(options);
    const runner = new BullMqWorkQueue(options);
    const buses = [new RedisEventBus({ redisUrl: redis.url }), new RedisEventBus({ redisUrl: redis.url })];
    try {
      await Promise.all([api.open(), runner.open(), ...buses.map((b) => b.open())]);
      const runs: string[] = [];
      const waiters = new Map<string, () => void>();
      runner.process(async (j) => {
        runs.push(j.jobId);
        waiters.get(j.jobId)?.();
      });
      const ran = (jobId: string) => new Promise<void>((resolve) => waiters.set(jobId, resolve));
      const before = ran('file_before');
      await api.enqueue(job('file_before'));
      await before;

      await redis.restart();
      const after = ran('file_after');
      await api.enqueue(job('file_after'));
      await after;
      expect(runs).toEqual(['file_before', 'file_after']);

      const received = new Promise<BusEvent>((resolve) => buses[1]!.subscribe({ fileId: 'file_after' }, resolve));
      // the subscriber re-subscribes on reconnect: publish until it hears (pub/sub is at most once)
      let heard: BusEvent | undefined;
      void received.then((e) => (heard = e));
      while (!heard) {
        await buses[0]!.publish({ type: 'file.completed', file: { id: 'file_after', status: 'completed' } });
        await Promise.race([received, new Promise((r) => setTimeout(r, 50))]);
      }
      expect(heard).toMatchObject({ type: 'file.completed' });

      // Without Redis persistence a restart empties the queue: a job queued and not yet run is gone (start-up
      // recovery re-queues files in flight from the registry, which keeps them).
      await runner.close();
      await api.enqueue(job('file_lost'));
      await redis.restart();
      expect(await api.enqueue(job('file_lost'))).toBe(true); // not known any more: queued afresh
    } finally {
      await Promise.allSettled([api.close(), runner.close(), ...buses.map((b) => b.close())]);
      await redis.stop();
    }
  });
});
