/**
 * The only door to cluster mode: loads the cluster adapters (pg, kysely, BullMQ, ioredis, the AWS SDK) by dynamic
 * import, so an engine without a `cluster` config never loads them. Nothing here imports them statically.
 */
import type { IngestConfig } from '../../config/define-config.js';
import type { ClusterModuleOptions, ClusterPorts } from './cluster.module.js';
import type { ContainerModule } from 'inversify';
import type { ClusterConfig } from '../../config/cluster-config.js';
import type { Registry } from '../../ports/registry.js';
import type { BullMqWebhookQueue } from './bullmq-webhook-queue.js';

/** The ports module for `config.cluster`, or undefined when cluster mode is off (the local module applies). */
export async function loadClusterModule(config: IngestConfig, options: ClusterModuleOptions = {}): Promise<{ module: ContainerModule; ports: ClusterPorts } | undefined> {
  if (!config.cluster) return undefined;
  const { clusterModule } = await import('./cluster.module.js');
  return clusterModule(config, options);
}

/**
 * The cluster's registry alone (Postgres), opened, or undefined when cluster mode is off: what read-only commands
 * need. The queue, blob store and event bus (BullMQ, ioredis, the AWS SDK) are not loaded.
 */
export async function openClusterRegistry(config: IngestConfig): Promise<Registry | undefined> {
  if (!config.cluster) return undefined;
  const { PgRegistry } = await import('./pg-registry.js');
  const registry = new PgRegistry({ connectionString: config.cluster.postgresUrl, schema: config.cluster.postgresSchema, poolSize: 2 });
  try {
    await registry.open();
  } catch (error) {
    await registry.close();
    throw error;
  }
  return registry;
}

/**
 * The cluster's webhook delivery queue (BullMQ), opened: the servers of API nodes queue deliveries there and send
 * them (see `src/server/queued-webhooks.ts`). Loaded by dynamic import, like the ports.
 */
export async function loadWebhookQueue(cluster: ClusterConfig, options: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number } = {}): Promise<BullMqWebhookQueue> {
  const { BullMqWebhookQueue } = await import('./bullmq-webhook-queue.js');
  const queue = new BullMqWebhookQueue({ redisUrl: cluster.redisUrl, prefix: cluster.redisPrefix, ...options });
  try {
    await queue.open();
  } catch (error) {
    await queue.close().catch(() => undefined);
    throw error;
  }
  return queue;
}
