/**
 * media-ingest: turn a public media URL into a stored, probed, thumbnailed file record.
 * `createIngest` is the library entry point; see the README for embedding, configuration and plugins.
 */
import type { Logger } from 'pino';
import { resolveConfig } from './config/load-config.js';
import { loadClusterModule } from './adapters/cluster/load.js';
import type { IngestConfigInput } from './config/define-config.js';
import { assertRoleFits, parseRole } from './config/roles.js';
import type { IngestRole } from './config/roles.js';
import { buildContainer, TOKENS } from './engine/container.js';
import type { Ingest } from './engine/ingest.js';
import { isStorageFault, mapStorageError } from './store/storage-errors.js';
import { checkDecoderAtStartup } from './media/decoder.js';
import { ingestMetrics } from './metrics/index.js';
import type { IngestMetricsOptions } from './metrics/index.js';

export { defineConfig } from './config/define-config.js';
export type { IngestConfig, IngestConfigInput, LimitsConfig, NetworkConfig, RetryConfig, ConcurrencyConfig, ThumbnailConfig, DecoderConfig, WebhookConfig, MetricsConfig } from './config/define-config.js';
export { IngestError, isIngestError, ERROR_CODES } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { Ingest, SyncOptions, IngestEvent, FileEventContext } from './engine/ingest.js';
export { INGEST_ROLES } from './config/roles.js';
export type { IngestRole } from './config/roles.js';
export type { ListPage, ThumbnailImage, ViewContext } from './engine/file-queries.js';
export type * from './ports/index.js';
export { PORTS, FILE_STATUSES, TERMINAL_STATUSES } from './ports/index.js';
export { localPortsModule } from './adapters/local/local.module.js';
export type { IngestFile, IngestThumbnail, IngestSegment, FileProgress, FileStage } from './engine/file-view.js';
export type * from './plugin-api.js';
export { TOKENS } from './engine/container.js';
export { ingestMetrics, IngestMetrics } from './metrics/index.js';
export type { IngestMetricsOptions } from './metrics/index.js';
export type { TelemetryEvent, TelemetryEvents, TelemetryStage } from './engine/telemetry.js';

/** Options of {@link createIngest} besides the config itself. */
export interface CreateIngestOptions extends IngestConfigInput {
  /** A config file to load under these options (else MEDIA_INGEST_CONFIG, else the packaged pipeline.config.ts). */
  configFile?: string;
  /** A pino logger to use instead of the default (stderr). */
  logger?: Logger;
  /** Resume files a dead process left in flight, and remove its temp files. @default true */
  recover?: boolean;
  /**
   * Check ffmpeg/ffprobe at start-up: log which are in use, warn loudly below `decoder.minVersion` (in the
   * background), or refuse to start under `decoder.requireMinVersion` (awaited). Commands that never decode turn it
   * off to start faster. @default true
   */
  checkDecoder?: boolean;
  /**
   * Prometheus metrics (prom-client): `true` registers them on prom-client's default registry, `{ registry }` on
   * yours; read them back with {@link ingestMetrics}. `serve` and the HTTP API attach them on their own.
   * @default false
   */
  metrics?: boolean | IngestMetricsOptions;
  /**
   * What this process does in a cluster: `all` serves and runs file runs; `api` serves and queues runs but never
   * runs one (the work queue's consumer is not started: syncs wait for a worker elsewhere); `worker` runs queued
   * runs. Roles other than `all` need the `cluster` section (`invalid_request` otherwise). @default 'all'
   */
  role?: IngestRole;
}

/**
 * Creates an engine: loads the config (defaults < config file < environment < `options`), opens the
 * registry and storage under the data dir, and registers the plugins.
 */
export async function createIngest(options: CreateIngestOptions = {}): Promise<Ingest> {
  const { configFile, logger, recover, checkDecoder, metrics, role: roleOption, ...overrides } = options;
  const role = parseRole(roleOption ?? 'all', 'createIngest: role');
  const config = await resolveConfig({ ...(configFile ? { configFile } : {}), overrides });
  assertRoleFits(role, config.cluster !== undefined, 'role');
  // Cluster mode: its adapters are loaded (dynamic import) and opened only when the config has a cluster section.
  if (config.cluster && !config.portsModule) config.portsModule = (await loadClusterModule(config))!.module;
  const container = buildContainer(config, logger);
  if (checkDecoder !== false) {
    const check = checkDecoderAtStartup(config.decoder, container.get<Logger>(TOKENS.Logger));
    if (config.decoder.requireMinVersion) await check;
    else check.catch(() => undefined);
  }
  try {
    const ingest = container.get<Ingest>(TOKENS.Ingest);
    if (metrics) ingestMetrics(ingest, metrics === true ? { registry: (await import('prom-client')).register } : metrics);
    await ingest.start({ recover: recover !== false, role });
    return ingest;
  } catch (error) {
    // A data dir that cannot be written (read-only, full) is named as such, not as an internal error.
    throw isStorageFault(error) ? mapStorageError(error, `the data dir ${config.dataDir}`) : error;
  }
}
export { allowYoungGenerationScavenges } from './store/young-gc.js';
