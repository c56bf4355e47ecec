/**
 * The read-only commands (`get`, `list`, `thumbnails`, `segments`) without the engine: with the packaged config
 * (which only lists plugins, and reading never needs a plugin), the registry is opened directly and queried
 * through the engine's own read side ({@link FileQueries}), so these commands load neither the plugins, the
 * HTTP client, the queues, the DI container nor the logger. Any other config goes through the engine.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { configFromEnv, defaultConfig, mergeConfig } from '../config/load-config.js';
import { FileQueries } from '../engine/file-queries.js';
import { ContentAddressedStore } from '../store/blob-store.js';
import { Registry } from '../store/registry.js';

/** What the read-only commands call: the same methods, with the same answers, as the engine's. */
export type ReadOnlyIngest = Pick<FileQueries, 'get' | 'list' | 'thumbnails' | 'segments'> & { close(): Promise<void> };

/**
 * The read side over `dataDir` (defaults < environment < `--data-dir`), creating an empty registry there like the
 * engine would; undefined when that fails (the caller then opens the engine, which names the problem).
 */
export function openReadOnly(dataDirFlag: string | undefined): ReadOnlyIngest | undefined {
  const config = mergeConfig(mergeConfig(defaultConfig(), configFromEnv()), dataDirFlag ? { dataDir: dataDirFlag } : {});
  const dataDir = path.resolve(config.dataDir);
  const file = path.join(dataDir, 'registry.sqlite');
  let registry: Registry;
  try {
    mkdirSync(dataDir, { recursive: true });
    registry = new Registry(file);
  } catch {
    return undefined;
  }
  const queries = new FileQueries(registry, new ContentAddressedStore(dataDir), { uriPrefix: config.uriPrefix, publicBaseUrl: config.publicBaseUrl });
  return {
    get: (id) => queries.get(id),
    list: (query) => queries.list(query),
    thumbnails: (id, query) => queries.thumbnails(id, query),
    segments: (id, query) => queries.segments(id, query),
    close: async () => registry.close(),
  };
}
