// `media-ingest` CLI processes for the cluster suites: the built CLI (dist/, as `npm test`'s pretest builds it), its
// stdout read as JSON lines.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const MAIN = path.resolve('dist/src/cli/main.js');

export interface CliProcess {
  process: ChildProcessWithoutNullStreams;
  /** Resolves with the next JSON line printed on stdout that satisfies `match` (rejects if the process exits first). */
  line(match?: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves with the exit code. */
  exit: Promise<number | null>;
  stderr(): string;
}

/** Starts `media-ingest <args>` with `env` over this process's environment. */
export function startCli(args: string[], env: Record<string, string | undefined>): CliProcess {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-20_000)));
  const seen: Record<string, unknown>[] = [];
  const waiting: Array<{ match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void; reject: (e: Error) => void }> = [];
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  void exit.then((code) => {
    exited = true;
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`media-ingest ${args.join(' ')} exited (${code}) first; stderr: ${stderr.slice(-3000)}`));
  });
  createInterface({ input: child.stdout }).on('line', (text) => {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    const index = waiting.findIndex((w) => w.match(parsed));
    if (index >= 0) waiting.splice(index, 1)[0]!.resolve(parsed);
    else seen.push(parsed);
  });
  return {
    process: child,
    line(match = () => true) {
      const index = seen.findIndex(match);
      if (index >= 0) return Promise.resolve(seen.splice(index, 1)[0]!);
      if (exited) return Promise.reject(new Error(`media-ingest ${args.join(' ')} has exited; stderr: ${stderr.slice(-3000)}`));
      return new Promise((resolve, reject) => waiting.push({ match, resolve, reject }));
    },
    exit,
    stderr: () => stderr,
  };
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
