import { AsyncLocalStorage } from 'node:async_hooks';
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
    // Queued work starts from another task's completion: it keeps its caller's async context (file-run telemetry).
    const bound = AsyncLocalStorage.bind(work);
    try {
      return (await hostQueue.add(() => this.network.add(() => startUnlessAborted(bound, signal)))) as T;
    } finally {
      if (hostQueue.size === 0 && hostQueue.pending === 0) this.hosts.delete(host);
    }
  }

  /** Runs CPU work; like {@link WorkQueues.forHost}, queued work fails at its start once `signal` aborted. */
  async cpuWork<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const bound = AsyncLocalStorage.bind(work);
    return (await this.cpu.add(() => startUnlessAborted(bound, signal))) as T;
  }

  /** Work waiting for a slot (per host and globally) and work running, per kind. */
  stats(): { network: { queued: number; running: number }; cpu: { queued: number; running: number } } {
    let waitingForHost = 0;
    for (const host of this.hosts.values()) waitingForHost += host.size;
    return {
      network: { queued: waitingForHost + this.network.size, running: this.network.pending },
      cpu: { queued: this.cpu.size, running: this.cpu.pending },
    };
  }
}

function startUnlessAborted<T>(work: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return work();
}
