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

  /** Runs network work for `host` under both the per-host and the global limit; `signal` takes it out of the queue. */
  async forHost<T>(host: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let queue = this.hosts.get(host);
    if (!queue) {
      queue = new PQueue({ concurrency: this.concurrency.perHost });
      this.hosts.set(host, queue);
    }
    const hostQueue = queue;
    try {
      const options = signal ? { signal } : {};
      return (await hostQueue.add(() => this.network.add(work, options), options)) as T;
    } finally {
      if (hostQueue.size === 0 && hostQueue.pending === 0) this.hosts.delete(host);
    }
  }

  /** Runs CPU work; `signal` takes it out of the queue. */
  async cpuWork<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return (await this.cpu.add(work, signal ? { signal } : {})) as T;
  }

  clear(): void {
    this.network.clear();
    this.cpu.clear();
    for (const q of this.hosts.values()) q.clear();
  }
}
