/**
 * Webhook deliveries of file status changes. For every configured receiver (`ingest.config.webhooks`) the
 * dispatcher POSTs `{id, type, created_at, data: File}` as JSON, signed with HMAC-SHA256 over
 * `<timestamp>.<body>`. Non-2xx answers and network errors are retried with exponential backoff and jitter, up
 * to a bounded number of attempts, always with the same delivery id (at-least-once: receivers dedupe on it).
 *
 * Receivers are configured by the operator, so deliveries use plain `fetch` (not the engine's guarded client
 * with its private-address block): a receiver on localhost or a private network is legitimate. Retries live in
 * memory: deliveries still pending when the process stops are dropped (and logged). In cluster mode the server
 * uses {@link QueuedWebhookDispatcher} instead (queued-webhooks.ts: one delivery per event across API nodes,
 * retries kept in Redis).
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import pino from 'pino';
import type { Logger } from 'pino';
import type { WebhookConfig } from '../config/define-config.js';
import type { Ingest, IngestEvent } from '../engine/ingest.js';
import type { IngestFile } from '../engine/file-view.js';

/** The event types a receiver gets. */
export type WebhookEventType = 'file.job.processing' | 'file.job.completed' | 'file.job.failed';

/** The JSON body of one delivery. */
export interface WebhookDelivery {
  /** Delivery id (UUID), the same on every retry; also in `X-Media-Ingest-Delivery`. */
  id: string;
  type: WebhookEventType;
  /** Unix milliseconds when the event happened. */
  created_at: number;
  /** The File at that moment. */
  data: IngestFile;
}

/** Retry policy of deliveries. */
export interface WebhookRetryPolicy {
  /** Attempts in all, the first included. @default 6 */
  attempts: number;
  /** Wait before the second attempt, ms; doubles each time (with 50-100 % jitter). @default 1000 */
  baseDelayMs: number;
  /** Longest single wait, ms (also caps Retry-After). @default 60000 */
  maxDelayMs: number;
  /** Deadline of one attempt, ms. @default 10000 */
  timeoutMs: number;
}

/** Options of {@link WebhookDispatcher}. */
export interface WebhookDispatcherOptions {
  /** Receivers. @default ingest.config.webhooks */
  webhooks?: readonly WebhookConfig[];
  retry?: Partial<WebhookRetryPolicy>;
  logger?: Logger;
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
}

/** Engine event → webhook event type. */
export const WEBHOOK_EVENT_TYPES: ReadonlyMap<IngestEvent, WebhookEventType> = new Map([
  ['file.processing', 'file.job.processing'],
  ['file.completed', 'file.job.completed'],
  ['file.failed', 'file.job.failed'],
]);
export const DEFAULT_RETRY: WebhookRetryPolicy = { attempts: 6, baseDelayMs: 1000, maxDelayMs: 60_000, timeoutMs: 10_000 };

