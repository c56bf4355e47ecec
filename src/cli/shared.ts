/**
 * What every CLI command shares: the global flags, opening the engine, printing one JSON document, and the one
 * usage-error code (`invalid_request`, exit status 2).
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { CreateIngestOptions } from '../index.js';
import type { Ingest } from '../engine/ingest.js';
import { IngestError, isIngestError, toIngestError } from '../errors.js';
import { packagedConfigPath } from '../config/load-config.js';

/** A usage error: a malformed flag, option value or input file. Printed as `{error, code: "invalid_request"}`, exit 2. */
export function usageError(message: string): IngestError {
  return new IngestError('invalid_request', message);
}

/** True for a usage error (any `invalid_request`: a malformed flag value, limit, status, metadata or config). */
export function isUsageError(error: unknown): error is IngestError {
  return isIngestError(error) && error.code === 'invalid_request';
}

/** Global flags shared by every command. */
export interface GlobalFlags {
  config?: string;
  dataDir?: string;
  logLevel?: string;
}

/** Writes one JSON document to stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The config file the CLI uses: --config, MEDIA_INGEST_CONFIG, ./pipeline.config.ts of the cwd, the packaged one. */
export function configFileFor(flags: GlobalFlags): string | undefined {
  if (flags.config) return flags.config;
  if (process.env.MEDIA_INGEST_CONFIG) return process.env.MEDIA_INGEST_CONFIG;
  const local = path.resolve('pipeline.config.ts');
  const packaged = packagedConfigPath();
  const packageRoot = packaged ? path.dirname(packaged.replace(/[/\\]dist[/\\]pipeline\.config\.js$/, '/pipeline.config.js')) : undefined;
  if (existsSync(local) && (!packageRoot || realpathSync(path.dirname(local)) !== realpathSync(packageRoot))) return local;
  return packaged;
}

/** Opens the engine with the global flags applied. */
export async function openEngine(flags: GlobalFlags, extra: CreateIngestOptions = {}): Promise<Ingest> {
  const options: CreateIngestOptions = { ...extra };
  const configFile = configFileFor(flags);
  if (configFile) options.configFile = configFile;
  if (flags.dataDir) options.dataDir = flags.dataDir;
  options.logLevel = flags.logLevel ?? process.env.LOG_LEVEL ?? 'warn';
  // Loaded here, not at start-up: the engine's module graph is most of a command's start-up time.
  const { createIngest } = await import('../index.js');
  return createIngest(options);
}

/** Runs `work` with an engine, prints its result, and maps errors to `{error, code}` + exit 1 (2 for usage errors). */
export async function withEngine(
  flags: GlobalFlags,
  work: (ingest: Ingest) => Promise<{ output: unknown; exitCode?: number }>,
  { recover = false, decodes = recover }: { recover?: boolean; decodes?: boolean } = {},
): Promise<void> {
  let ingest: Ingest | undefined;
  const onSignal = (): void => {
    void ingest?.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // One-off commands do their one job: resuming a dead process's files is for `serve` and `batch` (and a
    // re-sync of such a file resumes it).
    ingest = await openEngine(flags, { recover, checkDecoder: decodes });
    const { output, exitCode = 0 } = await work(ingest);
    printJson(output);
    process.exitCode = exitCode;
  } catch (thrown) {
    printFailure(thrown);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await ingest?.close();
  }
}

/** Prints a command's failure as `{error, code}` and sets the exit status: 2 for a usage error, else 1. */
export function printFailure(thrown: unknown): void {
  const error = toIngestError(thrown);
  printJson(error.toJSON());
  // A malformed flag value or option (limit, status, metadata, config) is a usage error; a refused URL is not.
  process.exitCode = isUsageError(error) ? 2 : 1;
}

/** `--metadata <json>` as an object (a usage error when it is not JSON). */
export function parseMetadata(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw usageError(`--metadata is not valid JSON: ${(error as Error).message}`);
  }
}
