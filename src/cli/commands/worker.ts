/**
 * `media-ingest worker`: a cluster worker process. It runs the file runs queued by API nodes (and other `all`
 * processes) and nothing else: no HTTP server. It needs cluster mode (the `cluster` config section or the
 * MEDIA_INGEST_POSTGRES_URL / MEDIA_INGEST_REDIS_URL / MEDIA_INGEST_S3_* variables); without it, it prints
 * `{error, code: "invalid_request"}` and exits 2.
 *
 * Prints one JSON line `{"ready": true, "role": "worker", "pid": N}` on stdout once it takes jobs; logs go to stderr.
 * SIGTERM/SIGINT shut down gracefully: it stops taking jobs and hands its unfinished runs back (each goes back to
 * `pending`, its partial download kept, and its job is queued again for another worker), then exits 0. A second
 * signal exits at once (status 1); the runs it held are then taken over when their job locks expire.
 */
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { createLogger } from '../../logging.js';
import { toIngestError } from '../../errors.js';
import type { Ingest } from '../../engine/ingest.js';
import { isUsageError, openEngine } from '../shared.js';
import type { GlobalFlags } from '../shared.js';

/** Longest graceful shutdown before the process exits anyway, ms. */
const SHUTDOWN_DEADLINE_MS = 30_000;

const printLine = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

/** Registers `worker` on the CLI. */
export function registerWorkerCommand(program: Command, flags: () => GlobalFlags): void {
  program
    .command('worker')
    .description('run queued file runs in cluster mode (no HTTP); prints {"ready": true} once taking jobs')
    .action(async () => {
      process.exitCode = await runWorker(flags());
    });
}

/**
 * Runs until SIGTERM/SIGINT; resolves with the exit status. `serve --role worker` uses {@link waitForShutdown} the
 * same way around its health endpoint.
 */
async function runWorker(flags: GlobalFlags): Promise<number> {
  let ingest: Ingest | undefined;
  // Signals during start-up: close what was opened once it is.
  const early = new ShutdownSignals();
  try {
    ingest = await openEngine(flags, { role: 'worker' });
  } catch (error) {
    early.dispose();
    const failure = toIngestError(error);
    printLine(failure.toJSON());
    return isUsageError(failure) ? 2 : 1;
  }
  early.dispose();
  const log = createLogger({ level: ingest.config.logLevel, name: 'media-ingest-worker' });
  printLine({ ready: true, role: 'worker', pid: process.pid });
  if (early.received) log.info({ signal: early.received }, 'signal during start-up');
  else await waitForShutdown(log);
  await closeEngine(ingest, log);
  return 0;
}

/** Signals noted before the engine is open. */
class ShutdownSignals {
  received: NodeJS.Signals | undefined;
  private readonly note = (signal: NodeJS.Signals): void => {
    if (this.received) process.exit(1);
    this.received = signal;
  };

  constructor() {
    process.on('SIGINT', this.note);
    process.on('SIGTERM', this.note);
  }

  dispose(): void {
    process.off('SIGINT', this.note);
    process.off('SIGTERM', this.note);
  }
}

/**
 * Resolves at the first SIGTERM/SIGINT; from then on a second one exits the process at once (status 1), and so
 * does a shutdown that takes longer than the deadline.
 */
export function waitForShutdown(log: Logger, deadlineMs = SHUTDOWN_DEADLINE_MS): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now (the runs in flight are taken over when their locks expire)');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'shutting down: handing unfinished runs back');
      setTimeout(() => {
        log.error('graceful shutdown took too long: exiting');
        process.exit(1);
      }, deadlineMs).unref();
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Closes the engine: its queue hands the runs in flight back (to `pending`, their jobs queued again). */
async function closeEngine(ingest: Ingest, log: Logger): Promise<void> {
  const handedBack = ingest.workload().files;
  try {
    await ingest.close();
    log.info({ handedBack }, 'worker stopped');
  } catch (error) {
    log.error({ err: error }, 'engine close failed');
  }
  // Nothing should be left running; if a stray handle remains, do not hang.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
}
