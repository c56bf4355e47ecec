/**
 * inversify service identifiers of the ports. An adapter module binds each once:
 * `bind<Registry>(PORTS.Registry).toDynamicValue(...)`, and so on.
 */
export const PORTS = {
  Registry: Symbol.for('media-ingest.port.Registry'),
  BlobStore: Symbol.for('media-ingest.port.BlobStore'),
  WorkQueue: Symbol.for('media-ingest.port.WorkQueue'),
  EventBus: Symbol.for('media-ingest.port.EventBus'),
} as const;
