/**
 * Runs one ffmpeg or ffprobe process on untrusted media inside operating-system limits, and turns every way it can
 * end into a coded {@link IngestError}.
 *
 * Limits (util-linux `prlimit`, which sets them and then execs the decoder):
 * - address space (`RLIMIT_AS`): allocations past it fail with ENOMEM, which ffmpeg reports and exits on;
 * - CPU time (`RLIMIT_CPU`, soft = hard): SIGKILL when it is used up;
 * - size of any file it writes (`RLIMIT_FSIZE`): SIGXFSZ;
 * - no core dumps (`RLIMIT_CORE` 0): a crash writes nothing into the working directory.
 * `MALLOC_ARENA_MAX=2` keeps glibc from reserving an address-space arena per thread, so the address-space limit
 * measures memory really used. On top of that every run has a wall-clock deadline (SIGKILL → `timeout`), abort
 * support, and caps on the stdout and stderr it keeps.
 *
 * Without `prlimit` (not Linux, or util-linux missing) the decoder runs with the deadline only; `media-ingest
 * doctor` reports it.
 */
import { cancelledBy } from '../plugin-kit.js';
import { spawn } from 'node:child_process';
import { IngestError, isIngestError } from '../errors.js';
import { findOnPath } from './decoder.js';

/** Per-process resource limits of a decoder run. */
export interface ProcessLimits {
  /** Address-space limit, bytes. */
  memoryBytes: number;
  /** CPU time limit, seconds. */
  cpuSeconds: number;
  /** Largest file the process may write, bytes. */
  outputBytes: number;
}

/** The per-process limits of the `decoder` config section. */
export function processLimitsOf(config: { processMemoryBytes: number; processCpuSeconds: number; processOutputBytes: number }): ProcessLimits {
  return { memoryBytes: config.processMemoryBytes, cpuSeconds: config.processCpuSeconds, outputBytes: config.processOutputBytes };
}

/** Options of {@link runDecoder}. */
export interface RunDecoderOptions {
  /** What runs (for messages). */
  tool: 'ffmpeg' | 'ffprobe';
  limits: ProcessLimits;
  /** Wall-clock deadline; the process is SIGKILLed then and the run fails with `timeout`. */
  timeoutMs: number;
  /** Aborting kills the process; the run rejects with the signal's IngestError reason, else `cancelled`. */
  signal?: AbortSignal;
  /** Stdout kept, bytes; beyond it the process is killed (`media_limits_exceeded`). 0 discards stdout. */
  maxStdoutBytes?: number;
  /** Turns the stderr of an ordinary failure (exit status ≠ 0, no limit hit) into an error. */
  classify: (stderr: string) => IngestError;
}

/** What a successful run printed. */
export interface DecoderOutput {
  stdout: string;
  stderr: string;
}

const MAX_STDERR_CHARS = 64 * 1024;
const MiB = 1024 * 1024;

/** The defaults of `decoder.processMemoryBytes` / `processCpuSeconds` / `processOutputBytes`. */
export const DEFAULT_PROCESS_LIMITS: Readonly<ProcessLimits> = { memoryBytes: 1024 * MiB, cpuSeconds: 120, outputBytes: 64 * MiB };

let prlimitPath: string | null | undefined;
/** The `prlimit` binary, or null when there is none (then decoders run without OS limits). */
export function findPrlimit(): string | null {
  if (prlimitPath === undefined) prlimitPath = process.platform === 'linux' ? findOnPath('prlimit') ?? null : null;
  return prlimitPath;
}

/**
 * Global ffmpeg/ffprobe options that go with the limits: `-max_alloc` refuses any single allocation larger than a
 * quarter of the address-space limit (a declared size that would need one fails at once, before touching memory).
 */
export function allocationArgs(limits: ProcessLimits): string[] {
  const maxAlloc = Math.max(16 * MiB, Math.min(Math.floor(limits.memoryBytes / 4), 2 ** 31 - 1));
  return ['-max_alloc', String(maxAlloc)];
}

/** The command line that runs `binary args` under `limits` (through prlimit when available). Exported for tests. */
export function limitedCommand(binary: string, args: string[], limits: ProcessLimits): { command: string; args: string[] } {
  const prlimit = findPrlimit();
  if (!prlimit) return { command: binary, args };
  const cpu = Math.max(1, Math.ceil(limits.cpuSeconds));
  return {
    command: prlimit,
    args: [
      // Soft = hard CPU limit: the kernel then sends SIGKILL (ffmpeg catches SIGXCPU and would exit like any error).
      `--as=${Math.floor(limits.memoryBytes)}`, `--cpu=${cpu}:${cpu}`, `--fsize=${Math.floor(limits.outputBytes)}`,
      '--core=0', '--', binary, ...args,
    ],
  };
}

