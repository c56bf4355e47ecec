// Children for multi-process tests: a TypeScript script run under tsx, its stdout read as JSON lines as they come.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface JsonChild {
  process: ChildProcessWithoutNullStreams;
  /** Resolves with the next JSON line the child prints that satisfies `match`. */
  next(match?: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (rejects with stderr when it is not 0, unless `allowFailure`). */
  exited(allowFailure?: boolean): Promise<number | null>;
  stderr(): string;
  /** Every JSON line printed so far (matched or not), for failure messages. */
  printed(): Record<string, unknown>[];
}

/** Spawns `node --import tsx script` with `env` added to this process's environment. */
export function spawnJsonChild(script: string, env: Record<string, string>): JsonChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const lines: Record<string, unknown>[] = [];
  const printed: Record<string, unknown>[] = [];
  const waiters: Array<{ match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void; reject: (e: Error) => void }> = [];
  let closed = false;
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  exit.then(() => {
    closed = true;
    for (const waiter of waiters.splice(0)) waiter.reject(new Error(`child exited before printing the expected line; stderr: ${stderr.slice(-2000)}`));
  });
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    printed.push(line);
    const index = waiters.findIndex((w) => w.match(line));
    if (index >= 0) waiters.splice(index, 1)[0]!.resolve(line);
    else lines.push(line);
  });
  return {
    process: child,
    next(match = () => true) {
      const index = lines.findIndex(match);
      if (index >= 0) return Promise.resolve(lines.splice(index, 1)[0]!);
      if (closed) return Promise.reject(new Error(`child exited; stderr: ${stderr.slice(-2000)}`));
      return new Promise((resolve, reject) => waiters.push({ match, resolve, reject }));
    },
    async exited(allowFailure = false) {
      const code = await exit;
      if (code !== 0 && !allowFailure) throw new Error(`child exited with ${code}; stderr: ${stderr.slice(-2000)}`);
      return code;
    },
    stderr: () => stderr,
    printed: () => printed,
  };
}
