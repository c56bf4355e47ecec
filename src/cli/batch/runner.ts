/**
 * The engine side of `media-ingest batch`: pulls entries lazily, runs at most `concurrency` syncs at a time
 * (each waits for a terminal status), and writes results strictly in input order through a bounded reorder
 * buffer. {@link BatchRunner.stop} stops taking new lines; {@link BatchRunner.interrupt} marks what is still in
 * flight as interrupted (the caller then closes the engine, which checkpoints those files back to `pending`).
 */
import type { Ingest } from '../../engine/ingest.js';
import type { IngestFile } from '../../engine/file-view.js';
import { toIngestError } from '../../errors.js';
import type { BatchEntry, UrlEntry } from './input.js';
import type { ResultSink } from './output.js';

/** How one line ended. `skipped`: the URL was already completed (idempotency), nothing was downloaded. */
export type Outcome = 'completed' | 'skipped' | 'failed' | 'refused' | 'interrupted';

/** Counters of a run (also what the progress display and the summary read). */
export interface BatchStats {
  /** Output-producing lines read from the input so far. */
  read: number;
  /** Results settled (written or waiting in the reorder buffer). */
  done: number;
  completed: number;
  skipped: number;
  /** Files that ended `failed`. */
  failed: number;
  /** Syncs refused before any download, and malformed lines. */
  refused: number;
  interrupted: number;
  /** Bytes downloaded by this process during the run. */
  bytes: number;
}

/** Options of {@link BatchRunner}. */
export interface BatchRunnerOptions {
  ingest: Pick<Ingest, 'sync' | 'waitFor' | 'on' | 'off'>;
  entries: AsyncIterable<BatchEntry>;
  sink: ResultSink;
  concurrency: number;
  /** Default for lines that do not say (`--no-segment-thumbnails` → false). */
  segmentThumbnails: boolean;
  /** Most results held back waiting for an earlier line. @default max(256, concurrency * 16) */
  maxReorderWindow?: number;
  /** Called once if writing a result fails (disk full ...); later results are counted but not written. */
  onOutputError?: (error: Error) => void;
}

interface Result {
  outcome: Outcome;
  record: Record<string, unknown>;
}

/** Runs one batch. Create, call {@link BatchRunner.run} once. */
export class BatchRunner {
  readonly stats: BatchStats = { read: 0, done: 0, completed: 0, skipped: 0, failed: 0, refused: 0, interrupted: 0, bytes: 0 };
  /** The first error reading the input, if reading failed part way. */
  inputError: Error | undefined;
  /** The first error writing a result, if any. */
  outputError: Error | undefined;
  private stopping = false;
  private interrupted = false;
  private inFlight = 0;
  private nextToWrite = 0;
  private readonly held = new Map<number, Result>();
  private waiters: Array<() => void> = [];
  private readonly received = new Map<string, number>();
  /** Wakes the pending input read when {@link stop} is called. */
  private onStop: (() => void) | undefined;
  /** One per line in flight: settles it as interrupted (see {@link abandon}). No long-lived promise collects reactions. */
  private readonly abandonHandles = new Set<() => void>();
  /** Lines whose `sync()` call has not returned yet. */
  private syncing = 0;

  constructor(private readonly options: BatchRunnerOptions) {}

  /** Stops taking new lines; work in flight goes on. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.onStop?.();
    this.notify();
  }

  /** From now on, work that ends without a terminal file (or with an error) is recorded as interrupted. */
  interrupt(): void {
    this.stop();
    this.interrupted = true;
  }

  /**
   * Settles every line still waiting on the engine as interrupted. For after `ingest.close()`: work the engine
   * dropped while closing (queued, or not yet registered) would otherwise never settle.
   */
  abandon(): void {
    this.interrupt();
    const handles = [...this.abandonHandles];
    this.abandonHandles.clear();
    for (const abandon of handles) abandon();
  }

