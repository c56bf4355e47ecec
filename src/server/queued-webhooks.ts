/**
 * Webhook deliveries in cluster mode, through the cluster's BullMQ webhook queue: every API node hears every file
 * event (the Redis event bus) and queues its deliveries under a delivery id derived from the event — file id, event
 * type and the run that emitted it — so the nodes queue the same job and each event is delivered once, by
 * whichever node's sender takes it. Failed attempts wait in Redis for their retry (exponential backoff with jitter,
 * capped at `retry.maxDelayMs`, at least the receiver's Retry-After; 10 attempts by default), so they survive the
 * restart of the node that made them; a node that stops lets its attempts in flight finish.
 *
 * Events are heard through pub/sub: an event published while no API node is connected is not delivered.
 */
import { createHash } from 'node:crypto';
import pino from 'pino';
import type { Logger } from 'pino';
import type { BullMqWebhookQueue, WebhookJob } from '../adapters/cluster/bullmq-webhook-queue.js';
import { loadWebhookQueue } from '../adapters/cluster/load.js';
import type { WebhookConfig } from '../config/define-config.js';
import type { FileEventContext, Ingest, IngestEvent } from '../engine/ingest.js';
import type { IngestFile } from '../engine/file-view.js';
import { IngestError } from '../errors.js';
import { DEFAULT_RETRY, WEBHOOK_EVENT_TYPES, postWebhook, wantsEvent } from './webhooks.js';
import type { WebhookDelivery, WebhookDispatcherOptions, WebhookEventType, WebhookRetryPolicy } from './webhooks.js';

/** Deliveries one node sends at once. */
const SENDERS = 4;
/** Attempts per delivery unless `retry.attempts` says otherwise: more than in-memory retries, since Redis keeps them (about 5 minutes with the default delays). */
const CLUSTER_ATTEMPTS = 10;

/**
 * The delivery id of one event, the same on every node that hears it: a UUID-shaped hash of the file id, the
 * webhook event type and the run that emitted it (for an event of no run, the File it carries).
 */
export function deliveryIdOf(type: WebhookEventType, file: IngestFile, context: FileEventContext = {}): string {
  const run = context.run ?? `file:${createHash('sha256').update(JSON.stringify(file)).digest('hex')}`;
  const hex = createHash('sha256').update(`${file.id}\n${type}\n${run}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Queues an engine's webhook deliveries in the cluster's webhook queue and sends queued ones from this node. */
export class QueuedWebhookDispatcher {
  private readonly webhooks: readonly WebhookConfig[];
  private readonly retry: WebhookRetryPolicy;
  private readonly logger: Logger;
  private readonly fetch: typeof globalThis.fetch;
  private readonly listeners: Array<[IngestEvent, (file: IngestFile, context?: FileEventContext) => void]> = [];
  private readonly queuing = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private queue: BullMqWebhookQueue | undefined;
  private closing = false;

  constructor(private readonly ingest: Ingest, options: WebhookDispatcherOptions = {}) {
    this.webhooks = options.webhooks ?? ingest.config.webhooks ?? [];
    this.retry = { ...DEFAULT_RETRY, attempts: CLUSTER_ATTEMPTS, ...options.retry };
    this.logger = options.logger ?? pino({ enabled: false });
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** Opens the queue, starts this node's senders and listens to the engine's events (nothing without webhooks). */
  async start(): Promise<void> {
    const cluster = this.ingest.config.cluster;
    if (this.webhooks.length === 0 || this.closing) return;
    if (!cluster) throw new IngestError('internal', 'Queued webhook deliveries need cluster mode');
    this.queue = await loadWebhookQueue(cluster, { attempts: this.retry.attempts, baseDelayMs: this.retry.baseDelayMs, maxDelayMs: this.retry.maxDelayMs });
    this.queue.process((job, attempt) => this.send(job, attempt), SENDERS);
    for (const [event, type] of WEBHOOK_EVENT_TYPES) {
      const listener = (file: IngestFile, context?: FileEventContext): void => this.dispatch(type, file, context);
      this.ingest.on(event, listener);
      this.listeners.push([event, listener]);
    }
  }

  /** Queues one event for every receiver that wants it (a no-op for deliveries another node queued already). */
  dispatch(type: WebhookEventType, file: IngestFile, context: FileEventContext = {}): void {
    const queue = this.queue;
    if (this.closing || !queue) return;
    const delivery: WebhookDelivery = { id: deliveryIdOf(type, file, context), type, created_at: Date.now(), data: file };
    const body = JSON.stringify(delivery);
    for (const hook of this.webhooks) {
      if (!wantsEvent(hook, type)) continue;
      const queued = queue
        .enqueue({ hookUrl: hook.url, deliveryId: delivery.id, body })
        .then(
          (added) => this.logger.debug({ delivery: delivery.id, type, fileId: file.id, added }, 'webhook delivery queued'),
          (error: unknown) => this.logger.error({ delivery: delivery.id, type, fileId: file.id, err: (error as Error).message }, 'could not queue a webhook delivery'),
        )
        .finally(() => this.queuing.delete(queued));
      this.queuing.add(queued);
    }
  }

  /**
   * Stops listening, finishes queuing what was heard, lets attempts in flight finish for up to `graceMs` (then
   * aborts them: they are retried from Redis), and disconnects. Deliveries waiting for a retry stay queued.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const [event, listener] of this.listeners.splice(0)) this.ingest.off(event, listener);
    await Promise.allSettled([...this.queuing]);
    const timer = setTimeout(() => this.stopping.abort(), graceMs);
    await this.queue?.close().catch((error: unknown) => this.logger.warn({ err: (error as Error).message }, 'webhook queue close failed'));
    clearTimeout(timer);
    this.stopping.abort();
  }

  /** One attempt from this node; throws to have the delivery retried (by any node). */
  private async send(job: WebhookJob, attempt: number): Promise<void> {
    const log = this.logger.child({ webhook: job.hookUrl, delivery: job.deliveryId, attempt });
    const hook = this.webhooks.find((h) => h.url === job.hookUrl);
    // Queued by a node with another config: left to a node that knows the receiver (and its secret).
    if (!hook) throw new Error('this node has no webhook with that URL in its config');
    const outcome = await postWebhook(this.fetch, hook, job.deliveryId, job.body, AbortSignal.any([AbortSignal.timeout(this.retry.timeoutMs), this.stopping.signal]));
    if (outcome.ok) {
      log.debug('webhook delivered');
      return;
    }
    log.warn({ reason: outcome.reason }, attempt >= this.retry.attempts ? 'webhook delivery given up' : 'webhook delivery failed; retried from the queue');
    // The receiver's Retry-After, if any, sets the earliest next attempt (see BullMqWebhookQueue).
    throw Object.assign(new Error(`webhook delivery failed: ${outcome.reason ?? 'unknown'}`), outcome.retryAfterMs ? { retryAfterMs: outcome.retryAfterMs } : {});
  }
}
