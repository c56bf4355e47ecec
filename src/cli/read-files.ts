/**
 * The read commands (`get`, `list`, `thumbnails`, `segments`) without the engine: the config resolved without
 * plugins, the Registry port opened for reading (SQLite read-only under the data dir; Postgres alone in cluster
 * mode), and the engine's own queries and views over it, so the JSON is the engine's. No DI container, logger, work
 * queue, recovery, plugin or decoder is started, and a missing data dir is not created: it reads as empty. A config
 * that brings its own ports (`portsModule`) or `modules` (which may rebind the registry) gets the whole engine.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { IngestConfig } from '../config/define-config.js';
import { resolveConfig } from '../config/load-config.js';
import { FileQueries, FileViews } from '../engine/file-queries.js';
import type { RegistryReads } from '../engine/file-queries.js';
import { IngestError } from '../errors.js';
import type { Registry } from '../ports/registry.js';
import { configFileFor, printFailure, printJson, withEngine } from './shared.js';
import type { GlobalFlags } from './shared.js';

/** What a read command runs: the engine's queries (the same validation and views), over whichever registry. */
export type FileReads = Pick<FileQueries, 'get' | 'list' | 'thumbnails' | 'segments'>;

/** The config of a read: defaults < config file < environment < the global flags, with no plugins loaded. */
async function readConfig(flags: GlobalFlags): Promise<IngestConfig> {
  const configFile = configFileFor(flags);
  return resolveConfig({
    ...(configFile ? { configFile } : {}),
    overrides: { ...(flags.dataDir ? { dataDir: flags.dataDir } : {}), logLevel: flags.logLevel ?? process.env.LOG_LEVEL ?? 'warn' },
    plugins: false,
  });
}

/** What a data dir without a registry file holds: nothing (no adapter is loaded and nothing is created). */
const NO_FILES: RegistryReads = {
  getFile: async () => undefined,
  listFiles: async () => ({ rows: [], total: 0 }),
  thumbnails: async () => [],
  segments: async () => [],
};

/**
 * The registry of `config`, opened for reading: the cluster's Postgres registry (its adapter loaded only then), the
 * local SQLite file opened read-only (better-sqlite3 loaded only then), or {@link NO_FILES} when there is no file.
 */
async function openRegistryForReading(config: IngestConfig): Promise<RegistryReads & Pick<Registry, 'close'>> {
  if (config.cluster) {
    const { openClusterRegistry } = await import('../adapters/cluster/load.js');
    return (await openClusterRegistry(config))!;
  }
  const dataDir = path.resolve(config.dataDir);
  if (statSync(dataDir, { throwIfNoEntry: false })?.isDirectory() === false) {
    throw new IngestError('storage_error', `The data dir ${dataDir} is not a directory`);
  }
  const file = path.join(dataDir, 'registry.sqlite');
  if (!existsSync(file)) return { ...NO_FILES, close: async () => undefined };
  const { SqliteRegistry } = await import('../adapters/local/sqlite-registry.js');
  const registry = new SqliteRegistry(file, { readOnly: true });
  await registry.open();
  return registry;
}

/** Runs a read command: prints `work`'s result, or `{error, code}` with exit 1 (2 for a usage error). */
export async function withFileReads(flags: GlobalFlags, work: (reads: FileReads) => Promise<unknown>): Promise<void> {
  let registry: (RegistryReads & Pick<Registry, 'close'>) | undefined;
  try {
    const config = await readConfig(flags);
    if (config.portsModule || config.modules.length > 0) {
      await withEngine(flags, async (ingest) => ({ output: await work(ingest) }));
      return;
    }
    registry = await openRegistryForReading(config);
    printJson(await work(new FileQueries(registry, new FileViews(config, registry))));
  } catch (thrown) {
    printFailure(thrown);
  } finally {
    await registry?.close();
  }
}
