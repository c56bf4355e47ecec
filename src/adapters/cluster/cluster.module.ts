/**
 * Cluster mode's ports module: the Postgres registry, the S3 blob store, the BullMQ work queue and the Redis event
 * bus, opened and bound to the four ports. Imported only through `load.ts` (dynamically), so an embedded engine
 * never loads pg, kysely, BullMQ, ioredis or the AWS SDK.
 */
import { ContainerModule } from 'inversify';
import type { IngestConfig } from '../../config/define-config.js';
import type { ClusterConfig } from '../../config/cluster-config.js';
import { IngestError } from '../../errors.js';
import { PORTS } from '../../ports/tokens.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { EventBus } from '../../ports/event-bus.js';
import type { Registry } from '../../ports/registry.js';
import type { WorkQueue } from '../../ports/work-queue.js';
import { BullMqWorkQueue } from './bullmq-work-queue.js';
import type { BullMqWorkQueueOptions } from './bullmq-work-queue.js';
import { PgRegistry } from './pg-registry.js';
import { RedisEventBus } from './redis-event-bus.js';
import { S3BlobStore } from './s3-blob-store.js';

/** Knobs of the cluster adapters that are not part of the user config. */
export interface ClusterModuleOptions {
  /** Queue tuning (lock duration, stalled interval ...). */
  queue?: Partial<Omit<BullMqWorkQueueOptions, 'redisUrl' | 'concurrency' | 'prefix'>>;
}

/** The four opened cluster adapters. */
export interface ClusterPorts {
  registry: PgRegistry;
  blobs: S3BlobStore;
  queue: BullMqWorkQueue;
  events: RedisEventBus;
  /** Closes all four (the queue first, so running jobs are handed back while the rest still works). */
  close(): Promise<void>;
}

/**
 * Opens the cluster adapters: migrates the registry (under an advisory lock), checks the bucket, checks Redis's
 * eviction policy and subscribes to cancellations and events. Fails with `storage_error` naming the service that is
 * unreachable or unfit; what was opened is closed again.
 */
export async function openClusterPorts(cluster: ClusterConfig, concurrency: IngestConfig['concurrency'], options: ClusterModuleOptions = {}): Promise<ClusterPorts> {
  const keyPrefix = cluster.redisPrefix;
  const registry = new PgRegistry({ connectionString: cluster.postgresUrl, schema: cluster.postgresSchema });
  const blobs = new S3BlobStore({ s3: cluster.s3 });
  const queue = new BullMqWorkQueue({
    redisUrl: cluster.redisUrl, concurrency, prefix: keyPrefix,
    lockDurationMs: cluster.queue.lockDurationMs, stalledIntervalMs: cluster.queue.stalledIntervalMs, ...options.queue,
  });
  const events = new RedisEventBus({ redisUrl: cluster.redisUrl, prefix: keyPrefix });
  const close = async () => {
    await queue.close().catch(() => undefined);
    await Promise.allSettled([events.close(), blobs.close(), registry.close()]);
  };
  try {
    await Promise.all([registry.open(), blobs.init(), queue.open(), events.open()]);
  } catch (error) {
    await close();
    throw error;
  }
  return { registry, blobs, queue, events, close };
}

/** The cluster adapters opened and bound to {@link PORTS}: use as the engine's ports module. */
export async function clusterModule(config: IngestConfig, options: ClusterModuleOptions = {}): Promise<{ module: ContainerModule; ports: ClusterPorts }> {
  if (!config.cluster) throw new IngestError('invalid_request', 'Cluster mode needs the cluster section (or the MEDIA_INGEST_POSTGRES_URL / REDIS_URL / S3_* variables)');
  const ports = await openClusterPorts(config.cluster, config.concurrency, options);
  const module = new ContainerModule(({ bind }) => {
    bind<Registry>(PORTS.Registry).toConstantValue(ports.registry);
    bind<BlobStore>(PORTS.BlobStore).toConstantValue(ports.blobs);
    bind<WorkQueue>(PORTS.WorkQueue).toConstantValue(ports.queue);
    bind<EventBus>(PORTS.EventBus).toConstantValue(ports.events);
  });
  return { module, ports };
}
