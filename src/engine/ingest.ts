import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import type { IngestConfig } from '../config/define-config.js';
import type { IngestRole } from '../config/roles.js';
import { IngestError, toIngestError } from '../errors.js';
import type { GuardedHttpClient } from '../net/http-client.js';
import type { BlobStore } from '../ports/blob-store.js';
import { FILE_EVENT_TYPES } from '../ports/event-bus.js';
import type { EventBus, FileEventType, Unsubscribe } from '../ports/event-bus.js';
import type { Registry } from '../ports/registry.js';
import type { WorkQueue } from '../ports/work-queue.js';
import type { Spool } from '../store/spool.js';
import { FileCommands } from './file-commands.js';
import type { SyncOptions } from './file-commands.js';
import type { FileOutputs } from './file-outputs.js';
import { FileQueries, openThumbnailImage } from './file-queries.js';
import type { FileViews, ListPage, ThumbnailImage, ViewContext } from './file-queries.js';
import type { IngestFile, IngestSegment, IngestThumbnail } from './file-view.js';
import type { PluginRouter } from './plugin-router.js';
import { planRecovery } from './recovery.js';
import { Reconciler } from './reconcile.js';
import type { RunWorker } from './run-worker.js';
import { TOKENS } from './tokens.js';
import type { ListQueryInput, PageInput, ThumbnailQueryInput } from './validate.js';
import { Waiters } from './waiters.js';
import { TELEMETRY_EVENTS } from './telemetry.js';
import type { TelemetryEvents } from './telemetry.js';

export type { SyncOptions } from './file-commands.js';

/** Event names of {@link Ingest}; handlers receive the File, then a {@link FileEventContext}. */
export type IngestEvent = FileEventType;

/** The second argument of file event handlers: which run the event belongs to (absent for events of no run). */
export interface FileEventContext {
  /** An opaque id of the file run that emitted the event, the same in every process that receives it. */
  run?: string;
}

/** The public id of a run: its token hashed (the token itself stays between the run and the registry). */
const runId = (token: string): string => createHash('sha256').update(token).digest('hex').slice(0, 32);

/**
 * The ingest engine: the library API of the contract. A facade over commands ({@link FileCommands}: sync, update,
 * delete), queries ({@link FileQueries}) and waiting ({@link Waiters}); file runs happen in {@link FileRun}s behind
 * the work queue, and their events (from any process the event bus reaches) are re-emitted here.
 */
@injectable()
export class Ingest extends EventEmitter {
  private readonly commands: FileCommands;
  private readonly queries: FileQueries;
  private readonly waiters: Waiters;
  private readonly unsubscribe: Unsubscribe;
  private readonly reconciler: Reconciler;
  private closed = false;
  private startedAs: IngestRole = 'all';