/** `sha256=<hex>` signature of a delivery body sent at `timestamp` (Unix seconds). */
export function signWebhook(secret: string, timestamp: number | string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Checks a delivery's `X-Media-Ingest-Signature` (for receivers written in Node). Rejects timestamps older or
 * newer than `toleranceSeconds` to blunt replays. Compares in constant time.
 */
export function verifyWebhook(secret: string, timestamp: string, body: string, signature: string, toleranceSeconds = 300): boolean {
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(Date.now() / 1000 - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, ts, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** True when `hook` takes events of `type` (all when it lists none; `file.completed` also means `file.job.completed`). */
export function wantsEvent(hook: WebhookConfig, type: WebhookEventType): boolean {
  return !hook.events || hook.events.some((e) => e === type || e === type.replace('.job', ''));
}

/** What one delivery attempt came to. */
export interface WebhookAttemptOutcome {
  ok: boolean;
  reason?: string;
  retryAfterMs?: number;
}

/** One attempt of one delivery: POSTs `body` signed with the hook's secret; never throws. */
export async function postWebhook(
  fetch: typeof globalThis.fetch, hook: WebhookConfig, id: string, body: string, signal: AbortSignal,
): Promise<WebhookAttemptOutcome> {
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const response = await fetch(hook.url, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'media-ingest-webhooks',
        'x-media-ingest-delivery': id,
        'x-media-ingest-timestamp': String(timestamp),
        'x-media-ingest-signature': signWebhook(hook.secret, timestamp, body),
      },
      body,
      signal,
    });
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { ok: true };
    const retryAfter = Number(response.headers.get('retry-after'));
    return { ok: false, reason: `HTTP ${response.status}`, ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/** Subscribes to an engine's events and delivers them to the configured receivers. */
export class WebhookDispatcher {
  private readonly webhooks: readonly WebhookConfig[];
  private readonly retry: WebhookRetryPolicy;
  private readonly logger: Logger;
  private readonly fetch: typeof globalThis.fetch;
  private readonly pending = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly listeners: Array<[IngestEvent, (file: IngestFile) => void]> = [];
  private readonly sleepers = new Set<() => void>();
  private closing = false;

  constructor(private readonly ingest: Ingest, options: WebhookDispatcherOptions = {}) {
    this.webhooks = options.webhooks ?? ingest.config.webhooks ?? [];
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.logger = options.logger ?? pino({ enabled: false });
    this.fetch = options.fetch ?? globalThis.fetch;
    if (this.webhooks.length === 0) return;
    for (const [event, type] of WEBHOOK_EVENT_TYPES) {
      const listener = (file: IngestFile): void => this.dispatch(type, file);
      ingest.on(event, listener);
      this.listeners.push([event, listener]);
    }
  }

  /** Deliveries started and not finished yet (in flight or waiting to retry). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends one event to every receiver that wants it. */
  dispatch(type: WebhookEventType, file: IngestFile): void {
    if (this.closing) return;
    const createdAt = Date.now();
    for (const hook of this.webhooks) {
      if (!wantsEvent(hook, type)) continue;
      const delivery: WebhookDelivery = { id: randomUUID(), type, created_at: createdAt, data: file };
      const run = this.deliver(hook, delivery).finally(() => this.pending.delete(run));
      this.pending.add(run);
    }
  }

  /**
   * Stops listening, lets attempts in flight finish for up to `graceMs`, then aborts them. Deliveries waiting for
   * a retry are dropped (logged at warn).
   */
  async close(graceMs = 5000): Promise<void> {
    for (const [event, listener] of this.listeners.splice(0)) this.ingest.off(event, listener);
    this.closing = true;
    const timer = setTimeout(() => this.stopping.abort(), graceMs);
    for (const wake of this.sleepers) wake();
    await Promise.allSettled([...this.pending]);
    clearTimeout(timer);
    this.stopping.abort();
  }

  private async deliver(hook: WebhookConfig, delivery: WebhookDelivery): Promise<void> {
    const body = JSON.stringify(delivery);
    const log = this.logger.child({ webhook: hook.url, delivery: delivery.id, type: delivery.type, fileId: delivery.data.id });
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
      if (this.closing && attempt > 1) break;
      const outcome = await postWebhook(this.fetch, hook, delivery.id, body, AbortSignal.any([AbortSignal.timeout(this.retry.timeoutMs), this.stopping.signal]));
      if (outcome.ok) {
        log.debug({ attempt }, 'webhook delivered');
        return;
      }
      log.warn({ attempt, reason: outcome.reason }, 'webhook delivery failed');
      if (attempt === this.retry.attempts || this.closing) break;
      const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      const wait = outcome.retryAfterMs !== undefined ? Math.min(this.retry.maxDelayMs, Math.max(backoff, outcome.retryAfterMs)) : backoff;
      await this.sleep(wait);
    }
    log.warn({ closing: this.closing }, this.closing ? 'webhook delivery dropped at shutdown' : 'webhook delivery given up');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
