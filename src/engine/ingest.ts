import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { IngestError, toIngestError } from '../errors.js';
import type { IngestConfig } from '../config/define-config.js';
import type { SourcePlugin } from '../plugin-api.js';
import type { GuardedHttpClient } from '../net/http-client.js';
import type { ContentAddressedStore } from '../store/blob-store.js';
import type { Registry } from '../store/registry.js';
import type { FileRow, FileStatus } from '../store/rows.js';
import { parseAndCheckUrl } from '../url/policy.js';
import { normalizeUrl } from '../url/normalize.js';
import { SingleFlight } from './single-flight.js';
import { WorkQueues } from './queues.js';
import { FilePipeline, abortReason, mediaInfoOf } from './file-pipeline.js';
import type { PreparedSource, TransferRun } from './file-pipeline.js';
import { RetryBudget } from './backoff.js';
import type { RetryDecision } from './backoff.js';
import { crashPoint } from './crash-points.js';
import { planRecovery } from './recovery.js';
import { OWNER, isLiveOwner, newFileRow, sha256, sourceMetadataOf } from './file-rows.js';
import { isStorageFault, mapStorageError } from '../store/blob-store.js';
import type { IngestFile, IngestSegment, IngestThumbnail } from './file-view.js';
import { FileQueries } from './file-queries.js';
import { StageClock } from './stage-clock.js';
import type { ListPage } from './file-queries.js';
import { validateMetadata, validateUpdate } from './validate.js';
import { observeResponses, timedStage, withSource } from './telemetry.js';
import type { TelemetryEvents } from './telemetry.js';
import type { ListQueryInput, PageInput, ThumbnailQueryInput } from './validate.js';

/** Options of {@link Ingest.sync}. */
export interface SyncOptions {
  /** User metadata stored with a new file (ignored when the URL was synced before). */
  metadata?: Record<string, unknown> | null;
  /** Segment thumbnails for this file. @default config.thumbnails.segmentThumbnailsByDefault */
  enableSegmentThumbnails?: boolean;
  /** Resolve only when the file reaches a terminal status. @default false */
  wait?: boolean;
}

/** Event names of {@link Ingest}; handlers receive the File. */
export type IngestEvent = 'file.processing' | 'file.progress' | 'file.completed' | 'file.failed' | 'file.deleted';

/** What the engine is built from (bound in the DI container). */
export interface IngestDeps {
  config: IngestConfig;
  logger: Logger;
  http: GuardedHttpClient;
  registry: Registry;
  store: ContentAddressedStore;
  plugins: SourcePlugin[];
}

const TERMINAL: ReadonlySet<FileStatus> = new Set(['completed', 'failed', 'not_applicable']);
const SHUTDOWN = (): IngestError => new IngestError('cancelled', 'The engine was closed while the file was in flight');

/** What a new or restarted file run is for. */
type RunTarget =
  | { kind: 'new'; aliasHash: string; metadata: Record<string, unknown> | null; segmentThumbnails: boolean }
  | { kind: 'restart'; row: FileRow };

/**
 * The ingest engine: the library API of the contract. It validates, dedupes (single-flight on the URL alias
 * and on the identity), and runs each file through the stages in {@link Ingest.runFile}.
 */
export class Ingest extends EventEmitter {
  private readonly flights = new SingleFlight();
  private readonly queues: WorkQueues;
  private readonly pipeline: FilePipeline;
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  /** Every file run in progress, also those still queued or opening (not yet in `active`). */
  private readonly runs = new Map<AbortController, Promise<void>>();
  /** Files being deleted: their cancelled run must not record a failure. */
  private readonly deleting = new Set<string>();
  private readonly queries: FileQueries;
  private closed = false;

