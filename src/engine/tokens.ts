import { PORTS } from '../ports/tokens.js';

/**
 * Service identifiers of the DI container. Hosts and tests rebind any of them in a `ContainerModule` given as
 * `config.modules` (e.g. an instrumented Registry, a fake yt-dlp runner); a second ports module (cluster) replaces
 * the four ports without touching the engine.
 */
export const TOKENS = {
  Config: Symbol.for('media-ingest.Config'),
  Logger: Symbol.for('media-ingest.Logger'),
  HttpClient: Symbol.for('media-ingest.HttpClient'),
  /** The yt-dlp extractor offered to plugins; bound to `undefined` when disabled or not installed. */
  YtDlpRunner: Symbol.for('media-ingest.YtDlpRunner'),
  /** User plugins (config `plugins`, or bound by a module): tried before the built-ins. Multi-bound. */
  SourcePlugin: Symbol.for('media-ingest.SourcePlugin'),
  /** The built-in plugins (config `builtinPlugins`): tried after the user's; catch-alls last. Multi-bound. */
  BuiltinPlugin: Symbol.for('media-ingest.BuiltinPlugin'),
  /** Which plugin takes a URL ({@link PluginRouter}). */
  PluginRouter: Symbol.for('media-ingest.PluginRouter'),
  /**
   * Operational events of this process (see src/engine/telemetry.ts: stage timings, retries, upstream statuses), an
   * EventEmitter; the Ingest facade re-emits them for metrics.
   */
  Telemetry: Symbol.for('media-ingest.Telemetry'),
  /** This machine's scratch space (partial downloads, work dirs). */
  Spool: Symbol.for('media-ingest.Spool'),
  /** Stages. */
  Transfer: Symbol.for('media-ingest.stage.Transfer'),
  ProbeStage: Symbol.for('media-ingest.stage.Probe'),
  ThumbnailStage: Symbol.for('media-ingest.stage.Thumbnails'),
  /** Engine parts. */
  FileViews: Symbol.for('media-ingest.FileViews'),
  FileOutputs: Symbol.for('media-ingest.FileOutputs'),
  RunWorker: Symbol.for('media-ingest.RunWorker'),
  Ingest: Symbol.for('media-ingest.Ingest'),
  /** The ports (see src/ports). */
  Registry: PORTS.Registry,
  BlobStore: PORTS.BlobStore,
  WorkQueue: PORTS.WorkQueue,
  EventBus: PORTS.EventBus,
} as const;