  /**
   * Resolves once no `sync()` call is pending (each in-flight line then has a registered file the engine can
   * checkpoint on close), or after `timeoutMs`.
   */
  async syncsSettled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.syncing > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Runs until the input ends (or {@link stop}), and every started line has its result written. */
  async run(): Promise<BatchStats> {
    const { ingest, concurrency } = this.options;
    const window = this.options.maxReorderWindow ?? Math.max(256, concurrency * 16);
    const onProgress = (file: IngestFile): void => {
      if (file.progress) this.received.set(file.id, file.progress.bytes_received);
    };
    const onTerminal = (file: IngestFile): void => {
      const last = this.received.get(file.id) ?? 0;
      this.received.delete(file.id);
      this.stats.bytes += file.status === 'completed' ? (file.bytes ?? last) : last;
    };
    ingest.on('file.progress', onProgress);
    ingest.on('file.completed', onTerminal);
    ingest.on('file.failed', onTerminal);
    const tasks = new Set<Promise<void>>();
    const iterator = this.options.entries[Symbol.asyncIterator]();
    try {
      for (let seq = 0; !this.stopping; seq += 1) {
        while (!this.stopping && (this.inFlight >= concurrency || seq - this.nextToWrite >= window)) {
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
        if (this.stopping) break;
        const next = await new Promise<IteratorResult<BatchEntry> | undefined>((resolve) => {
          this.onStop = () => resolve(undefined);
          iterator.next().then(resolve, (error: unknown) => {
            this.inputError ??= error instanceof Error ? error : new Error(String(error));
            resolve(undefined);
          });
        });
        this.onStop = undefined;
        if (!next || next.done || this.stopping) break;
        const entry = next.value;
        this.stats.read += 1;
        if (entry.kind === 'invalid') {
          this.settle(seq, { outcome: 'refused', record: { line: entry.line, url: entry.url, error: entry.error, code: 'invalid_request' } });
          continue;
        }
        this.inFlight += 1;
        const task = this.track(entry).then((result) => {
          this.inFlight -= 1;
          this.settle(seq, result);
        });
        tasks.add(task);
        void task.finally(() => tasks.delete(task));
      }
      await Promise.all(tasks);
    } finally {
      ingest.off('file.progress', onProgress);
      ingest.off('file.completed', onTerminal);
      ingest.off('file.failed', onTerminal);
    }
    for (const bytes of this.received.values()) this.stats.bytes += bytes;
    this.received.clear();
    return this.stats;
  }

  /** Bytes so far, including files still downloading. */
  bytesSoFar(): number {
    let bytes = this.stats.bytes;
    for (const value of this.received.values()) bytes += value;
    return bytes;
  }

  /** {@link process}, settled early as interrupted by {@link abandon}. */
  private track(entry: UrlEntry): Promise<Result> {
    const base = { line: entry.line, url: entry.url };
    return new Promise<Result>((resolve) => {
      const abandon = (): void => resolve(interruptedResult(base, undefined));
      this.abandonHandles.add(abandon);
      this.process(entry)
        .then(resolve, (thrown: unknown) => {
          const error = toIngestError(thrown);
          resolve({ outcome: 'refused', record: { ...base, error: error.message, code: error.code } });
        })
        .finally(() => this.abandonHandles.delete(abandon));
    });
  }

  private async process(entry: UrlEntry): Promise<Result> {
    const base = { line: entry.line, url: entry.url };
    let file: IngestFile;
    try {
      this.syncing += 1;
      try {
        file = await this.options.ingest.sync(entry.url, {
          ...(entry.metadata !== undefined ? { metadata: entry.metadata } : {}),
          enableSegmentThumbnails: entry.enableSegmentThumbnails ?? this.options.segmentThumbnails,
          wait: false,
        });
      } finally {
        this.syncing -= 1;
        this.notify();
      }
      if (file.status === 'completed') return { outcome: 'skipped', record: { ...base, file } };
      file = await this.options.ingest.waitFor(file.id);
    } catch (thrown) {
      // A snapshot taken before the engine closed would be stale: leave the file out.
      if (this.interrupted) return interruptedResult(base, undefined);
      const error = toIngestError(thrown);
      return { outcome: 'refused', record: { ...base, error: error.message, code: error.code } };
    }
    if (file.status === 'completed') return { outcome: 'completed', record: { ...base, file } };
    if (file.status === 'failed') {
      const error = file.error ?? { code: 'internal', message: 'The file failed' };
      return { outcome: 'failed', record: { ...base, error: error.message, code: error.code, file } };
    }
    return interruptedResult(base, file);
  }

  private settle(seq: number, result: Result): void {
    this.stats.done += 1;
    this.stats[result.outcome] += 1;
    this.held.set(seq, result);
    for (let ready = this.held.get(this.nextToWrite); ready; ready = this.held.get(this.nextToWrite)) {
      if (!this.outputError) {
        try {
          this.options.sink.write(ready.record);
        } catch (error) {
          this.outputError = error instanceof Error ? error : new Error(String(error));
          this.options.onOutputError?.(this.outputError);
        }
      }
      this.held.delete(this.nextToWrite);
      this.nextToWrite += 1;
    }
    this.notify();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

function interruptedResult(base: { line: number; url: string }, file: IngestFile | undefined): Result {
  return { outcome: 'interrupted', record: { ...base, error: 'interrupted', code: 'cancelled', ...(file ? { file } : {}) } };
}
