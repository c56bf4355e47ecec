import type { Logger } from 'pino';
import { IN_FLIGHT_STATUSES } from '../ports/file-records.js';
import type { FileRow, Registry } from '../ports/registry.js';
import type { WorkQueue } from '../ports/work-queue.js';

/** What the reconciler works with. */
export interface ReconcileDeps {
  registry: Registry;
  queue: WorkQueue;
  logger: Logger;
  /** True when a run of the file is in this process. */
  isActive: (fileId: string) => boolean;
  /** Queues a run of the file again (the engine's restart command). */
  restart: (row: FileRow) => Promise<unknown>;
}

/**
 * Keeps the registry and a queue that can lose jobs in agreement: a Redis restarted without persistence forgets
 * the jobs it held, while their files stay `pending`/`processing` in the registry. Every `intervalMs` one process
 * of the cluster (the queue's {@link WorkQueue.lostJobs} elects it) lists the files in flight, asks which have no
 * job any more, and queues those again, but only when a file was found so on two passes in a row with no write in
 * between: a run whose job vanished while it still works (its worker outlived the restart) keeps writing progress
 * and is left alone. A file queued again is claimed by its new run (compare-and-set on its token), so a run
 * misjudged as lost is fenced off, never doubled.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private passing = false;
  /** File id → `updated_at` when the previous pass found its job missing. */
  private suspects = new Map<string, number>();

  constructor(private readonly d: ReconcileDeps, private readonly intervalMs: number) {}

  /** Starts the periodic passes (nothing when the queue cannot lose jobs or the interval is 0). */
  start(): void {
    if (!this.d.queue.lostJobs || this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.pass(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass; returns the files queued again (empty when another process holds the pass). */
  async pass(): Promise<string[]> {
    const { registry, queue, logger } = this.d;
    if (this.passing || !queue.lostJobs) return [];
    this.passing = true;
    try {
      const rows = (await registry.filesWithStatus([...IN_FLIGHT_STATUSES])).filter((row) => !this.d.isActive(row.id));
      const lost = await queue.lostJobs(rows.map((row) => row.id), this.intervalMs);
      if (!lost) {
        this.suspects.clear();
        return [];
      }
      const missing = new Set(lost);
      const next = new Map<string, number>();
      const requeued: string[] = [];
      for (const row of rows) {
        if (!missing.has(row.id)) continue;
        if (this.suspects.get(row.id) !== row.updated_at) {
          next.set(row.id, row.updated_at);
          continue;
        }
        logger.warn({ fileId: row.id, status: row.status }, 'a file in flight lost its queued job (Redis restarted?): queuing it again');
        requeued.push(row.id);
        this.d.restart(row).catch(() => undefined);
      }
      this.suspects = next;
      return requeued;
    } catch (error) {
      // Redis or Postgres unreachable right now: the next pass tries again.
      logger.debug({ err: (error as Error).message }, 'reconcile pass skipped');
      return [];
    } finally {
      this.passing = false;
    }
  }
}
