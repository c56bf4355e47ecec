import PQueue from 'p-queue';
import type { ConcurrencyConfig } from '../../config/define-config.js';
import { IngestError } from '../../errors.js';
import { OWNER, isLiveOwner } from './process-owner.js';
import type { CancelReason, FileRunHandler, FileRunJob, SlotRequest, WorkQueue, WorkQueueStats } from '../../ports/work-queue.js';

/** The abort reason of a cancelled run: `cancelled`, with the {@link CancelReason} in its cause. */
export function cancellation(reason: CancelReason, message: string): IngestError {
  return new IngestError('cancelled', message, { cause: { cancelReason: reason } });
}

interface RunningJob {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * The local {@link WorkQueue}: jobs run in this process as soon as they are enqueued (what waits is the work inside
 * them, for slots); network work (resolve + download) and CPU work (ffprobe, ffmpeg, sharp) are limited separately
 * with p-queue, and network work is also limited per host.
 */
export class PQueueWorkQueue implements WorkQueue {
  readonly network: PQueue;
  readonly cpu: PQueue;
  private readonly hosts = new Map<string, PQueue>();
  private readonly jobs = new Map<string, RunningJob>();
  private handler: FileRunHandler | undefined;
  private closed = false;

  constructor(private readonly concurrency: ConcurrencyConfig) {
    this.network = new PQueue({ concurrency: concurrency.network });
    this.cpu = new PQueue({ concurrency: concurrency.cpu });
  }

  process(handler: FileRunHandler): void {
    if (this.handler) throw new IngestError('internal', 'The work queue already has a handler');
    this.handler = handler;
  }

  readonly owner = OWNER;

  async isLiveOwner(owner: string | null): Promise<boolean> {
    return isLiveOwner(owner);
  }

  async enqueue(job: FileRunJob): Promise<boolean> {
    if (this.closed) throw cancellation('shutdown', 'The engine is closed');
    const handler = this.handler;
    if (!handler) throw new IngestError('internal', 'No worker processes file runs in this process');
    if (this.jobs.has(job.jobId)) return false;
    const controller = new AbortController();
    const entry: RunningJob = { controller, done: Promise.resolve() };
    this.jobs.set(job.jobId, entry);
    entry.done = (async () => {
      try {
        await handler(job, controller.signal);
      } catch {
        // The handler records its own outcome; what it rethrows has been reported through events already.
      } finally {
        if (this.jobs.get(job.jobId) === entry) this.jobs.delete(job.jobId);
      }
    })();
    return true;
  }

  async cancel(jobId: string, reason: CancelReason): Promise<boolean> {
    const job = this.jobs.get(jobId);
    if (!job) return false;
    job.controller.abort(cancellation(reason, reason === 'deleted' ? `File ${jobId} was deleted while in flight` : 'The engine was closed while the file was in flight'));
    await job.done;
    return true;
  }

  settled(jobId: string): Promise<void> | undefined {
    return this.jobs.get(jobId)?.done;
  }

  /**
   * Network work runs under both the per-host and the global limit. An aborted signal makes queued work fail as soon
   * as it starts; running work is never abandoned (p-queue's own `signal` would reject the caller while the work
   * still runs its cleanup), it must honour the signal itself.
   */
  async withSlot<T>(request: SlotRequest, work: () => Promise<T>): Promise<T> {
    const { signal } = request;
    if (request.class === 'cpu') return (await this.cpu.add(() => startUnlessAborted(work, signal))) as T;
    const host = request.key ?? '';
    let queue = this.hosts.get(host);
    if (!queue) {
      queue = new PQueue({ concurrency: this.concurrency.perHost });
      this.hosts.set(host, queue);
    }
    const hostQueue = queue;
    try {
      return (await hostQueue.add(() => this.network.add(() => startUnlessAborted(work, signal)))) as T;
    } finally {
      if (hostQueue.size === 0 && hostQueue.pending === 0) this.hosts.delete(host);
    }
  }

  stats(): WorkQueueStats {
    let waitingForHost = 0;
    for (const host of this.hosts.values()) waitingForHost += host.size;
    return {
      network: { queued: waitingForHost + this.network.size, running: this.network.pending },
      cpu: { queued: this.cpu.size, running: this.cpu.pending },
      files: this.jobs.size,
    };
  }

  async drain(): Promise<void> {
    while (this.jobs.size > 0) await Promise.allSettled([...this.jobs.values()].map((j) => j.done));
  }

  async close(): Promise<void> {
    this.closed = true;
    // Queued work is not dropped (its callers would wait forever): aborted, each run fails as soon as it starts.
    await Promise.allSettled([...this.jobs.keys()].map((id) => this.cancel(id, 'shutdown')));
  }
}

function startUnlessAborted<T>(work: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return work();
}