  constructor(
    @inject(TOKENS.Config) private readonly settings: IngestConfig,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.HttpClient) private readonly http: GuardedHttpClient,
    @inject(TOKENS.Registry) private readonly registry: Registry,
    @inject(TOKENS.BlobStore) private readonly blobs: BlobStore,
    @inject(TOKENS.WorkQueue) private readonly queue: WorkQueue,
    @inject(TOKENS.EventBus) private readonly bus: EventBus,
    @inject(TOKENS.Spool) private readonly spool: Spool,
    @inject(TOKENS.PluginRouter) private readonly router: PluginRouter,
    @inject(TOKENS.FileViews) views: FileViews,
    @inject(TOKENS.FileOutputs) outputs: FileOutputs,
    @inject(TOKENS.RunWorker) private readonly worker: RunWorker,
    @inject(TOKENS.Telemetry) telemetry: EventEmitter,
  ) {
    super();
    this.setMaxListeners(0);
    for (const name of TELEMETRY_EVENTS) telemetry.on(name, (event) => this.emit(name, event));
    this.queries = new FileQueries(registry, views);
    this.commands = new FileCommands({ config: settings, registry, queue, bus, router, views, queries: this.queries, outputs });
    this.waiters = new Waiters(registry, bus, queue, views, this.queries);
    this.reconciler = new Reconciler({
      registry, queue, logger, isActive: (id) => queue.settled(id) !== undefined, restart: (row) => this.commands.restart(row),
    }, settings.cluster?.queue.reconcileIntervalMs ?? 0);
    this.unsubscribe = bus.subscribe({ all: true }, (event) => {
      if (!(FILE_EVENT_TYPES as readonly string[]).includes(event.type) || !('file' in event)) return;
      // The second argument (FileEventContext) names the run, so deliveries derived from the event agree across nodes.
      this.emit(event.type, event.file, { ...('run' in event && event.run ? { run: runId(event.run) } : {}) } satisfies FileEventContext);
    });
  }

  /** The engine's configuration (read only). */
  get config(): IngestConfig {
    return this.settings;
  }

  /** What this process does (see {@link IngestRole}): `api` never runs a file run, it only queues them. */
  get role(): IngestRole {
    return this.startedAs;
  }

  /**
   * Opens storage and starts taking file runs in this process (unless `role` is `api`: the work queue's consumer is
   * then never started); with `recover`, resumes what a dead process left (see {@link Ingest.recover}). Called once
   * by `createIngest`.
   */
  async start(options: { recover: boolean; role?: IngestRole }): Promise<void> {
    this.startedAs = options.role ?? 'all';
    await this.spool.init();
    await this.blobs.init();
    await this.registry.open();
    if (this.startedAs !== 'api') this.worker.start();
    if (options.recover) await this.recover();
    this.reconciler.start();
  }

  /** Validates, dedupes and starts a URL; returns once the media response is open (or the file exists). */
  async sync(rawUrl: string, options: SyncOptions & ViewContext = {}): Promise<IngestFile> {
    this.assertOpen();
    let file: IngestFile;
    try {
      file = await this.commands.sync(rawUrl, options, options.wait ? {} : options);
    } catch (thrown) {
      this.emit('sync.refused', { code: toIngestError(thrown).code } satisfies TelemetryEvents['sync.refused']);
      throw thrown;
    }
    this.emit('sync.accepted', { source: file.source } satisfies TelemetryEvents['sync.accepted']);
    return options.wait ? this.waitFor(file.id) : file;
  }

  /** Counts an accepted sync that a server answered from its cache of this engine's answers (metrics stay true). */
  countAcceptedSync(source: string): void {
    this.emit('sync.accepted', { source } satisfies TelemetryEvents['sync.accepted']);
  }

  /** Resolves with the file once it is in a terminal status. */
  async waitFor(id: string): Promise<IngestFile> {
    this.assertOpen();
    return this.waiters.waitFor(id);
  }

  /** See {@link Registry.changeVersion}: what a server keys cached views on (undefined: cache nothing). */
  changeVersion(): string | undefined {
    return this.registry.changeVersion?.();
  }

  /** One file. `context.baseUrl` makes thumbnail URLs absolute for a server's origin (default `config.publicBaseUrl`). */
  get(id: string, context: ViewContext = {}): Promise<IngestFile> {
    return this.queries.get(id, context);
  }

  list(query: ListQueryInput = {}, context: ViewContext = {}): Promise<ListPage<IngestFile>> {
    return this.queries.list(query, context);
  }

  thumbnails(id: string, query: ThumbnailQueryInput = {}, context: ViewContext = {}): Promise<ListPage<IngestThumbnail>> {
    return this.queries.thumbnails(id, query, context);
  }

  segments(id: string, query: PageInput = {}, context: ViewContext = {}): Promise<ListPage<IngestSegment>> {
    return this.queries.segments(id, query, context);
  }

  /** A thumbnail image opened from the blob store, for servers. */
  thumbnailImage(fileId: string, thumbnailId: string): Promise<ThumbnailImage> {
    return openThumbnailImage(this.registry, this.blobs, fileId, thumbnailId);
  }

  async update(id: string, changes: { metadata?: unknown; filename?: unknown }, context: ViewContext = {}): Promise<IngestFile> {
    const file = await this.commands.update(id, changes);
    return context.baseUrl === undefined ? file : this.queries.get(id, context);
  }

  /** Deletes a file, cancelling its work; the blob goes when no other file references it. */
  delete(id: string): Promise<{ id: string; object: 'file' }> {
    return this.commands.delete(id);
  }

  /** Work in this process right now, for metrics: queued and running network and CPU work, and file runs in flight. */
  workload(): { network: { queued: number; running: number }; cpu: { queued: number; running: number }; files: number } {
    return this.queue.stats?.() ?? { network: { queued: 0, running: 0 }, cpu: { queued: 0, running: 0 }, files: 0 };
  }

  /** The registered source plugins in match order, and the URL forms each accepts. */
  plugins(): Array<{ id: string; description: string; url_forms: readonly string[] }> {
    return this.router.plugins.map((p) => ({ id: p.id, description: p.description, url_forms: p.urlForms }));
  }

  /** Each registered plugin's id and declared `source_metadata` schema (the server's OpenAPI document uses them). */
  documentedSources(): Array<{ id: string; sourceMetadataSchema?: Record<string, unknown> }> {
    return this.router.plugins.map((p) => ({ id: p.id, ...(p.sourceMetadataSchema ? { sourceMetadataSchema: p.sourceMetadataSchema } : {}) }));
  }

  /**
   * The start-up pass (see {@link planRecovery}): files a dead process left `pending`/`processing` run again
   * (resuming their partial download when it is still valid), completed files that lost their blob or thumbnails
   * are processed again, and temp files, thumbnail folders and blobs nothing owns are removed.
   * Returns how many files were restarted.
   */
  async recover(): Promise<number> {
    const plan = await planRecovery({
      registry: this.registry, blobs: this.blobs, spool: this.spool, logger: this.logger, owner: this.queue.owner,
      isActive: (id) => this.queue.settled(id) !== undefined, isLiveOwner: (owner) => this.queue.isLiveOwner(owner),
    });
    const restart = [...plan.resume, ...plan.reprocess];
    for (const row of restart) {
      this.logger.info({ fileId: row.id, status: row.status }, 'resuming a file left in flight');
      this.commands.restart(row).catch(() => undefined);
    }
    return restart.length;
  }

  /**
   * Stops taking work and cancels every file in flight: its network transfer and ffmpeg work stop, and it goes back
   * to `pending` with its partial download kept, to resume on the next start. Then closes the ports.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reconciler.stop();
    await this.queue.close();
    this.commands.close();
    this.waiters.close();
    this.emit('closed');
    this.unsubscribe();
    await this.http.close();
    await this.bus.close();
    await this.blobs.close();
    await this.registry.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new IngestError('cancelled', 'The engine is closed');
  }
}
