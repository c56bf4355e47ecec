/** The command tree of `media-ingest`: global flags, then every command from src/cli/commands/. */
import { Command } from 'commander';
import { registerBatchCommand } from './commands/batch.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerFileCommands } from './commands/files.js';
import { registerServeCommand } from './commands/serve.js';
import type { GlobalFlags } from './shared.js';

/** Builds the command tree. */
export function buildProgram(): Command {
  const program = new Command('media-ingest')
    .description('Turn a public media URL into a stored, probed, thumbnailed file record')
    .option('--config <path>', 'config file (default: ./pipeline.config.ts or the packaged one)')
    .option('--data-dir <dir>', 'where the registry, blobs and thumbnails live')
    .option('--log-level <level>', 'pino log level on stderr (default warn)')
    .showHelpAfterError()
    .exitOverride();
  const flags = (): GlobalFlags => program.opts<GlobalFlags>();
  registerFileCommands(program, flags);
  registerServeCommand(program, flags);
  registerBatchCommand(program, flags);
  registerDoctorCommand(program, flags);
  return program;
}