  constructor(private readonly deps: IngestDeps) {
    super();
    this.setMaxListeners(0);
    this.queues = new WorkQueues(deps.config.concurrency);
    this.queries = new FileQueries(deps.registry, deps.store, { uriPrefix: deps.config.uriPrefix, publicBaseUrl: deps.config.publicBaseUrl });
    this.pipeline = new FilePipeline({
      config: deps.config, http: observeResponses(deps.http, (event) => this.emit('upstream.response', event)), registry: deps.registry, store: deps.store, logger: deps.logger,
      onProgress: (row) => this.emit('file.progress', this.toView(row)),
    });
  }

  /** The engine's configuration (read only). */
  get config(): IngestConfig {
    return this.deps.config;
  }

  /** Validates, dedupes and starts a URL; returns once the media response is open (or the file exists). */
  async sync(rawUrl: string, options: SyncOptions = {}): Promise<IngestFile> {
    this.assertOpen();
    let file: IngestFile;
    try {
      file = await this.accept(rawUrl, options);
    } catch (thrown) {
      this.emit('sync.refused', { code: toIngestError(thrown).code } satisfies TelemetryEvents['sync.refused']);
      throw thrown;
    }
    this.emit('sync.accepted', { source: file.source } satisfies TelemetryEvents['sync.accepted']);
    return options.wait ? this.waitFor(file.id) : file;
  }

  /** The accepting half of {@link Ingest.sync}: the file the URL maps to, started or restarted when needed. */
  private async accept(rawUrl: string, options: SyncOptions): Promise<IngestFile> {
    if (typeof rawUrl !== 'string') throw new IngestError('invalid_url', 'The URL must be a string');
    const url = parseAndCheckUrl(rawUrl, { maxUrlLength: this.deps.config.limits.maxUrlLength });
    const metadata = validateMetadata(options.metadata, this.deps.config.limits.maxMetadataBytes);
    const aliasHash = sha256(`alias:${normalizeUrl(url)}`);
    const segmentThumbnails = options.enableSegmentThumbnails ?? this.deps.config.thumbnails.segmentThumbnailsByDefault;
    const file = await this.flights.run(`alias:${aliasHash}`, async () => {
      const known = this.deps.registry.findByAlias(aliasHash);
      if (known) return this.existing(known);
      const plugin = this.pluginFor(url);
      const offline = plugin.identify(url);
      const target: RunTarget = { kind: 'new', aliasHash, metadata, segmentThumbnails };
      if (!offline) return this.launch(url, plugin, target);
      const identityHash = sha256(offline.key);
      return this.flights.run(`identity:${identityHash}`, async () => {
        const row = this.deps.registry.findByIdentity(identityHash);
        if (row) {
          this.deps.registry.addAlias(aliasHash, row.id, url.href);
          return this.existing(row);
        }
        return this.launch(url, plugin, target);
      });
    }).catch((thrown: unknown) => {
      // The registry cannot be read or written (disk full, read-only data dir): say so with the storage code.
      throw isStorageFault(thrown) ? mapStorageError(thrown, 'the registry') : thrown;
    });
    return file;
  }

  /** Resolves with the file once it is in a terminal status. */
  async waitFor(id: string): Promise<IngestFile> {
    this.assertOpen();
    let row = this.requireRow(id);
    const job = this.active.get(id);
    if (job && TERMINAL.has(row.status)) {
      // Its run has recorded the outcome and is finishing (or a restart is starting): let it settle first,
      // or the events this waits for may already be gone.
      await job.done;
      this.assertOpen();
      row = this.requireRow(id);
    }
    if (TERMINAL.has(row.status) && !this.active.has(id)) return this.toView(row);
    return new Promise((resolve, reject) => {
      const onTerminal = (file: IngestFile): void => {
        if (file.id !== id) return;
        cleanup();
        resolve(file);
      };
      const onDeleted = (file: IngestFile): void => {
        if (file.id !== id) return;
        cleanup();
        reject(new IngestError('not_found', `File ${id} was deleted`));
      };
      // Another process (e.g. `serve` on the same data dir) may own the run: its events never reach us, so also
      // watch the registry.
      const poll = setInterval(() => {
        if (this.active.has(id) || !this.deps.registry.db.open) return;
        const current = this.deps.registry.getFile(id);
        if (!current) onDeleted({ id } as IngestFile);
        else if (TERMINAL.has(current.status)) onTerminal(this.toView(current));
      }, 1000);
      const cleanup = (): void => {
        clearInterval(poll);
        this.off('file.completed', onTerminal);
        this.off('file.failed', onTerminal);
        this.off('file.deleted', onDeleted);
        this.off('closed', onClosed);
      };
      const onClosed = (): void => {
        cleanup();
        reject(SHUTDOWN());
      };
      this.on('file.completed', onTerminal);
      this.on('file.failed', onTerminal);
      this.on('file.deleted', onDeleted);
      this.on('closed', onClosed);
      const latest = this.deps.registry.getFile(id);
      if (latest && TERMINAL.has(latest.status) && !this.active.has(id)) onTerminal(this.toView(latest));
    });
  }

