/**
 * The {@link WorkQueue} port on BullMQ (Redis): a file run is a job whose `jobId` is the file id, taken by any worker
 * process. A worker that dies (SIGKILL, a lost machine) stops renewing its job lock; after `lockDurationMs` the
 * stalled check (every `stalledIntervalMs`) hands the job to another worker. CPU work is limited per process;
 * network work per process and, for each source host, across every worker through a Redis semaphore.
 * Dedup of files stays the registry's: a `jobId` dedups only while its job exists.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Queue, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import PQueue from 'p-queue';
import { Semaphore, TimeoutError } from 'redis-semaphore';
import type { ConcurrencyConfig } from '../../config/define-config.js';
import { IngestError } from '../../errors.js';
import { cancelReasonOf } from '../../ports/work-queue.js';
import type { CancelReason, FileRunHandler, FileRunJob, SlotRequest, WorkQueue, WorkQueueStats } from '../../ports/work-queue.js';
import { assertNoEviction, createRedis } from './redis-connection.js';

/** Options of {@link BullMqWorkQueue}. */
export interface BullMqWorkQueueOptions {
  redisUrl: string;
  concurrency: ConcurrencyConfig;
  /** Prefix of every Redis key (BullMQ's and ours). @default 'media-ingest' */
  prefix?: string;
  /** File runs one worker process takes at once (they then wait for slots). @default concurrency.network */
  jobConcurrency?: number;
  /**
   * How long a worker's hold on a job lasts without renewal, ms. Renewed every half of it while the event loop is
   * free (ffmpeg and ffprobe run in child processes, so CPU work does not block it). @default 60000
   */
  lockDurationMs?: number;
  /** How often workers look for jobs whose lock expired (a dead worker's), ms. @default 30000 */
  stalledIntervalMs?: number;
  /** Times a job may be found stalled before it is failed for good. @default 3 */
  maxStalledCount?: number;
  /** Lifetime of a per-host slot without refresh (a dead worker's slot frees after it), ms. @default 60000 */
  hostSlotLeaseMs?: number;
  /** Longest wait for a per-host slot, ms. @default 3600000 */
  hostSlotWaitMs?: number;
  /** This worker's id as recorded in `FileRow.owner`. @default `host:pid:random` */
  owner?: string;
}

const QUEUE_NAME = 'file-runs';
const JOB_ID = /^[A-Za-z0-9_-]{1,200}$/;
/**
 * One attempt per job: retryable failures are retried inside the run, under the engine's retry budget (a second
 * BullMQ attempt would double it). A run whose worker died is re-run by the stalled check instead. Finished jobs
 * are removed, so the same file can be queued again (a restart); the registry keeps the outcome.
 */
const JOB_OPTIONS = { attempts: 1, removeOnComplete: true, removeOnFail: true } as const;

/** The abort reason of a cancelled run: `cancelled`, with the {@link CancelReason} in its cause. */
function cancellation(reason: CancelReason, jobId: string): IngestError {
  const message = reason === 'deleted' ? `File ${jobId} was deleted while in flight` : 'The worker shut down while the file was in flight; another worker takes it over';
  // close() queues a shut-down run again for another worker (see isHandedBack).
  return new IngestError('cancelled', message, { cause: { cancelReason: reason, handedBack: reason === 'shutdown' } });
}

interface RunningJob {
  controller: AbortController;
  done: Promise<void>;
}

export class BullMqWorkQueue implements WorkQueue {
  readonly owner: string;
  private readonly prefix: string;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly queue: Queue;
  /** Connections handed to BullMQ (it does not close connections it was given). */
  private readonly connections: Redis[] = [];
  private worker: Worker | undefined;
  private readonly cpu: PQueue;
  private readonly network: PQueue;
  private readonly running = new Map<string, RunningJob>();
  /** Runs cut short by this worker's shutdown, queued again once it has closed. */
  private readonly handedBack: FileRunJob[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: BullMqWorkQueueOptions) {
    this.prefix = options.prefix ?? 'media-ingest';
    this.owner = options.owner ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.redis = createRedis(options.redisUrl, { name: 'media-ingest-queue' });
    this.subscriber = createRedis(options.redisUrl, { blocking: true, name: 'media-ingest-cancel' });
    this.connections.push(createRedis(options.redisUrl, { name: 'media-ingest-queue-jobs' }));
    this.queue = new Queue(QUEUE_NAME, { connection: this.connections[0]!, prefix: this.prefix });
    this.queue.on('error', () => undefined);
    this.cpu = new PQueue({ concurrency: options.concurrency.cpu });
    this.network = new PQueue({ concurrency: options.concurrency.network });
  }

