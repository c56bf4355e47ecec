import path from 'node:path';
import { ContainerModule } from 'inversify';
import type { IngestConfig } from '../../config/define-config.js';
import { PORTS } from '../../ports/tokens.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { EventBus } from '../../ports/event-bus.js';
import type { Registry } from '../../ports/registry.js';
import type { WorkQueue } from '../../ports/work-queue.js';
import { EmitterEventBus } from './emitter-event-bus.js';
import { FsBlobStore } from './fs-blob-store.js';
import { PQueueWorkQueue } from './pqueue-work-queue.js';
import { SqliteRegistry } from './sqlite-registry.js';

/** Where the config is bound (the engine's `TOKENS.Config`; repeated here so adapters never import the engine). */
const CONFIG = Symbol.for('media-ingest.Config');

/**
 * The embedded backends, bound to the four ports: SQLite registry and file-system blobs under `config.dataDir`,
 * p-queue work queue, in-process event bus. The default; a cluster module binds the same ports instead.
 */
export const localPortsModule = new ContainerModule(({ bind }) => {
  const dataDir = (config: IngestConfig): string => path.resolve(config.dataDir);
  bind<Registry>(PORTS.Registry).toDynamicValue((ctx) => new SqliteRegistry(path.join(dataDir(ctx.get<IngestConfig>(CONFIG)), 'registry.sqlite'))).inSingletonScope();
  bind<BlobStore>(PORTS.BlobStore).toDynamicValue((ctx) => new FsBlobStore(dataDir(ctx.get<IngestConfig>(CONFIG)))).inSingletonScope();
  bind<WorkQueue>(PORTS.WorkQueue).toDynamicValue((ctx) => new PQueueWorkQueue(ctx.get<IngestConfig>(CONFIG).concurrency)).inSingletonScope();
  bind<EventBus>(PORTS.EventBus).toDynamicValue(() => new EmitterEventBus()).inSingletonScope();
});
