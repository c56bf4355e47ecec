import { randomUUID } from 'node:crypto';
import { IngestError, isIngestError, toIngestError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { ERROR_CODES } from '../errors.js';
import type { EventBus, FileEventPayload } from '../ports/event-bus.js';
import { IN_FLIGHT_STATUSES, isTerminalStatus } from '../ports/file-records.js';
import type { FileRow, Registry } from '../ports/registry.js';
import type { FileRunJob, WorkQueue } from '../ports/work-queue.js';
import { CheckedUrls } from './checked-urls.js';
import type { IngestConfig } from '../config/define-config.js';
import type { FileOutputs } from './file-outputs.js';
import type { FileQueries, FileViews, ViewContext } from './file-queries.js';
import { sha256 } from './file-rows.js';
import type { IngestFile } from './file-view.js';
import type { PluginRouter } from './plugin-router.js';
import { SingleFlight } from './single-flight.js';
import { validateMetadata, validateUpdate } from './validate.js';

/** Options of {@link Ingest.sync}. */
export interface SyncOptions {
  /** User metadata stored with a new file (ignored when the URL was synced before). */
  metadata?: Record<string, unknown> | null;
  /** Segment thumbnails for this file. @default config.thumbnails.segmentThumbnailsByDefault */
  enableSegmentThumbnails?: boolean;
  /** Resolve only when the file reaches a terminal status. @default false */
  wait?: boolean;
}

/** What a sync found: the row of an existing file, or the file of a run it started. */
type Found = { row: FileRow } | { file: IngestFile };

/** What the commands work with. */
export interface CommandDeps {
  config: IngestConfig;
  registry: Registry;
  queue: WorkQueue;
  bus: EventBus;
  router: PluginRouter;
  views: FileViews;
  queries: FileQueries;
  outputs: FileOutputs;
}

/**
 * The write side of the engine: sync (validate, refuse early, dedupe by alias and identity, enqueue a run and answer
 * once its media response is open), update and delete. Runs happen in {@link FileRun}s behind the work queue.
 */
export class FileCommands {
  private readonly flights = new SingleFlight();
  private readonly closing = new AbortController();

  private readonly urls: CheckedUrls;

  constructor(private readonly d: CommandDeps) {
    this.urls = new CheckedUrls(d.config.limits.maxUrlLength);
  }

  /**
   * Validates, dedupes and starts a URL; resolves once the media response is open (or the file exists), as its view
   * for `context`. A URL synced before is one alias lookup and the view of that row.
   */
  async sync(rawUrl: string, options: SyncOptions = {}, context: ViewContext = {}): Promise<IngestFile> {
    const { config, registry, router } = this.d;
    if (typeof rawUrl !== 'string') throw new IngestError('invalid_url', 'The URL must be a string');
    const { href, aliasHash } = this.urls.check(rawUrl);
    const metadata = validateMetadata(options.metadata, config.limits.maxMetadataBytes);
    const segmentThumbnails = options.enableSegmentThumbnails ?? config.thumbnails.segmentThumbnailsByDefault;
    const found = await this.flights.run(`alias:${aliasHash}`, async (): Promise<Found> => {
      const known = await registry.findByAlias(aliasHash);
      if (known) return this.existing(known);
      const url = new URL(href);
      const plugin = router.pluginFor(url);
      const offline = plugin.identify(url);
      const job: FileRunJob = { kind: 'new', jobId: randomUUID(), url: url.href, aliasHash, metadata, segmentThumbnails };
      if (!offline) return { file: await this.launch(job) };
      const identityHash = sha256(offline.key);
      return this.flights.run(`identity:${identityHash}`, async (): Promise<Found> => {
        const row = await registry.findByIdentity(identityHash);
        if (!row) return { file: await this.launch(job) };
        await registry.addAlias(aliasHash, row.id, url.href);
        return this.existing(row);
      });
    });
    // Callers sharing a flight share its row or file, each viewed for its own context.
    if ('row' in found) return this.d.views.file(found.row, context);
    return context.baseUrl === undefined ? found.file : this.d.queries.get(found.file.id, context);
  }

  async update(id: string, changes: { metadata?: unknown; filename?: unknown }): Promise<IngestFile> {
    await this.d.queries.requireRow(id);
    const valid = validateUpdate(changes, this.d.config.limits.maxMetadataBytes);
    return this.d.views.file(await this.d.registry.updateUserFields(id, valid));
  }

  /** Deletes a file, cancelling its run; the blob goes when no other file references it. */
  async delete(id: string): Promise<{ id: string; object: 'file' }> {
    const { registry, queue, outputs, bus } = this.d;
    const row = await this.d.queries.requireRow(id);
    const file = await this.d.views.file(row);
    await queue.cancel(id, 'deleted');
    const latest = (await registry.getFile(id)) ?? row;
    await registry.deleteFile(id);
    await outputs.discard(id, latest.content_sha256);
    await bus.publish({ type: 'file.deleted', file: file as unknown as FileEventPayload });
    return { id, object: 'file' };
  }

  /** Runs an existing file again (failed, orphaned, or lost its outputs). */
  async restart(row: FileRow): Promise<IngestFile> {
    try {
      this.d.router.pluginFor(new URL(row.url));
    } catch (thrown) {
      // No plugin takes it any more (the config changed): the file cannot run again.
      const error = toIngestError(thrown, 'invalid_url');
      const claim = await this.d.registry.claim(row.id, this.d.queue.owner, {}, row.run_token);
      if (claim) {
        const failed = await this.d.registry.release(row.id, claim.token, { status: 'failed', error_code: error.code, error_message: error.message });
        await this.d.bus.publish({ type: 'file.failed', file: (await this.d.views.file(failed)) as unknown as FileEventPayload });
      }
      throw error;
    }
    return this.launch({ kind: 'restart', jobId: row.id, url: row.url }, row);
  }

  /** An existing file: its row, unchanged, unless it failed or was orphaned, in which case it runs again. */
  private async existing(row: FileRow): Promise<Found> {
    const { queue, registry } = this.d;
    const settling = queue.settled(row.id);
    if (settling && isTerminalStatus(row.status)) {
      // Its run just recorded the outcome and is finishing: wait for it before deciding.
      await settling;
      row = (await registry.getFile(row.id)) ?? row;
    }
    const active = queue.settled(row.id) !== undefined;
    if (row.status === 'failed' && !active) return { file: await this.restart(row) };
    // Left in flight by a worker that is gone (or checkpointed by close()): resume it now.
    if (IN_FLIGHT_STATUSES.has(row.status) && !active && !(await queue.isLiveOwner(row.owner))) return { file: await this.restart(row) };
    return { row };
  }

  /** Rejects the syncs still waiting for a run to start (a run in another worker may take longer than this engine lives). */
  close(): void {
    this.closing.abort(new IngestError('cancelled', 'The engine was closed before the file run started'));
  }

  /**
   * The timer of {@link recheckEvery} for one launch: calls `found` with the file once the registry has it — for a
   * restart, once its row changed since `before` (the row as it was when the run was queued again: a failed file must
   * not answer with its old failure).
   */
  private recheckLostRun(job: FileRunJob, before: FileRow | undefined, found: (row: FileRow) => void): NodeJS.Timeout | undefined {
    const every = recheckEvery(this.d.config, this.d.queue);
    if (every <= 0) return undefined;
    let checking = false;
    const timer = setInterval(() => {
      if (checking) return;
      checking = true;
      const { registry, queue } = this.d;
      void (async () => {
        const row = job.kind === 'new' ? await registry.findByAlias(job.aliasHash) : await registry.getFile(job.jobId);
        const unchanged = row && before && row.updated_at === before.updated_at && row.run_token === before.run_token;
        if (row && !unchanged) return found(row);
        await queue.enqueue(job);
      })().catch(() => undefined).finally(() => (checking = false));
    }, every);
    timer.unref();
    return timer;
  }

  /**
   * Enqueues a run; resolves with its file once it is ready, rejects with what refused it before that. `before` is
   * the file's row when an existing file runs again.
   */
  private launch(job: FileRunJob, before?: FileRow): Promise<IngestFile> {
    const { bus, queue } = this.d;
    if (this.closing.signal.aborted) return Promise.reject(this.closing.signal.reason);
    return new Promise<IngestFile>((resolveRun, rejectRun) => {
      const onClosed = (): void => {
        unsubscribe();
        clearInterval(recheck);
        rejectRun(this.closing.signal.reason);
      };
      const settle = <T>(settleRun: (value: T) => void) => (value: T): void => {
        this.closing.signal.removeEventListener('abort', onClosed);
        clearInterval(recheck);
        settleRun(value);
      };
      const resolve = settle(resolveRun);
      const reject = settle(rejectRun);
      this.closing.signal.addEventListener('abort', onClosed, { once: true });
      const unsubscribe = bus.subscribe({ jobId: job.jobId }, (event) => {
        if (event.type === 'run.ready') {
          unsubscribe();
          resolve(event.file as unknown as IngestFile);
        } else if (event.type === 'run.refused') {
          unsubscribe();
          reject(asIngestError(event.error));
        }
      });
      const recheck = this.recheckLostRun(job, before, (row) => {
        unsubscribe();
        void this.d.views.file(row).then(resolve, reject);
      });
      queue.enqueue(job).then(async (accepted) => {
        if (accepted) return;
        // A run of this file is under way already: answer with the file as it is.
        unsubscribe();
        resolve(await this.d.queries.get(job.jobId));
      }).catch((error: unknown) => {
        unsubscribe();
        reject(error);
      });
    });
  }
}

/**
 * With a queue that can lose jobs (Redis restarted): every reconcile interval, a launch still waiting looks for its
 * file in the registry (its `run.ready` may have been published while Redis was away) and otherwise queues its job
 * again (a no-op while the job exists), so a sync never waits for a job Redis forgot.
 */
function recheckEvery(config: IngestConfig, queue: WorkQueue): number {
  return queue.lostJobs ? config.cluster?.queue.reconcileIntervalMs ?? 0 : 0;
}

/** An error carried by a `run.refused` event: the IngestError itself in-process, its code and message across processes. */
export function asIngestError(error: { code: string; message: string }): IngestError {
  if (isIngestError(error)) return error;
  const code = (error.code in ERROR_CODES ? error.code : 'internal') as ErrorCode;
  return new IngestError(code, error.message);
}
