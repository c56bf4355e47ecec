/**
 * `media-ingest batch <file|-> [--concurrency N] [--output PATH] [--no-segment-thumbnails] [--grace-period S]
 * [--role all|api]`.
 *
 * In cluster mode the syncs are queued and any worker runs them; the results still come back in input order.
 * `--role all` (the default) makes this process one of the workers too; `--role api` runs nothing here (the batch
 * then waits for `media-ingest worker` processes). Embedded mode has only `all`.
 *
 * Input: one URL a line, or JSON lines `{"url", "metadata"?, "enable_segment_thumbnails"?}`; blank lines and
 * `#` comments produce nothing. Output (stdout or `--output`): one JSON line per URL line, in input order:
 * - `{"line","url","file"}` when the file completed (or was already completed: idempotency skips it),
 * - `{"line","url","error","code","file"}` when the file ended `failed` (code and message from `file.error`),
 * - `{"line","url","error","code"}` when the sync was refused, or `code: "invalid_request"` for a malformed line,
 * - `{"line","url","error":"interrupted","code":"cancelled","file"?}` for work cut short by Ctrl-C/SIGTERM.
 * Lines never started because of a signal produce no output, so the output is always an in-order prefix.
 *
 * Exit status: 0 all completed; 1 any line failed, was refused or malformed (or the input broke mid-way);
 * 2 usage error (printed as one JSON line `{"error","code":"invalid_request"}` on stdout); 130 after SIGINT,
 * 143 after SIGTERM. On the first signal the batch stops reading, lets in-flight work finish for the grace
 * period, then closes the engine (which puts unfinished files back to `pending`); a second signal skips the wait.
 */
import { closeSync, fstatSync, openSync, realpathSync } from 'node:fs';
import type { Command } from 'commander';
import type { Ingest } from '../../engine/ingest.js';
import { toIngestError } from '../../errors.js';
import { isUsageError, openEngine, usageError } from '../shared.js';
import { parseRole } from '../../config/roles.js';
import type { IngestRole } from '../../config/roles.js';
import type { GlobalFlags } from '../shared.js';
import { countEntries, openInput, readEntries } from '../batch/input.js';
import type { BatchInput } from '../batch/input.js';
import { fileSink, stdoutSink } from '../batch/output.js';
import type { ResultSink } from '../batch/output.js';
import { startProgress } from '../batch/progress.js';
import { BatchRunner } from '../batch/runner.js';
import type { BatchStats } from '../batch/runner.js';

/** Raw options of the `batch` command, as commander parses them. */
export interface BatchCommandOptions {
  concurrency: string;
  output?: string;
  segmentThumbnails: boolean;
  gracePeriod: string;
  role: string;
}

/** Registers `batch` on the program. */
export function registerBatchCommand(program: Command, flags: () => GlobalFlags): void {
  program
    .command('batch <file>')
    .description('sync every URL of a file (or - for stdin); prints one JSON line per URL line, in input order')
    .option('--concurrency <n>', 'URLs in flight at once (1-64)', '4')
    .option('--output <path>', 'write the JSON lines to this file instead of stdout')
    .option('--no-segment-thumbnails', 'only the default thumbnail (JSON lines may override per line)')
    .option('--grace-period <seconds>', 'after Ctrl-C/SIGTERM, how long in-flight work may finish', '10')
    .option('--role <role>', 'cluster mode: all (this process runs files too) or api (only queues them for workers)', 'all')
    .action(async (file: string, opts: BatchCommandOptions) => {
      process.exitCode = await runBatchCommand(file, opts, flags());
    });
}

/**
 * Runs the command; resolves with the exit status. Exits the process itself only when a cancel left engine
 * work behind that did not stop within the close timeout (results and summary are written by then).
 */
export async function runBatchCommand(source: string, opts: BatchCommandOptions, flags: GlobalFlags): Promise<number> {
  let outcome: BatchOutcome = { code: 2, engineClosed: true };
  try {
    outcome = await runBatch(source, opts, flags);
  } finally {
    if (!outcome.engineClosed) process.exit(outcome.code);
  }
  return outcome.code;
}

async function runBatch(source: string, opts: BatchCommandOptions, flags: GlobalFlags): Promise<BatchOutcome> {
  let sink: ResultSink | undefined;
  let input: BatchInput | undefined;
  const hooks = { stdoutBroken: (): void => undefined };
  try {
    const concurrency = integerOption('--concurrency', opts.concurrency, 1, 64);
    const graceMs = integerOption('--grace-period', opts.gracePeriod, 0, 3600) * 1000;
    const role = parseRole(opts.role, '--role', ['all', 'api']);
    checkReadable(source);
    if (opts.output && source !== '-' && sameFile(source, opts.output)) throw usageError('--output must not be the input file');
    sink = openSink(opts.output, () => hooks.stdoutBroken());
    input = openInput(source);
    return await execute({ source, input, sink, concurrency, graceMs, segmentThumbnails: opts.segmentThumbnails, role, flags, hooks });
  } catch (error) {
    if (!isUsageError(error)) throw error;
    process.stdout.write(`${JSON.stringify(error.toJSON())}\n`);
    return { code: 2, engineClosed: true };
  } finally {
    input?.close();
    await sink?.close();
  }
}

/** The exit status, and whether the engine finished closing (if not, the process must exit explicitly). */
interface BatchOutcome {
  code: number;
  engineClosed: boolean;
}

interface Execution {
  source: string;
  input: BatchInput;
  sink: ResultSink;
  concurrency: number;
  graceMs: number;
  segmentThumbnails: boolean;
  /** `api`: queue the runs for cluster workers and run none here. */
  role: IngestRole;
  flags: GlobalFlags;
  /** Set by {@link execute}: what to do when results can no longer be written (EPIPE on stdout, disk full). */
  hooks: { stdoutBroken: () => void };
}