  get(id: string): IngestFile {
    return this.queries.get(id);
  }

  list(query: ListQueryInput = {}): ListPage<IngestFile> {
    return this.queries.list(query);
  }

  thumbnails(id: string, query: ThumbnailQueryInput = {}): ListPage<IngestThumbnail> {
    return this.queries.thumbnails(id, query);
  }

  segments(id: string, query: PageInput = {}): ListPage<IngestSegment> {
    return this.queries.segments(id, query);
  }

  /** Absolute path of a thumbnail image, for servers. */
  thumbnailImagePath(fileId: string, thumbnailId: string): string {
    return this.queries.thumbnailImagePath(fileId, thumbnailId);
  }

  update(id: string, changes: { metadata?: unknown; filename?: unknown }): IngestFile {
    this.requireRow(id);
    const valid = validateUpdate(changes, this.deps.config.limits.maxMetadataBytes);
    return this.toView(this.deps.registry.updateFile(id, valid)!);
  }

  /** Deletes a file, cancelling its work; the blob goes when no other file references it. */
  async delete(id: string): Promise<{ id: string; object: 'file' }> {
    const row = this.requireRow(id);
    const job = this.active.get(id);
    this.deleting.add(id);
    try {
      if (job) {
        job.controller.abort(new IngestError('cancelled', `File ${id} was deleted while in flight`));
        await job.done;
      }
      const latest = this.deps.registry.getFile(id) ?? row;
      this.deps.registry.deleteFile(id);
      await this.pipeline.discardOutputs(id, latest.content_sha256);
    } finally {
      this.deleting.delete(id);
    }
    this.emit('file.deleted', this.toView(row));
    return { id, object: 'file' };
  }

  /** Work in the engine right now, for metrics: queued and running network and CPU work, and file runs in flight. */
  workload(): { network: { queued: number; running: number }; cpu: { queued: number; running: number }; files: number } {
    return { ...this.queues.stats(), files: this.runs.size };
  }

  /** The registered source plugins and the URL forms each accepts. */
  plugins(): Array<{ id: string; description: string; url_forms: readonly string[] }> {
    return this.deps.plugins.map((p) => ({ id: p.id, description: p.description, url_forms: p.urlForms }));
  }

  /**
   * The start-up pass (see {@link planRecovery}): files a dead process left `pending`/`processing` run again
   * (resuming their partial download when it is still valid), completed files that lost their blob or thumbnails
   * are processed again, and temp files, thumbnail folders and blobs nothing owns are removed.
   * Returns how many files were restarted.
   */
  async recover(): Promise<number> {
    const plan = await planRecovery({
      registry: this.deps.registry, store: this.deps.store, logger: this.deps.logger,
      isActive: (id) => this.active.has(id), isLiveOwner,
    });
    const restart = [...plan.resume, ...plan.reprocess];
    for (const row of restart) {
      this.deps.logger.info({ fileId: row.id, status: row.status }, 'resuming a file left in flight');
      this.restart(row).catch(() => undefined);
    }
    return restart.length;
  }

