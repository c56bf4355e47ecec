import type { RetryConfig } from '../config/define-config.js';
import { IngestError } from '../errors.js';

/**
 * Exponential backoff with jitter for attempt `attempt` (1-based): a random wait between half and all of
 * `baseDelayMs * 2^(attempt-1)`, capped at `maxDelayMs`. A source's Retry-After, when given, is used as is (capped at
 * `maxDelayMs` here; {@link RetryBudget} applies the stricter `maxRetryAfterMs` rule).
 */
export function backoffDelay(attempt: number, retry: Pick<RetryConfig, 'baseDelayMs' | 'maxDelayMs'>, retryAfterSeconds?: number, random = Math.random): number {
  if (retryAfterSeconds !== undefined) return Math.min(retryAfterSeconds * 1000, retry.maxDelayMs);
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** One retry the budget granted: what failed and how long to wait before the next attempt. */
export interface RetryDecision {
  /** The attempt about to be made (2 for the first retry). */
  attempt: number;
  /** Retries granted so far, this one included. */
  retries: number;
  delayMs: number;
  /** Whether the wait is the source's Retry-After rather than backoff. */
  fromRetryAfter: boolean;
  error: IngestError;
}

/**
 * The retry budget of one file run, shared by resolve, open and every resume of the body, so the limits hold for
 * the run as a whole: at most `attempts` requests, no retry scheduled past `maxTotalMs` after the first failure, and
 * Retry-After honoured exactly up to `maxRetryAfterMs` (a longer one gives up at once).
 */
export class RetryBudget {
  /** The attempt in progress (1-based). */
  attempt = 1;
  /** Retries granted so far. */
  retries = 0;
  /** The last failure that was retried, if any. */
  lastError: IngestError | undefined;
  private firstFailureAt: number | undefined;

  constructor(
    private readonly retry: RetryConfig,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * Decides about a failure: returns the wait before the next attempt, or throws the error when it is not
   * retryable or the budget is spent (the message then says why retrying stopped).
   */
  next(error: IngestError): RetryDecision {
    if (!error.retryable) throw error;
    const now = this.now();
    this.firstFailureAt ??= now;
    if (this.attempt >= this.retry.attempts) throw giveUp(error, `gave up after ${this.attempt} attempts`);
    let delayMs: number;
    const fromRetryAfter = error.retryAfterSeconds !== undefined;
    if (fromRetryAfter) {
      delayMs = error.retryAfterSeconds! * 1000;
      if (delayMs > this.retry.maxRetryAfterMs) {
        throw giveUp(error, `the source asked to retry after ${error.retryAfterSeconds} s, more than the ${this.retry.maxRetryAfterMs / 1000} s honoured`);
      }
    } else {
      delayMs = backoffDelay(this.attempt, this.retry, undefined, this.random);
    }
    if (now + delayMs - this.firstFailureAt > this.retry.maxTotalMs) {
      throw giveUp(error, `gave up after ${this.attempt} attempts: retrying would take longer than ${this.retry.maxTotalMs} ms`);
    }
    this.attempt++;
    this.retries++;
    this.lastError = error;
    return { attempt: this.attempt, retries: this.retries, delayMs, fromRetryAfter, error };
  }
}

function giveUp(error: IngestError, why: string): IngestError {
  const options = error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds };
  return new IngestError(error.code, `${error.message} (${why})`, { cause: error, retryable: false, ...options });
}

/** Waits `ms`, rejecting early with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
