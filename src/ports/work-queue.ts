/**
 * The work queue port: file runs as jobs, and concurrency slots for the work inside them. The local adapter runs
 * jobs in this process (p-queue); a cluster adapter (BullMQ) hands them to any worker.
 */

/** Concurrency classes: network work (resolve + download) and CPU work (ffprobe, ffmpeg, sharp) are limited apart. */
export type WorkClass = 'network' | 'cpu';

/** Why a run is cancelled; the run settles differently (a deleted file records nothing, a shutdown checkpoints). */
export type CancelReason = 'deleted' | 'shutdown';

/**
 * One requested run of one file. Plain JSON, so a queue can carry it between processes.
 * `jobId` is the id of the file the run is for: for a new URL the run picks it before the file exists, and
 * {@link Registry.insertFileOnce} keeps it unless another run created the identity first.
 */
export type FileRunJob =
  | {
      kind: 'new';
      jobId: string;
      url: string;
      /** `sha256("alias:" + normalised URL)`, recorded as an alias of the file. */
      aliasHash: string;
      metadata: Record<string, unknown> | null;
      segmentThumbnails: boolean;
    }
  | {
      /** Runs an existing file again (failed, left in flight by a dead owner, or lost its outputs). */
      kind: 'restart';
      jobId: string;
      url: string;
    };

/**
 * Runs one job. `signal` aborts when the job is cancelled (its reason is an `IngestError('cancelled')`, see
 * {@link cancelReasonOf}) or the queue closes. Resolves when the run has settled (its outcome recorded).
 */
export type FileRunHandler = (job: FileRunJob, signal: AbortSignal) => Promise<void>;

/** A slot request of {@link WorkQueue.withSlot}. */
export interface SlotRequest {
  class: WorkClass;
  /** For network work, the source host: at most `concurrency.perHost` slots per key (across all workers in a cluster). */
  key?: string;
  /** Queued work whose signal aborted fails as soon as it would start, with the signal's reason. */
  signal?: AbortSignal;
}

export interface WorkQueue {
  /** Registers the function that runs jobs; a node that only enqueues (an API node) never calls it. Once only. */
  process(handler: FileRunHandler): void;
  /**
   * Queues a run. Resolves true once the job is accepted (not when it ran: its progress arrives through the
   * {@link EventBus}), false when a job with that `jobId` is queued or running already (it is not queued twice).
   */
  enqueue(job: FileRunJob): Promise<boolean>;
  /**
   * Cancels a queued or running job. Resolves when this process knows the run settled (locally: its handler
   * returned), or once the cancellation was delivered (cluster). False when the job was not known.
   */
  cancel(jobId: string, reason: CancelReason): Promise<boolean>;
  /** When the job runs in this process: a promise of its settling; otherwise undefined. */
  settled(jobId: string): Promise<void> | undefined;
  /**
   * Runs `work` when a slot of `request.class` (and of `request.key`) is free. Running work is never abandoned:
   * it must honour the signal itself.
   */
  withSlot<T>(request: SlotRequest, work: () => Promise<T>): Promise<T>;
  /**
   * Who this process is, as recorded in `FileRow.owner` of the files it claims (locally `host:pid`; in a cluster a
   * worker id).
   */
  readonly owner: string;
  /**
   * True when `owner` (read from a row) is a live worker other than this process: its file is not orphaned and must
   * not be restarted (locally: a live process on this host; in a cluster: a worker still holding the job's lock).
   */
  isLiveOwner(owner: string | null): Promise<boolean>;
  /**
   * For a queue that can lose jobs (a Redis restarted without persistence): of `jobIds`, those with no job queued,
   * delayed or running anywhere. Undefined when another process holds this pass (one reconciler at a time across
   * the cluster, kept for `passMs` and renewed by its holder). Absent on a queue that cannot lose a job (in-process).
   */
  lostJobs?(jobIds: readonly string[], passMs: number): Promise<string[] | undefined>;
  /** What this process is doing now, for metrics (optional: an adapter that cannot tell leaves it out). */
  stats?(): WorkQueueStats;
  /** Resolves when no job is queued or running. */
  drain(): Promise<void>;
  /** Stops taking jobs, cancels every job in this process with `shutdown`, and resolves when they settled. */
  close(): Promise<void>;
}

/** Work in this process: slots waiting and taken per class, and file runs in flight. */
export interface WorkQueueStats {
  network: { queued: number; running: number };
  cpu: { queued: number; running: number };
  files: number;
}

/**
 * True when the run was cancelled by a `shutdown` whose job the queue hands to another worker (a cluster queue's
 * `close()`): the run reports no refusal, since the run that takes the job over answers its enqueuer. The queue
 * marks it with `handedBack: true` in the cancellation's cause.
 */
export function isHandedBack(signal: AbortSignal): boolean {
  const cause = (signal.reason as { cause?: unknown } | undefined)?.cause as { handedBack?: boolean } | undefined;
  return signal.aborted && cause?.handedBack === true;
}

/** What cancelled a run, read from its aborted signal's reason (undefined when not a cancellation). */
export function cancelReasonOf(signal: AbortSignal): CancelReason | undefined {
  const cause = (signal.reason as { cause?: unknown } | undefined)?.cause as { cancelReason?: CancelReason } | undefined;
  return signal.aborted ? cause?.cancelReason : undefined;
}
