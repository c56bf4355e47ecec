// Unit tests of the retry budget, Retry-After parsing and the crash-point spec.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IngestError } from '../../src/errors.js';
import { RetryBudget, backoffDelay } from '../../src/engine/backoff.js';
import { parseCrashSpec } from '../../src/engine/crash-points.js';
import { parseRetryAfter } from '../../src/stages/open-media.js';
import { defaultConfig } from '../../src/config/load-config.js';

const retry = { attempts: 5, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 60_000, maxTotalMs: 300_000 };
const retryable = (extra: { retryAfterSeconds?: number } = {}): IngestError => new IngestError('upstream_error', 'boom', { retryable: true, ...extra });

describe('retry defaults', () => {
  it('are documented values', () => {
    expect(defaultConfig().retry).toEqual(retry);
  });
});

describe('RetryBudget', () => {
  it('grants attempts - 1 retries with growing, jittered, capped backoff', () => {
    const budget = new RetryBudget(retry, () => 0, () => 1);
    const delays = [1, 2, 3, 4].map(() => budget.next(retryable()).delayMs);
    expect(delays).toEqual([500, 1000, 2000, 4000]);
    expect(() => budget.next(retryable())).toThrow(/gave up after 5 attempts/);
    expect(budget).toMatchObject({ attempt: 5, retries: 4 });
  });

  it('throws non-retryable errors as they are', () => {
    const error = new IngestError('source_not_found', 'gone');
    expect(() => new RetryBudget(retry).next(error)).toThrow(error);
  });

  it('waits exactly what Retry-After says, and gives up when it is over the cap', () => {
    const budget = new RetryBudget(retry, () => 0);
    expect(budget.next(retryable({ retryAfterSeconds: 7 }))).toMatchObject({ delayMs: 7000, fromRetryAfter: true });
    expect(() => budget.next(retryable({ retryAfterSeconds: 61 }))).toThrow(/retry after 61 s/);
  });

  it('stops when the next wait would end past maxTotalMs after the first failure', () => {
    let now = 0;
    const budget = new RetryBudget({ ...retry, attempts: 100, maxTotalMs: 10_000 }, () => now, () => 1);
    budget.next(retryable());
    now = 9_500;
    expect(() => budget.next(retryable())).toThrow(/longer than 10000 ms/);
  });

  it('keeps every backoff within [ceiling/2, ceiling] and under maxDelayMs (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 60_000 }), fc.double({ min: 0, max: 1, noNaN: true }),
      (attempt, base, max, r) => {
        const delay = backoffDelay(attempt, { baseDelayMs: base, maxDelayMs: max }, undefined, () => r);
        const ceiling = Math.min(max, base * 2 ** (attempt - 1));
        return delay >= Math.floor(ceiling / 2) && delay <= Math.ceil(ceiling) && delay <= max;
      }));
  });

  it('never grants more retries than attempts - 1, whatever fails (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.option(fc.integer({ min: 0, max: 5 })), { minLength: 1, maxLength: 30 }), (attempts, afters) => {
      const budget = new RetryBudget({ ...retry, attempts }, () => 0);
      let granted = 0;
      for (const after of afters) {
        try {
          budget.next(retryable(after === null ? {} : { retryAfterSeconds: after }));
          granted++;
        } catch {
          break;
        }
      }
      return granted <= attempts - 1;
    }));
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-04-01T10:00:00Z');
  it.each([
    ['120', 120],
    [' 3 ', 3],
    ['Tue, 01 Apr 2025 10:00:05 GMT', 5],
    ['Tue, 01 Apr 2025 09:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    ['', undefined],
  ])('%j → %j', (value, seconds) => {
    expect(parseRetryAfter(value, now)).toBe(seconds);
  });
});

describe('parseCrashSpec', () => {
  it('reads download percentages and byte counts and named stages, ignoring unknown ones', () => {
    expect(parseCrashSpec('download:50%|thumbnails,committed,bogus')).toEqual([
      { stage: 'download', fraction: 0.5 }, { stage: 'thumbnails' }, { stage: 'committed' },
    ]);
    expect(parseCrashSpec('download:1000000')).toEqual([{ stage: 'download', bytes: 1_000_000 }]);
    expect(parseCrashSpec(undefined)).toEqual([]);
  });
});
