#!/usr/bin/env node
/**
 * The `media-ingest` command. stdout carries exactly one JSON document per command (JSON lines for
 * `batch`); logs and progress go to stderr. Exit status: 0 success, 1 the URL/file failed or was refused,
 * 2 usage error.
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { CreateIngestOptions } from '../index.js';
import type { Ingest } from '../engine/ingest.js';
import type { ReadOnlyIngest } from './read-only.js';
import { IngestError, toIngestError } from '../errors.js';
import { packagedConfigPath } from '../config/load-config.js';
import { registerExtraCommands } from './extra-commands.js';
import { PROGRESS_CHOICES, progressMode, syncWithProgress } from './progress/index.js';

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
  const { createIngest } = await import('../index.js');
  return createIngest(options);
}

/**
 * The read side for a read-only command: without the engine when the config is the packaged one (see
 * read-only.ts), else the engine.
 */
async function openReader(flags: GlobalFlags): Promise<ReadOnlyIngest> {
  const configFile = configFileFor(flags);
  if (configFile && configFile === packagedConfigPath()) {
    const reader = (await import('./read-only.js')).openReadOnly(flags.dataDir);
    if (reader) return reader;
  }
  return openEngine(flags, { recover: false, checkDecoder: false });
}

/** Runs a read-only command with {@link openReader}, like {@link withEngine}. */
async function withReader(flags: GlobalFlags, work: (reader: ReadOnlyIngest) => Promise<{ output: unknown }>): Promise<void> {
  let reader: ReadOnlyIngest | undefined;
  try {
    reader = await openReader(flags);
    printJson((await work(reader)).output);
  } catch (thrown) {
    const error = toIngestError(thrown);
    printJson(error.toJSON());
    process.exitCode = error.code === 'invalid_request' ? 2 : 1;
  } finally {
    await reader?.close();
  }
}

/** Runs `work` with an engine, prints its result, and maps errors to `{error, code}` + exit 1. */
async function withEngine(
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
    const error = toIngestError(thrown);
    printJson(error.toJSON());
    // A malformed flag value or option (limit, status, metadata, config) is a usage error; a refused URL is not.
    process.exitCode = error.code === 'invalid_request' ? 2 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await ingest?.close();
  }
}

function parseMetadata(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new IngestError('invalid_request', `--metadata is not valid JSON: ${(error as Error).message}`);
  }
}

/** Global flags that take a value (to find the command name in argv without parsing). */
const VALUE_FLAGS = new Set(['--config', '--data-dir', '--log-level']);

/** The first command-line word that is not a global flag or its value (undefined when there is none). */
export function commandNameOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (VALUE_FLAGS.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * Builds the command tree. With `only`, a core command's name, the commands of other modules (serve, batch)
 * are left out, so running a core command loads none of their dependencies.
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('media-ingest')
    .description('Turn a public media URL into a stored, probed, thumbnailed file record')
    .option('--config <path>', 'config file (default: ./pipeline.config.ts or the packaged one)')
    .option('--data-dir <dir>', 'where the registry, blobs and thumbnails live')
    .option('--log-level <level>', 'pino log level on stderr (default warn)')
    .showHelpAfterError()
    .exitOverride();
  const flags = (): GlobalFlags => program.opts<GlobalFlags>();

  program
    .command('sync <url>')
    .description('sync a URL; prints the File (waits for a terminal status unless --no-wait)')
    .option('--metadata <json>', 'JSON object stored with a new file')
    .option('--no-segment-thumbnails', 'only the default thumbnail')
    .option('--no-wait', 'return as soon as the download has started')
    .addOption(new Option('--progress <mode>', 'progress on stderr while waiting: auto (a live line on a TTY), line, plain, json (JSON lines), none').choices(PROGRESS_CHOICES).default('auto'))
    .option('-q, --quiet', 'no progress on stderr')
    .action(async (url: string, opts: { metadata?: string; segmentThumbnails: boolean; wait: boolean; progress: string; quiet?: boolean }) => {
      await withEngine(flags(), async (ingest) => {
        const metadata = parseMetadata(opts.metadata);
        const file = await syncWithProgress(ingest, url, {
          ...(metadata ? { metadata } : {}), enableSegmentThumbnails: opts.segmentThumbnails, wait: opts.wait,
          progress: { mode: progressMode(opts, process.stderr.isTTY === true) },
        });
        return { output: file, exitCode: file.status === 'failed' ? 1 : 0 };
      }, { decodes: true });
    });

  program.command('get <id>').description('print one file').action(async (id: string) => {
    await withReader(flags(), async (reader) => ({ output: reader.get(id) }));
  });

  program
    .command('list')
    .description('list files')
    .addOption(new Option('--status <status>', 'filter by status').choices(['pending', 'processing', 'completed', 'failed', 'not_applicable']))
    .option('--limit <n>', 'page size 1-100', '50')
    .option('--offset <n>', 'skip this many', '0')
    .action(async (opts: { status?: string; limit: string; offset: string }) => {
      await withReader(flags(), async (reader) => ({
        output: reader.list({ ...(opts.status ? { status: opts.status } : {}), limit: opts.limit, offset: opts.offset }),
      }));
    });

  program.command('thumbnails <id>').description("list a file's thumbnails").action(async (id: string) => {
    await withReader(flags(), async (reader) => ({ output: reader.thumbnails(id, { limit: 100 }) }));
  });

  program.command('segments <id>').description("list a file's segments").action(async (id: string) => {
    await withReader(flags(), async (reader) => ({ output: reader.segments(id, { limit: 100 }) }));
  });

  program.command('delete <id>').description('delete a file, its thumbnails and (if unshared) its blob').action(async (id: string) => {
    await withEngine(flags(), async (ingest) => ({ output: await ingest.delete(id) }));
  });

  program.command('plugins').description('the registered source plugins and the URL forms each accepts').action(async () => {
    await withEngine(flags(), async (ingest) => ({ output: { object: 'list', data: ingest.plugins() } }));
  });

  const core = only !== undefined && program.commands.some((command) => command.name() === only);
  await registerExtraCommands(program, flags, core ? '' : only === 'serve' || only === 'batch' || only === 'doctor' ? only : undefined);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(commandNameOf(argv.slice(2)));
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0) {
        process.exitCode = 0;
        return;
      }
      printJson({ error: error.message.replace(/^error: /, ''), code: 'invalid_request' });
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

// Not a top-level await: the serve and batch modules, imported on demand, import this module back, which
// they can only do once its evaluation has finished.
main(process.argv).catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
