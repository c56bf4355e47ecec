/**
 * The temporary disk budget of all downloads in flight (`limits.maxTempBytes`); see {@link TempDiskBudget}.
 */
import { IngestError } from '../errors.js';

/** Temp-disk bytes held by one download; see {@link TempDiskBudget}. */
export interface TempReservation {
  /** Bytes held. */
  readonly bytes: number;
  /**
   * Holds at least `bytes` in all, growing at once or failing with `disk_budget_exceeded` (never waits: a growing
   * body holds a connection, and two growing bodies waiting for each other would never finish).
   */
  ensure(bytes: number): void;
  /** Gives every byte back (idempotent). */
  release(): void;
}

/** Growth of a length-less body is reserved in steps of this size, not per chunk. */
const GROWTH_STEP = 4 << 20;

/**
 * The temporary disk of all downloads in flight in this process, together (`limits.maxTempBytes`). A download
 * whose length is known reserves it before reading the body and waits (first come, first served) while it does not
 * fit; a body without a length is counted as it grows. Reservations end when the file is committed, discarded or
 * set aside after a cancellation (its `.part` then waits on disk for a later resume, outside the budget).
 */
export class TempDiskBudget {
  private used = 0;
  private readonly waiting: Array<{ bytes: number; grant: () => void }> = [];

  constructor(readonly limit: number) {}

  /** Bytes reserved right now. */
  get reserved(): number {
    return this.used;
  }

  /** Reserves `bytes` now when they fit (and nobody waits before), else undefined. Throws when they never can. */
  tryReserve(bytes: number): TempReservation | undefined {
    this.assertCanEverFit(bytes);
    if (this.waiting.length > 0 || this.used + bytes > this.limit) return undefined;
    return this.grant(bytes);
  }

  /** Reserves `bytes`, waiting for other downloads to finish while they do not fit; rejects when `signal` aborts. */
  reserve(bytes: number, signal: AbortSignal): Promise<TempReservation> {
    const now = this.tryReserve(bytes);
    if (now) return Promise.resolve(now);
    return new Promise<TempReservation>((resolve, reject) => {
      const entry = {
        bytes,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.grant(bytes));
        },
      };
      const onAbort = (): void => {
        const index = this.waiting.indexOf(entry);
        if (index >= 0) this.waiting.splice(index, 1);
        this.wake();
        reject(signal.reason ?? new IngestError('cancelled', 'Cancelled while waiting for temp disk'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private assertCanEverFit(bytes: number): void {
    if (bytes > this.limit) {
      throw new IngestError('disk_budget_exceeded', `A download of ${bytes} bytes is larger than the temp disk budget of ${this.limit} bytes (limits.maxTempBytes)`);
    }
  }

  private grant(initial: number): TempReservation {
    this.used += initial;
    let held = initial;
    let released = false;
    const budget = this;
    return {
      get bytes() {
        return held;
      },
      ensure(bytes: number): void {
        if (released || bytes <= held) return;
        const others = budget.used - held;
        if (others + bytes > budget.limit) {
          throw new IngestError(
            'disk_budget_exceeded',
            `The download reached ${bytes} bytes; with the other downloads in flight (${others} bytes) that passes the temp disk budget of ${budget.limit} bytes (limits.maxTempBytes)`,
          );
        }
        const target = Math.min(budget.limit - others, Math.max(bytes, held + GROWTH_STEP));
        budget.used = others + target;
        held = target;
      },
      release(): void {
        if (released) return;
        released = true;
        budget.used -= held;
        held = 0;
        budget.wake();
      },
    };
  }

  /** Grants waiting reservations in order while the first one fits. */
  private wake(): void {
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.bytes <= this.limit) this.waiting.shift()!.grant();
  }
}