/** How long a cancel waits for pending `sync()` calls (so the engine can checkpoint their files) and for the engine to close. */
const CANCEL_SYNC_WAIT_MS = 2000;
const CANCEL_CLOSE_WAIT_MS = 5000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

async function execute(run: Execution): Promise<BatchOutcome> {
  const started = Date.now();
  let signal: NodeJS.Signals | undefined;
  let runner: BatchRunner | undefined;
  let ingest: Ingest | undefined;
  let closing: Promise<void> | undefined;
  let closed = false;
  let cancelling = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const closeEngine = (): Promise<void> =>
    (closing ??= (ingest ? ingest.close() : Promise.resolve()).finally(() => (closed = true)));
  /** Bounded wait for the engine to close: work it failed to cancel must not hold the batch up. */
  const closeEngineBounded = (): Promise<void> => (cancelling ? Promise.race([closeEngine(), sleep(CANCEL_CLOSE_WAIT_MS)]) : closeEngine());
  const cancelNow = (): void => {
    if (cancelling) return;
    cancelling = true;
    if (!runner) return;
    const active = runner;
    active.interrupt();
    void (async () => {
      await active.syncsSettled(CANCEL_SYNC_WAIT_MS);
      await closeEngineBounded();
      active.abandon();
    })();
  };
  const onSignal = (received: NodeJS.Signals): void => {
    if (signal) return cancelNow();
    signal = received;
    runner?.stop();
    run.input.close();
    process.stderr.write(`\nbatch: ${received}, finishing work in flight (up to ${run.graceMs / 1000} s; send it again to cancel now)\n`);
    graceTimer = setTimeout(cancelNow, run.graceMs);
    graceTimer.unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  run.hooks.stdoutBroken = () => {
    // Nobody reads the results any more: stop at once, leaving unfinished files `pending` for a re-run.
    run.input.close();
    cancelNow();
  };
  try {
    const logLevel = run.flags.logLevel ?? process.env.LOG_LEVEL ?? 'error';
    try {
      ingest = await openEngine({ ...run.flags, logLevel }, { role: run.role });
    } catch (thrown) {
      const failure = toIngestError(thrown);
      process.stdout.write(`${JSON.stringify(failure.toJSON())}\n`);
      return { code: isUsageError(failure) ? 2 : 1, engineClosed: true };
    }
    runner = new BatchRunner({
      ingest, entries: readEntries(run.input.stream), sink: run.sink,
      concurrency: run.concurrency, segmentThumbnails: run.segmentThumbnails,
      // The results cannot be recorded any more: stop at once, as for a broken stdout.
      onOutputError: () => run.hooks.stdoutBroken(),
    });
    if (signal) runner.stop();
    const tty = Boolean(process.stderr.isTTY);
    let knownTotal: number | undefined;
    if (tty && run.source !== '-') countEntries(run.source).then((n) => (knownTotal = n), () => undefined);
    const active = runner;
    const progress = startProgress(() => ({
      done: active.stats.done, failed: active.stats.failed + active.stats.refused,
      total: knownTotal ?? active.stats.read, totalKnown: knownTotal !== undefined,
      bytes: active.bytesSoFar(), elapsedMs: Date.now() - started,
    }), { tty });
    const stats = await runner.run();
    progress.stop();
    if (graceTimer) clearTimeout(graceTimer);
    await closeEngineBounded();
    if (runner.inputError) process.stderr.write(`batch: reading the input failed: ${runner.inputError.message}\n`);
    if (runner.outputError) process.stderr.write(`batch: writing the results failed: ${runner.outputError.message}\n`);
    process.stderr.write(`${summaryLine(stats, Date.now() - started, signal)}\n`);
    let code = runner.inputError || runner.outputError || stats.failed + stats.refused + stats.interrupted > 0 ? 1 : 0;
    if (signal) code = signal === 'SIGTERM' ? 143 : 130;
    return { code, engineClosed: closed };
  } finally {
    if (graceTimer) clearTimeout(graceTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await closeEngineBounded();
  }
}

/** `batch: 50 lines, 40 completed, 3 skipped (already completed), 7 failed/refused in 12.3 s`. */
export function summaryLine(stats: BatchStats, elapsedMs: number, signal?: string): string {
  const parts = [
    `${stats.done} lines`, `${stats.completed} completed`, `${stats.skipped} skipped (already completed)`,
    `${stats.failed + stats.refused} failed/refused`,
  ];
  if (stats.interrupted > 0) parts.push(`${stats.interrupted} interrupted`);
  const tail = signal ? ` (stopped by ${signal})` : '';
  return `batch: ${parts.join(', ')} in ${(elapsedMs / 1000).toFixed(1)} s${tail}`;
}

function integerOption(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw usageError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function checkReadable(source: string): void {
  if (source === '-') return;
  let fd: number | undefined;
  try {
    fd = openSync(source, 'r');
    if (fstatSync(fd).isDirectory()) throw usageError(`Cannot read the input file ${source}: it is a directory`);
  } catch (error) {
    if (isUsageError(error)) throw error;
    throw usageError(`Cannot read the input file ${source}: ${(error as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function openSink(output: string | undefined, onStdoutBroken: () => void): ResultSink {
  if (!output) return stdoutSink(onStdoutBroken);
  try {
    return fileSink(output);
  } catch (error) {
    throw usageError(`Cannot write the output file ${output}: ${(error as Error).message}`);
  }
}
