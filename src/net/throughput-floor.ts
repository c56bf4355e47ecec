/**
 * A minimum-throughput watchdog for one response body, like curl's `--speed-limit`/`--speed-time`: when fewer
 * than `bytesPerSecond × windowMs` bytes arrive over any `windowMs` stretch, the body is aborted with `timeout`
 * (retryable, so the transfer resumes it with `Range` or retries it within the run's budget).
 *
 * Only time spent waiting for the source counts: while the reader holds a chunk (disk busy, buffer full) the
 * clock stops, so a slow consumer is never blamed on the source. The idle deadline still covers total silence;
 * this catches the source that trickles a byte every few seconds and would otherwise hold a slot for an hour.
 */
import { IngestError } from '../errors.js';

/** A point on the source-waiting clock. */
interface Sample {
  atMs: number;
  bytes: number;
}

/** Watches one body; call {@link ThroughputFloor.waiting} before each read and {@link ThroughputFloor.received} after. */
export class ThroughputFloor {
  private activeMs = 0;
  private waitingSince: number | undefined;
  private bytes = 0;
  private samples: Sample[] = [{ atMs: 0, bytes: 0 }];
  private timer: NodeJS.Timeout | undefined;
  private tripped = false;

  /**
   * @param bytesPerSecond the floor; 0 disables the watchdog.
   * @param windowMs how long the rate may stay under the floor.
   * @param onTooSlow called once with the `timeout` error when the floor is broken.
   */
  constructor(
    private readonly bytesPerSecond: number,
    private readonly windowMs: number,
    private readonly onTooSlow: (error: IngestError) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  private get enabled(): boolean {
    return this.bytesPerSecond > 0 && this.windowMs > 0 && !this.tripped;
  }

  /** The reader is about to wait for the next chunk: the clock runs. */
  waiting(): void {
    if (!this.enabled || this.waitingSince !== undefined) return;
    this.waitingSince = this.now();
    // Checked a few times per window, so a silent or trickling source is caught within about a window and a fifth.
    this.timer ??= setInterval(() => this.check(), Math.max(10, Math.floor(this.windowMs / 5)));
    this.timer.unref();
  }

  /** A chunk of `length` bytes arrived (0 at the end): the clock stops until the next {@link waiting}. */
  received(length: number): void {
    if (this.waitingSince !== undefined) {
      this.activeMs += this.now() - this.waitingSince;
      this.waitingSince = undefined;
    }
    this.bytes += length;
    this.check();
  }

  /** Stops watching (end of body, failure, cancellation). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.tripped = true;
  }

  private clock(): number {
    return this.activeMs + (this.waitingSince === undefined ? 0 : this.now() - this.waitingSince);
  }

  private check(): void {
    if (!this.enabled) return;
    const at = this.clock();
    // About ten samples per window, whatever the chunk rate.
    if (at - this.samples[this.samples.length - 1]!.atMs >= this.windowMs / 10) this.samples.push({ atMs: at, bytes: this.bytes });
    // Keep the newest sample at least a window old as the baseline, and everything after it.
    while (this.samples.length > 1 && this.samples[1]!.atMs <= at - this.windowMs) this.samples.shift();
    const base = this.samples[0]!;
    const span = at - base.atMs;
    if (span < this.windowMs) return;
    const floorBytes = (this.bytesPerSecond * span) / 1000;
    if (this.bytes - base.bytes >= floorBytes) return;
    const rate = Math.round(((this.bytes - base.bytes) * 1000) / span);
    this.stop();
    this.onTooSlow(
      new IngestError(
        'timeout',
        `The source sent ${rate} B/s over ${Math.round(span / 1000)} s, under the floor of ${this.bytesPerSecond} B/s (network.minBytesPerSecond)`,
        { retryable: true },
      ),
    );
  }
}