const MEMORY_TEXT = /cannot allocate memory|out of memory|failed to map segment|std::bad_alloc|resource temporarily unavailable/i;

/**
 * The error for a decoder that ended badly on its own (not killed by us). Exported for tests.
 *
 * Resource limits → `media_limits_exceeded`; a crash (SIGSEGV, SIGABRT, …) → `media_corrupt`; other failures
 * through `classify(stderr)`.
 */
export function classifyDecoderExit(
  tool: string, code: number | null, signal: NodeJS.Signals | null, stderr: string, limits: ProcessLimits,
  classify: (stderr: string) => IngestError,
): IngestError {
  const memory = `${Math.round(limits.memoryBytes / MiB)} MiB`;
  if (signal === 'SIGXCPU' || signal === 'SIGKILL' || /received signal 24/.test(stderr)) {
    // Our own kills never get here; a SIGKILL we did not send is the hard CPU limit (or the kernel's OOM killer).
    return new IngestError('media_limits_exceeded', `${tool} needed more than the limit of ${Math.ceil(limits.cpuSeconds)} s of CPU time for this media`);
  }
  if (signal === 'SIGXFSZ') {
    return new IngestError('media_limits_exceeded', `${tool} output grew past the limit of ${Math.round(limits.outputBytes / MiB)} MiB for this media`);
  }
  if (/exceeds max_streams/.test(stderr)) {
    return new IngestError('media_limits_exceeded', 'the media declares more streams than the limit');
  }
  if (MEMORY_TEXT.test(stderr)) {
    return new IngestError('media_limits_exceeded', `${tool} needed more memory than the limit of ${memory} for this media`);
  }
  if (signal) return new IngestError('media_corrupt', `${tool} crashed on this media (${signal})`);
  if (code === 0) return new IngestError('internal', `${tool} ended without a result`);
  return classify(stderr);
}

/** Removes absolute paths (data dir, scratch files) from decoder text before it reaches a caller. */
export function scrubPaths(text: string): string {
  return text.replace(/(?:file:)?\/(?:[^\s/'":,]+\/)+[^\s'":,]*/g, '<file>');
}

function abortError(signal: AbortSignal, tool: string): IngestError {
  return cancelledBy(signal, tool);
}

/** Runs the decoder under the limits; resolves with its output on exit status 0, rejects with a coded error otherwise. */
export function runDecoder(binary: string, args: string[], options: RunDecoderOptions): Promise<DecoderOutput> {
  const { tool, limits, signal, timeoutMs } = options;
  const maxStdout = options.maxStdoutBytes ?? 0;
  return new Promise<DecoderOutput>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal, tool));
    const { command, args: argv } = limitedCommand(binary, args, limits);
    const child = spawn(command, argv, {
      stdio: ['ignore', maxStdout > 0 ? 'pipe' : 'ignore', 'pipe'],
      env: { ...process.env, MALLOC_ARENA_MAX: '2' },
      windowsHide: true,
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let failure: IngestError | undefined;
    const kill = (error: IngestError): void => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(new IngestError('timeout', `${tool} took longer than ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => kill(abortError(signal!, tool));
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxStdout) kill(new IngestError('media_limits_exceeded', `${tool} output is larger than ${maxStdout} bytes (hostile metadata?)`));
      else stdout.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-MAX_STDERR_CHARS);
    });
    let settled = false;
    const finish = (error: IngestError | undefined, output?: DecoderOutput): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(output!);
    };
    child.on('error', (error) => {
      finish(failure ?? new IngestError('internal', `cannot run ${tool}: ${error.message}`, { cause: error }));
    });
    child.on('close', (code, exitSignal) => {
      if (failure) return finish(failure);
      // prlimit itself failing (exit 1 with its own message) is not a media problem.
      if (command !== binary && code !== 0 && /^prlimit: /m.test(stderr)) {
        return finish(new IngestError('internal', `cannot apply process limits: ${stderr.trim().split('\n')[0]}`));
      }
      if (code !== 0 || exitSignal) return finish(classifyDecoderExit(tool, code, exitSignal, stderr, limits, options.classify));
      finish(undefined, { stdout: Buffer.concat(stdout).toString('utf8'), stderr });
    });
  });
}
