import type { Command } from 'commander';
import type { GlobalFlags } from './main.js';
import { registerServeCommand } from '../server/serve-command.js';
import { registerBatchCommand } from './batch-command.js';
import { registerDoctorCommand } from './doctor-command.js';

/**
 * Commands that live in their own modules register here, so main.ts stays the one visible list of the
 * core commands.
 */
export function registerExtraCommands(program: Command, flags: () => GlobalFlags): void {
  registerServeCommand(program, flags);
  registerBatchCommand(program, flags);
  registerDoctorCommand(program, flags);
}
