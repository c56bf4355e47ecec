import PQueue from 'p-queue';
import type { ConcurrencyConfig } from '../config/define-config.js';

/**
 * The engine's work queues: network work (resolve + download) and CPU work (ffprobe, ffmpeg, sharp) are
 * limited separately, and network work is also limited per host.
 */
export class WorkQueues {
  readonly network: PQueue;
  readonly cpu: PQueue;
  private readonly hosts = new Map<string, PQueue>();

  constructor(private readonly concurrency: ConcurrencyConfig) {
    this.network = new PQueue({ concurrency: concurrency.network });
    this.cpu = new PQueue({ concurrency: concurrency.cpu });
  }

  /**
   * Runs network work for `host` under both the per-host and the global limit. An aborted `signal` makes queued
   * work fail as soon as it starts; running work is never abandoned (p-queue's own `signal` would reject the
   * caller while the work still runs its cleanup), it must honour the signal itself.
   */
  async forHost<T>(host: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
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

  /** Runs CPU work; like {@link WorkQueues.forHost}, queued work fails at its start once `signal` aborted. */
  async cpuWork<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return (await this.cpu.add(() => startUnlessAborted(work, signal))) as T;
  }
}

function startUnlessAborted<T>(work: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return work();
}
