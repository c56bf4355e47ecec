// A private redis-server for tests that restart Redis or need another configuration (the shared one on 6379 is
// never restarted or reconfigured by tests). Same port across restarts; no persistence, like the shared one.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { freePort } from './free-port.js';

export interface PrivateRedis {
  url: string;
  /** SIGKILLs the server and starts a new empty one on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function launch(port: number, extra: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve(child);
    });
  });
}

/** Starts a redis-server on a free loopback port with `extra` arguments (e.g. `--maxmemory-policy allkeys-lru`). */
export async function startPrivateRedis(extra: string[] = []): Promise<PrivateRedis> {
  const port = await freePort();
  let child = await launch(port, extra);
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await kill();
      child = await launch(port, extra);
    },
    stop: kill,
  };
}