  /**
   * Stops taking work and cancels every file in flight: its network transfer and ffmpeg work stop, and it goes back
   * to `pending` with its partial download kept, to resume on the next start. Then closes the registry.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Queued runs are not dropped (their callers would wait forever): aborted, each fails as soon as it starts.
    const runs = [...this.runs];
    for (const [controller] of runs) controller.abort(SHUTDOWN());
    await Promise.allSettled(runs.map(([, done]) => done));
    this.emit('closed');
    await this.deps.http.close();
    this.deps.registry.close();
  }

  private async restart(row: FileRow): Promise<IngestFile> {
    let url: URL;
    let plugin: SourcePlugin;
    try {
      url = new URL(row.url);
      plugin = this.pluginFor(url);
    } catch (thrown) {
      // No plugin takes it any more (the config changed): the file cannot run again.
      const error = toIngestError(thrown, 'invalid_url');
      const failed = this.deps.registry.updateFile(row.id, { status: 'failed', owner: null, error_code: error.code, error_message: error.message });
      if (failed) this.emit('file.failed', this.toView(failed));
      throw error;
    }
    return this.launch(url, plugin, { kind: 'restart', row });
  }

  /** An existing file: returned unchanged, unless it failed, in which case it restarts under the same id. */
  private async existing(row: FileRow): Promise<IngestFile> {
    const job = this.active.get(row.id);
    if (job && TERMINAL.has(row.status)) {
      // Its run just recorded the outcome and is finishing: wait for it before deciding.
      await job.done;
      row = this.deps.registry.getFile(row.id) ?? row;
    }
    if (row.status === 'failed' && !this.active.has(row.id)) return this.restart(row);
    // Left in flight by a process that is gone (or checkpointed by close()): resume it now.
    const orphaned = (row.status === 'pending' || row.status === 'processing') && !this.active.has(row.id) && !isLiveOwner(row.owner);
    if (orphaned) return this.restart(row);
    return this.toView(row);
  }

  /**
   * Starts a file run. Resolves as soon as the media response is open and the row exists (or an existing
   * row was found); rejects with errors known before that. The rest runs in the background.
   */
  private launch(url: URL, plugin: SourcePlugin, target: RunTarget): Promise<IngestFile> {
    return new Promise<IngestFile>((resolveReady, rejectReady) => {
      let ready = false;
      let settle!: () => void;
      const entry = { controller: new AbortController(), done: new Promise<void>((r) => (settle = r)) };
      this.runs.set(entry.controller, entry.done);
      let fileId: string | undefined;
      const register = (id: string): void => {
        fileId = id;
        this.active.set(id, entry);
      };
      if (target.kind === 'restart') register(target.row.id);
      const onReady = (row: FileRow): void => {
        ready = true;
        resolveReady(this.toView(row));
      };
      withSource(plugin.id, () => this.runFile(url, plugin, target, entry.controller, register, onReady))
        .catch((thrown) => {
          if (!ready) rejectReady(toIngestError(thrown));
        })
        .finally(() => {
          this.runs.delete(entry.controller);
          if (fileId && this.active.get(fileId) === entry) this.active.delete(fileId);
          settle();
          if (!ready) rejectReady(new IngestError('internal', 'The file run ended before it started'));
        });
    });
  }

