import type { Command } from 'commander';
import type { GlobalFlags } from './main.js';

/**
 * Commands that live in their own modules register here, so main.ts stays the one visible list of the
 * core commands. Their modules (the HTTP server, the batch runner and its progress UI) are imported only
 * when the command line may need them: a `list` or `get` does not load Fastify.
 */
export async function registerExtraCommands(program: Command, flags: () => GlobalFlags, wanted?: string): Promise<void> {
  if (wanted === undefined || wanted === 'serve') (await import('../server/serve-command.js')).registerServeCommand(program, flags);
  if (wanted === undefined || wanted === 'batch') (await import('./batch-command.js')).registerBatchCommand(program, flags);
  if (wanted === undefined || wanted === 'doctor') (await import('./doctor-command.js')).registerDoctorCommand(program, flags);
}
