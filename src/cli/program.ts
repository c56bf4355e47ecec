/** The command tree of `media-ingest`: global flags, then every command from src/cli/commands/. */
import { Command } from 'commander';
import { registerFileCommands } from './commands/files.js';
import type { GlobalFlags } from './shared.js';

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
 * Builds the command tree. With `only`, the name of the command being run, the modules of the other commands
 * (the HTTP server, the batch runner and its progress UI, the doctor) are not imported: `list` does not load Fastify.
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
  registerFileCommands(program, flags);
  const wanted = (name: string): boolean => only === undefined || only === name || !program.commands.some((c) => c.name() === only) && !['serve', 'batch', 'doctor', 'worker'].includes(only);
  if (wanted('serve')) (await import('./commands/serve.js')).registerServeCommand(program, flags);
  if (wanted('batch')) (await import('./commands/batch.js')).registerBatchCommand(program, flags);
  if (wanted('worker')) (await import('./commands/worker.js')).registerWorkerCommand(program, flags);
  if (wanted('doctor')) (await import('./commands/doctor.js')).registerDoctorCommand(program, flags);
  return program;
}
