// A private PostgreSQL 15 cluster for tests that restart Postgres (the shared one on 5432 is never restarted by
// tests): initdb into a temp dir owned by `postgres` (run through `runuser` when we are root), trust auth, loopback
// only, no fsync, on a free port. `restart()` is `pg_ctl restart -m fast`, the way an operator restarts it.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { freePort } from './free-port.js';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const PG_BIN = '/usr/lib/postgresql/15/bin';

/** What is missing to start a private cluster (null when nothing is). */
export function privatePostgresMissing(): string | null {
  if (!existsSync(path.join(PG_BIN, 'initdb')) || !existsSync(path.join(PG_BIN, 'pg_ctl'))) return `${PG_BIN}/initdb and pg_ctl are missing`;
  if (process.getuid?.() === 0 && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) return 'runuser is missing (needed to run initdb as postgres)';
  return null;
}

export interface PrivatePostgres {
  url: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs a Postgres binary as `postgres` (through runuser when root). */
function asPostgres(binary: string, args: string[]): Promise<unknown> {
  const file = path.join(PG_BIN, binary);
  return process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args);
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mi-private-pg-'));
  if (process.getuid?.() === 0) {
    const { uid, gid } = await run('id', ['-u', 'postgres']).then(async (u) => ({ uid: Number(u.stdout), gid: Number((await run('id', ['-g', 'postgres'])).stdout) }));
    chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  const port = await freePort();
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  const ctl = (...args: string[]) => asPostgres('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', ...args]);
  await ctl('-o', options, 'start');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async restart() {
      await ctl('-o', options, '-m', 'fast', 'restart');
    },
    async stop() {
      await ctl('-m', 'immediate', 'stop').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
