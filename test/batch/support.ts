// Helpers for the `media-ingest batch` tests: spawn the built CLI as a user runs it, collect its output.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

/** What a finished CLI run left behind. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A CLI process that is still running, plus its eventual result. */
export interface RunningCli {
  child: ChildProcess;
  /** stderr received so far. */
  stderr(): string;
  done: Promise<CliRun>;
}

export interface SpawnOptions {
  env: Record<string, string>;
  /** Written to stdin, which is then closed (stdin is empty otherwise). */
  stdin?: string;
  /**
   * Run the linked bin directly instead of through `npx --no-install`, so a signal sent to `child.pid`
   * reaches media-ingest itself.
   */
  direct?: boolean;
}

/** The linked bin that `npm run build` creates. */
export const BIN = path.resolve('node_modules/.bin/media-ingest');

/** Spawns `media-ingest ...args`. */
export function spawnCli(args: string[], options: SpawnOptions): RunningCli {
  const [command, argv] = options.direct ? [BIN, args] : ['npx', ['--no-install', 'media-ingest', ...args]];
  const child = spawn(command, argv, { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(options.stdin ?? '');
  const done = new Promise<CliRun>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`media-ingest ${args.join(' ')} timed out; stderr:\n${stderr}`));
    }, 150_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, stderr: () => stderr, done };
}

/** Runs `media-ingest ...args` to the end. */
export function runCli(args: string[], options: SpawnOptions): Promise<CliRun> {
  return spawnCli(args, options).done;
}

/** Parses JSON lines; every non-empty line must be a complete JSON document (throws otherwise). */
export function parseJsonLines(text: string): Array<Record<string, unknown>> {
  if (text !== '' && !text.endsWith('\n')) throw new Error(`output does not end with a newline: ${JSON.stringify(text.slice(-200))}`);
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Resolves once `predicate` holds (polling), or rejects after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
