/**
 * Webhook deliveries as BullMQ jobs, for several API nodes: a delivery is queued under a job id made from the hook
 * and the delivery id, so every node may queue the same event and it is still sent once; whichever node has a free
 * sender takes it; failed attempts are retried with exponential backoff from Redis, so retries survive a restart of
 * the node that made them. Secrets never go to Redis: the job names its hook, the sending node signs.
 * (Building block: the server's dispatcher does not use it yet; it needs delivery ids derived from the event.)
 */
import { createHash } from 'node:crypto';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { IngestError } from '../../errors.js';
import { assertNoEviction, createRedis } from './redis-connection.js';

/** One delivery to one webhook, as queued. */
export interface WebhookJob {
  /** The receiver URL (the sender looks its secret up in its own config). */
  hookUrl: string;
  /** Stable across nodes and retries for one event (the receiver dedupes on it too). */
  deliveryId: string;
  /** The JSON body to send. */
  body: string;
}

/**
 * Sends one attempt; throws to have it retried (an `IngestError` that is not retryable ends the delivery). An error
 * with a numeric `retryAfterMs` (the receiver's Retry-After) waits at least that long, up to `maxDelayMs`.
 */
export type WebhookSender = (job: WebhookJob, attempt: number) => Promise<void>;

/** Options of {@link BullMqWebhookQueue}. */
export interface BullMqWebhookQueueOptions {
  redisUrl: string;
  /** Prefix of the Redis keys. @default 'media-ingest' */
  prefix?: string;
  /** Attempts per delivery. @default 6 */
  attempts?: number;
  /** Wait before the second attempt, ms; doubles each time (with 50-100 % jitter). @default 1000 */
  baseDelayMs?: number;
  /** Longest wait between two attempts, ms (also caps a Retry-After). @default 60000 */
  maxDelayMs?: number;
  /** How long a sent delivery's id is remembered, so a late duplicate from another node is not sent again, ms. @default 86400000 */
  dedupWindowMs?: number;
}

const QUEUE_NAME = 'webhooks';
const BACKOFF_TYPE = 'media-ingest-capped';

/** The job id of a delivery: hook and delivery, hashed (BullMQ ids may not contain `:`). */
export function webhookJobId(hookUrl: string, deliveryId: string): string {
  return createHash('sha256').update(`${hookUrl}\n${deliveryId}`).digest('hex').slice(0, 40);
}

export class BullMqWebhookQueue {
  private readonly prefix: string;
  private readonly connections: Redis[] = [];
  private readonly queue: Queue;
  private worker: Worker | undefined;

  constructor(private readonly options: BullMqWebhookQueueOptions) {
    this.prefix = options.prefix ?? 'media-ingest';
    this.connections.push(createRedis(options.redisUrl, { name: 'media-ingest-webhooks' }));
    this.queue = new Queue(QUEUE_NAME, { connection: this.connections[0]!, prefix: this.prefix });
    this.queue.on('error', () => undefined);
  }

  /** Checks Redis (reachable, `noeviction`). */
  async open(): Promise<void> {
    try {
      await assertNoEviction(this.connections[0]!);
    } catch (error) {
      if (error instanceof IngestError) throw error;
      throw new IngestError('storage_error', `Redis webhook queue: cannot reach Redis (${(error as Error).message})`, { cause: error });
    }
  }

  /** Queues a delivery; false when this delivery is queued, in flight or was sent within the dedup window. */
  async enqueue(job: WebhookJob): Promise<boolean> {
    const jobId = webhookJobId(job.hookUrl, job.deliveryId);
    if ((await this.queue.getJobState(jobId)) !== 'unknown') return false;
    await this.queue.add('delivery', job, {
      jobId,
      attempts: this.options.attempts ?? 6,
      backoff: { type: BACKOFF_TYPE },
      removeOnComplete: { age: Math.ceil((this.options.dedupWindowMs ?? 86_400_000) / 1000) },
      removeOnFail: { age: Math.ceil((this.options.dedupWindowMs ?? 86_400_000) / 1000) },
    });
    return true;
  }

  /** Sends queued deliveries from this node, `concurrency` at once. Once only. */
  process(send: WebhookSender, concurrency = 4): void {
    if (this.worker) throw new IngestError('internal', 'The webhook queue already has a sender');
    const connection = createRedis(this.options.redisUrl, { blocking: true, name: 'media-ingest-webhook-sender' });
    this.connections.push(connection);
    this.worker = new Worker(
      QUEUE_NAME,
      async (job: Job) => {
        try {
          await send(job.data as WebhookJob, job.attemptsMade + 1);
        } catch (error) {
          if (error instanceof IngestError && !error.retryable) throw new UnrecoverableError(error.message);
          throw error;
        }
      },
      { connection, prefix: this.prefix, concurrency, settings: { backoffStrategy: (attemptsMade, _type, error) => this.backoff(attemptsMade, error) } },
    );
    this.worker.on('error', () => undefined);
  }

  /** Wait before the next attempt: exponential with jitter, capped, at least the receiver's Retry-After. */
  private backoff(attemptsMade: number, error: Error | undefined): number {
    const max = this.options.maxDelayMs ?? 60_000;
    const exponential = Math.min(max, (this.options.baseDelayMs ?? 1000) * 2 ** Math.max(0, attemptsMade - 1)) * (0.5 + Math.random() / 2);
    const retryAfter = (error as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
    return Math.round(typeof retryAfter === 'number' && retryAfter > 0 ? Math.min(max, Math.max(exponential, retryAfter)) : exponential);
  }

  /** The state of a delivery's job (`completed`, `delayed` while waiting to retry, `failed` when given up ...). */
  state(hookUrl: string, deliveryId: string): Promise<string> {
    return this.queue.getJobState(webhookJobId(hookUrl, deliveryId));
  }

  /** Stops sending (attempts in flight finish; waiting retries stay in Redis for any node) and disconnects. */
  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    for (const connection of this.connections) connection.disconnect();
  }
}