  /** The stage order of one file, in one place. */
  private async runFile(
    url: URL,
    plugin: SourcePlugin,
    target: RunTarget,
    controller: AbortController,
    register: (id: string) => void,
    onReady: (row: FileRow) => void,
  ): Promise<void> {
    const { registry } = this.deps;
    const signal = controller.signal;
    let row: FileRow | undefined = target.kind === 'restart' ? target.row : undefined;
    const logger = this.deps.logger.child({ url: url.href, ...(row ? { fileId: row.id } : {}) });
    const run: TransferRun = {
      url, plugin, signal, logger, budget: new RetryBudget(this.deps.config.retry),
      onRetry: (decision) => {
        this.emit('file.retried', { source: plugin.id, code: decision.error.code } satisfies TelemetryEvents['file.retried']);
        if (row) this.recordRetry(row.id, decision);
      },
    };
    const clock = new StageClock();
    try {
      if (signal.aborted) throw abortReason(signal, SHUTDOWN());
      if (row) {
        row = registry.updateFile(row.id, {
          status: 'pending', error_code: null, error_message: null, owner: OWNER, attempt: 1, retries: 0,
          retry_error_code: null, retry_error_message: null,
        })!;
      }
      // A restart whose download was already stored (a crash after the download) goes straight to the probe.
      let blob = row ? await this.pipeline.storedBlob(row) : undefined;
      if (row && blob) {
        row = registry.updateFile(row.id, { status: 'processing', resume_state: null })!;
        onReady(row);
        this.emit('file.processing', this.toView(row));
      } else {
        // 1-2. Resolve and open, then download: one network slot for the host, so the open response never idles in a queue.
        blob = await this.queues.forHost(url.hostname, async () => {
          clock.lap('queued');
          const partial = row ? await this.pipeline.resumablePartial(row) : undefined;
          let prepared: PreparedSource;
          try {
            prepared = await timedStage(this, 'resolve', plugin.id, () => this.pipeline.prepare(run, row && partial ? { row, partial } : undefined));
          } catch (error) {
            await partial?.close();
            throw error;
          }
          if (row) row = this.restartRow(row, prepared, run.budget);
          else if (target.kind === 'new') {
            const { row: stored, created } = this.createRow(url, plugin, prepared, target, run.budget);
            if (!created) {
              // Another spelling (or another process) created this identity first: hand back that file.
              await prepared.opened.response.dump();
              onReady(stored);
              return undefined;
            }
            row = stored;
            register(row.id);
          }
          if (!row) return undefined;
          clock.lap('open');
          onReady(row);
          this.emit('file.processing', this.toView(row));
          const downloading = row;
          const downloaded = await timedStage(this, 'download', plugin.id, () => this.pipeline.download(downloading, prepared, run));
          clock.lap('download');
          return downloaded;
        }, signal);
      }
      if (!row || !blob) return;
      const fileId = row.id;
      crashPoint('committed');
      row = registry.updateFile(fileId, {
        bytes: blob.bytes, content_sha256: blob.sha256, progress_received: blob.bytes, progress_total: blob.bytes, resume_state: null,
      })!;
      this.emit('file.progress', this.toView(row)); // stage: probing
      // 3. Probe the local blob.
      crashPoint('probe');
      const probe = await this.queues.cpuWork(() => timedStage(this, 'probe', plugin.id, () => this.pipeline.probe(blob.path, signal)), signal);
      clock.lap('probe');
      row = registry.updateFile(fileId, { media_type: probe.mediaType, media_info: mediaInfoOf(probe) })!;
      if (probe.mediaType === 'video') this.emit('file.progress', this.toView(row)); // stage: thumbnails
      // 4. Thumbnails for video.
      if (probe.mediaType === 'video') {
        const current = row;
        await this.queues.cpuWork(() => timedStage(this, 'thumbnails', plugin.id, () => this.pipeline.thumbnails(current, blob.path, probe, signal)), signal);
        clock.lap('thumbnails');
      }
      if (signal.aborted) throw abortReason(signal, SHUTDOWN());
      crashPoint('completing');
      row = registry.updateFile(fileId, {
        status: 'completed', owner: null, progress_received: null, progress_total: null, attempt: null,
      })!;
      clock.lap('commit');
      logger.info({ fileId, bytes: blob.bytes, retries: run.budget.retries }, 'file completed');
      logger.debug({ fileId, stageMs: clock.stageMs() }, 'file stage timings');
      this.emit('file.completed', this.toView(row));
    } catch (thrown) {
      const error = isStorageFault(thrown) ? mapStorageError(thrown, 'the registry') : toIngestError(thrown);
      // A refusal before the file exists: the caller sees its code and message; the log keeps the detail.
      if (!row) logger.info({ code: error.code, err: error }, 'refused');
      if (!row) throw error;
      await this.settleFailure(row, error, signal);
      throw error;
    }
  }