  private get cancelChannel(): string {
    return `${this.prefix}:cancel`;
  }

  private workerKey(owner: string): string {
    return `${this.prefix}:workers:${owner}`;
  }

  private runningKey(jobId: string): string {
    return `${this.prefix}:running:${jobId}`;
  }

  /** Checks Redis (reachable, `noeviction`) and listens for cancellations. Call once before use. */
  async open(): Promise<void> {
    try {
      await assertNoEviction(this.redis);
      await this.subscriber.subscribe(this.cancelChannel);
    } catch (error) {
      if (error instanceof IngestError) throw error;
      throw new IngestError('storage_error', `Redis work queue: cannot reach Redis (${(error as Error).message})`, { cause: error });
    }
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.cancelChannel) return;
      try {
        const { jobId, reason } = JSON.parse(message) as { jobId: string; reason: CancelReason };
        this.running.get(jobId)?.controller.abort(cancellation(reason, jobId));
      } catch {
        // not ours
      }
    });
  }

  process(handler: FileRunHandler): void {
    if (this.worker) throw new IngestError('internal', 'The work queue already has a handler');
    const lockDuration = this.options.lockDurationMs ?? 60_000;
    const connection = createRedis(this.options.redisUrl, { blocking: true, name: 'media-ingest-worker' });
    this.connections.push(connection);
    this.worker = new Worker(QUEUE_NAME, (job: Job) => this.runJob(handler, job), {
      connection,
      prefix: this.prefix,
      concurrency: this.options.jobConcurrency ?? this.options.concurrency.network,
      lockDuration,
      stalledInterval: this.options.stalledIntervalMs ?? 30_000,
      maxStalledCount: this.options.maxStalledCount ?? 3,
    });
    this.worker.on('error', () => undefined);
    // Liveness of this worker (isLiveOwner) and of each run it has (lostJobs): keys that expire when the process
    // stops refreshing them; a Redis restart loses them until the next beat.
    const beat = () => {
      const batch = this.redis.pipeline().set(this.workerKey(this.owner), '1', 'PX', lockDuration);
      for (const jobId of this.running.keys()) batch.set(this.runningKey(jobId), this.owner, 'PX', lockDuration);
      void batch.exec().catch(() => undefined);
    };
    beat();
    this.heartbeat = setInterval(beat, Math.max(250, Math.floor(lockDuration / 3)));
    this.heartbeat.unref();
  }

  private async runJob(handler: FileRunHandler, job: Job): Promise<void> {
    const jobId = job.id!;
    const controller = new AbortController();
    const entry: RunningJob = { controller, done: Promise.resolve() };
    if (this.closed) controller.abort(cancellation('shutdown', jobId));
    this.running.set(jobId, entry);
    void this.redis.set(this.runningKey(jobId), this.owner, 'PX', this.options.lockDurationMs ?? 60_000).catch(() => undefined);
    entry.done = (async () => {
      try {
        await handler(job.data as FileRunJob, controller.signal);
      } catch {
        // The handler records its own outcome (failed file, refused run) through the registry and the bus.
      }
    })();
    try {
      await entry.done;
    } finally {
      if (this.running.get(jobId) === entry) {
        this.running.delete(jobId);
        await this.redis.del(this.runningKey(jobId)).catch(() => undefined);
      }
    }
    // An unfinished run is handed back once this worker has closed (see close()); its job completes here.
    if (cancelReasonOf(controller.signal) === 'shutdown') this.handedBack.push(job.data as FileRunJob);
  }

  async enqueue(job: FileRunJob): Promise<boolean> {
    if (this.closed) throw cancellation('shutdown', job.jobId);
    if (!JOB_ID.test(job.jobId)) throw new IngestError('internal', 'A job id must be letters, digits, _ and - only (BullMQ ids cannot contain ":")');
    try {
      if ((await this.queue.getJobState(job.jobId)) !== 'unknown') return false;
      // Its job record may be gone (a Redis restart) while a live worker still runs it.
      if ((await this.redis.exists(this.runningKey(job.jobId))) === 1) return false;
      await this.queue.add(job.kind, job, { jobId: job.jobId, ...JOB_OPTIONS });
      return true;
    } catch (error) {
      throw new IngestError('storage_error', `Redis work queue: cannot queue ${job.jobId} (${(error as Error).message})`, { cause: error });
    }
  }

  async cancel(jobId: string, reason: CancelReason): Promise<boolean> {
    const local = this.running.get(jobId);
    if (local) {
      local.controller.abort(cancellation(reason, jobId));
      await local.done;
      return true;
    }
    const job = await this.queue.getJob(jobId);
    if (!job) return false;
    const state = await job.getState();
    if (state !== 'active') {
      try {
        await job.remove();
        return true;
      } catch {
        // It was taken by a worker meanwhile: cancel it there.
      }
    }
    await this.redis.publish(this.cancelChannel, JSON.stringify({ jobId, reason }));
    return true;
  }

  settled(jobId: string): Promise<void> | undefined {
    return this.running.get(jobId)?.done;
  }

  async withSlot<T>(request: SlotRequest, work: () => Promise<T>): Promise<T> {
    const { signal } = request;
    const start = () => (signal?.aborted ? Promise.reject(signal.reason) : work());
    if (request.class === 'cpu') return (await this.cpu.add(start)) as T;
    if (!request.key) return (await this.network.add(start)) as T;
    const lease = this.options.hostSlotLeaseMs ?? 60_000;
    const slot = new Semaphore(this.redis, `${this.prefix}:host-slots:${request.key}`, this.options.concurrency.perHost, {
      lockTimeout: lease,
      refreshInterval: Math.floor(lease / 3),
      acquireTimeout: this.options.hostSlotWaitMs ?? 3_600_000,
      retryInterval: 25,
      onLockLost: () => undefined, // the work goes on; the slot is re-counted after its lease
    });
    await this.acquireSlot(slot, request.key, signal);
    try {
      return (await this.network.add(start)) as T;
    } finally {
      await slot.release().catch(() => undefined);
    }
  }

  /**
   * Waits for a per-host slot. A Redis that is unreachable for a while (restarting) is waited out, within the same
   * deadline: the slot counts live in Redis, and a run must not fail because they were briefly out of reach.
   */
  private async acquireSlot(slot: Semaphore, key: string, signal: AbortSignal | undefined): Promise<void> {
    const deadline = Date.now() + (this.options.hostSlotWaitMs ?? 3_600_000);
    for (;;) {
      try {
        await slot.acquire(signal);
        return;
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (error instanceof TimeoutError || Date.now() >= deadline) {
          throw new IngestError('timeout', `No download slot for ${key} came free in time`, { cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  async lostJobs(jobIds: readonly string[], passMs: number): Promise<string[] | undefined> {
    const key = `${this.prefix}:reconciler`;
    const ttl = Math.max(1_000, passMs * 3);
    // One reconciler at a time: take the key, or keep it when it is ours (a holder that dies lets it expire).
    const taken = await this.redis.set(key, this.owner, 'PX', ttl, 'NX');
    if (taken === null) {
      if ((await this.redis.get(key)) !== this.owner) return undefined;
      await this.redis.pexpire(key, ttl);
    }
    const lost: string[] = [];
    for (const jobId of jobIds) {
      if (!JOB_ID.test(jobId) || (await this.queue.getJobState(jobId)) !== 'unknown') continue;
      // A live worker still runs it (its job record went with a Redis restart, the run did not): not lost.
      if ((await this.redis.exists(this.runningKey(jobId))) === 0) lost.push(jobId);
    }
    return lost;
  }

  /** This worker's runs and slots (jobs waiting in Redis are not counted: any worker may take them). */
  stats(): WorkQueueStats {
    return {
      network: { queued: this.network.size, running: this.network.pending },
      cpu: { queued: this.cpu.size, running: this.cpu.pending },
      files: this.running.size,
    };
  }

  async isLiveOwner(owner: string | null): Promise<boolean> {
    if (!owner || owner === this.owner) return false;
    return (await this.redis.exists(this.workerKey(owner))) === 1;
  }

  /** Resolves when no job is queued or running in any worker (polls the queue's counts). */
  async drain(): Promise<void> {
    for (;;) {
      const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      if (this.running.size === 0 && Object.values(counts).every((n) => n === 0)) return;
      await Promise.race([Promise.allSettled([...this.running.values()].map((j) => j.done)), new Promise((r) => setTimeout(r, 100))]);
    }
  }

  /** Stops taking jobs, hands this worker's unfinished runs back to the queue, and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = this.worker?.close();
    for (const [jobId, job] of this.running) job.controller.abort(cancellation('shutdown', jobId));
    await closing;
    // Their jobs completed (and were removed) when the handlers returned: queue them again for another worker.
    // A crash between the two is covered by start-up recovery (files in flight whose owner is dead).
    for (const job of this.handedBack.splice(0)) {
      await this.queue.add(job.kind, job, { jobId: job.jobId, ...JOB_OPTIONS }).catch(() => undefined);
    }
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.redis.del(this.workerKey(this.owner)).catch(() => undefined);
    await this.queue.close();
    for (const connection of this.connections) connection.disconnect();
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => undefined);
  }
}
