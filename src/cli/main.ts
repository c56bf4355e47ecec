#!/usr/bin/env node
/**
 * The `media-ingest` command. stdout carries exactly one JSON document per command (JSON lines for
 * `batch`); logs and progress go to stderr. Exit status: 0 success, 1 the URL/file failed or was refused,
 * 2 usage error.
 */
import v8 from 'node:v8';
import { CommanderError } from 'commander';
import { buildProgram, commandNameOf } from './program.js';
import { printJson, usageError } from './shared.js';
import { allowYoungGenerationScavenges } from '../store/young-gc.js';

// The only WebAssembly this process runs is undici's HTTP parser, which for a media body just counts bytes: its
// baseline (Liftoff) code is enough, and optimising it with TurboFan cost about 30 MiB of peak RSS per process
// (measured: 130 → 100 MiB for a 585 MB download) and CPU. Set here, for the CLI's own process only: an embedding
// application keeps its V8 settings. Likewise the young-generation scavenges of the download path (see young-gc.ts).
v8.setFlagsFromString('--liftoff-only');
allowYoungGenerationScavenges();

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
      printJson(usageError(error.message.replace(/^error: /, '')).toJSON());
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

await main(process.argv);