  /** Makes a retry visible: in the log (by the transfer), in the row and in a progress event. */
  private recordRetry(fileId: string, decision: RetryDecision): void {
    try {
      const updated = this.deps.registry.updateFile(fileId, {
        attempt: decision.attempt, retries: decision.retries,
        retry_error_code: decision.error.code, retry_error_message: decision.error.message,
      });
      if (updated) this.emit('file.progress', this.toView(updated));
    } catch (error) {
      this.deps.logger.warn({ fileId, err: (error as Error).message }, 'could not record a retry');
    }
  }

  /**
   * Records a failure: deleted files vanish, a closed engine checkpoints to `pending` (keeping the partial
   * download and a stored blob for the next start), anything else fails and its outputs are removed.
   */
  private async settleFailure(row: FileRow, error: IngestError, signal: AbortSignal): Promise<void> {
    const { registry } = this.deps;
    if (!registry.db.open || !registry.getFile(row.id)) return;
    const latest = registry.getFile(row.id)!;
    if (signal.aborted && this.deleting.has(row.id)) return;
    if (signal.aborted && this.closed) {
      registry.updateFile(row.id, { status: 'pending', owner: null, attempt: null });
      return;
    }
    let failed: FileRow | undefined;
    try {
      failed = registry.updateFile(row.id, {
        status: 'failed', owner: null, error_code: error.code, error_message: error.message,
        progress_received: null, progress_total: null, content_sha256: null, resume_state: null, attempt: null,
      });
    } catch (thrown) {
      // The registry itself cannot be written (disk full, read-only): the row stays in flight for the next start.
      this.deps.logger.error({ fileId: row.id, err: (thrown as Error).message }, 'could not record the failure');
    }
    await this.pipeline.discardOutputs(row.id, failed ? latest.content_sha256 : null).catch((thrown: unknown) => {
      this.deps.logger.warn({ fileId: row.id, err: (thrown as Error).message }, 'could not remove the outputs of a failed file');
    });
    this.deps.logger.warn({ fileId: row.id, code: error.code, err: error }, 'file failed');
    if (failed) this.emit('file.failed', this.toView(failed));
  }

  private createRow(
    url: URL, plugin: SourcePlugin, prepared: PreparedSource, target: Extract<RunTarget, { kind: 'new' }>, budget: RetryBudget,
  ): { row: FileRow; created: boolean } {
    const { registry } = this.deps;
    const result = registry.insertFileOnce(newFileRow(url, plugin, prepared, budget, target));
    registry.addAlias(target.aliasHash, result.row.id, url.href);
    return result;
  }

  private restartRow(row: FileRow, prepared: PreparedSource, budget: RetryBudget): FileRow {
    return this.deps.registry.updateFile(row.id, {
      status: 'processing', owner: OWNER,
      source_metadata: sourceMetadataOf(this.pluginFor(new URL(row.url)), prepared),
      progress_received: prepared.partial?.bytes ?? 0, progress_total: prepared.opened.declaredBytes,
      attempt: budget.attempt, retries: budget.retries,
    })!;
  }

  private pluginFor(url: URL): SourcePlugin {
    const plugin = this.deps.plugins.find((p) => p.matches(url));
    if (!plugin) throw new IngestError('unsupported_page_host', `No source plugin accepts ${url.href}`);
    return plugin;
  }

  private requireRow(id: string): FileRow {
    return this.queries.requireRow(id);
  }

  private toView(row: FileRow): IngestFile {
    return this.queries.toView(row);
  }

  private assertOpen(): void {
    if (this.closed) throw new IngestError('cancelled', 'The engine is closed');
  }
}
