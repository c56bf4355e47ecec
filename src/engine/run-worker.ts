import type { EventEmitter } from 'node:events';
import { inject, injectable } from 'inversify';
import type { Logger } from 'pino';
import type { IngestConfig } from '../config/define-config.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { EventBus } from '../ports/event-bus.js';
import type { Registry } from '../ports/registry.js';
import type { FileRunJob, WorkQueue } from '../ports/work-queue.js';
import type { Spool } from '../store/spool.js';
import { FileOutputs } from './file-outputs.js';
import { FileViews } from './file-queries.js';
import { FileRun } from './file-run.js';
import { ProbeStage, ThumbnailStage } from './media-stages.js';
import { PluginRouter } from './plugin-router.js';
import { TOKENS } from './tokens.js';
import { Transfer } from './transfer.js';

/** Everything a {@link FileRun} works with: the ports, the stages and a few engine parts, all container bindings. */
export interface RunServices {
  config: IngestConfig;
  logger: Logger;
  registry: Registry;
  blobs: BlobStore;
  queue: WorkQueue;
  bus: EventBus;
  spool: Spool;
  router: PluginRouter;
  transfer: Transfer;
  probe: ProbeStage;
  thumbnails: ThumbnailStage;
  outputs: FileOutputs;
  views: FileViews;
  /** Where stage timings, retries and upstream statuses go (process-local telemetry, see telemetry.ts). */
  telemetry: EventEmitter;
}

/** The worker side of the queue: runs each job it is handed as a {@link FileRun}. */
@injectable()
export class RunWorker {
  readonly services: RunServices;

  constructor(
    @inject(TOKENS.Config) config: IngestConfig,
    @inject(TOKENS.Logger) logger: Logger,
    @inject(TOKENS.Registry) registry: Registry,
    @inject(TOKENS.BlobStore) blobs: BlobStore,
    @inject(TOKENS.WorkQueue) queue: WorkQueue,
    @inject(TOKENS.EventBus) bus: EventBus,
    @inject(TOKENS.Spool) spool: Spool,
    @inject(TOKENS.PluginRouter) router: PluginRouter,
    @inject(TOKENS.Transfer) transfer: Transfer,
    @inject(TOKENS.ProbeStage) probe: ProbeStage,
    @inject(TOKENS.ThumbnailStage) thumbnails: ThumbnailStage,
    @inject(TOKENS.FileOutputs) outputs: FileOutputs,
    @inject(TOKENS.FileViews) views: FileViews,
    @inject(TOKENS.Telemetry) telemetry: EventEmitter,
  ) {
    this.services = { config, logger, registry, blobs, queue, bus, spool, router, transfer, probe, thumbnails, outputs, views, telemetry };
  }

  /** Takes jobs from the queue from now on. */
  start(): void {
    this.services.queue.process((job: FileRunJob, signal: AbortSignal) => new FileRun(job, signal, this.services).execute());
  }
}
