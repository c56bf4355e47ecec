/**
 * `media-ingest serve [--host H] [--port P] [--no-auth] [--role all|api|worker]`: the HTTP API on one port. Prints
 * one JSON line `{"listening": "http://host:port", "role": R}` on stdout once ready; logs go to stderr.
 * Roles (cluster mode; embedded mode has only `all` and refuses the others with `invalid_request`, exit 2): `all`
 * serves the API and runs file runs; `api` serves the API and queues runs, never running one; `worker` runs queued
 * runs and serves only `GET /healthz`. Bearer keys come from config
 * `apiKeys` / env `MEDIA_INGEST_API_KEYS`; without keys it fails closed (every protected route answers
 * 401, `/healthz` stays open) unless `--no-auth` is given. SIGTERM/SIGINT shut down
 * gracefully: stop accepting, end event streams, finish requests in flight, stop webhooks, then close the engine
 * (files in flight go back to `pending` and resume on the next start); exit 0.
 */
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { IngestError, toIngestError } from '../../errors.js';
import { parseRole } from '../../config/roles.js';
import type { IngestRole } from '../../config/roles.js';
import type { Ingest } from '../../engine/ingest.js';
import { isUsageError, openEngine } from '../shared.js';
import type { GlobalFlags } from '../shared.js';
import { createHealthServer, createServer } from '../../server/index.js';
import type { FastifyInstance } from 'fastify';

/** Options of the `serve` command. */
interface ServeFlags {
  host: string;
  port: string;
  auth: boolean;
  role: string;
}

/** Longest graceful shutdown before the process exits anyway, ms. */
const SHUTDOWN_DEADLINE_MS = 20_000;

const printLine = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

function parsePort(text: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new IngestError('invalid_request', `--port must be 0-65535, not ${text}`);
  return port;
}

function listeningUrl(address: AddressInfo | string | null, host: string): string {
  if (!address || typeof address === 'string') return `http://${host}`;
  const shown = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  return `http://${shown}:${address.port}`;
}

/** Registers `serve` on the CLI. */
export function registerServeCommand(program: Command, flags: () => GlobalFlags): void {
  program
    .command('serve')
    .description('serve the HTTP API (Cloudglue-compatible under /v1); prints {"listening": URL}')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8080')
    .option('--no-auth', 'serve without bearer keys (development only)')
    .option('--role <role>', 'cluster role: all (API + runs), api (API, queues runs), worker (runs, /healthz only)', 'all')
    .action(async (opts: ServeFlags) => {
      await serve(flags(), opts);
    });
}

async function serve(flags: GlobalFlags, opts: ServeFlags): Promise<void> {
  let port: number;
  let role: IngestRole;
  try {
    port = parsePort(opts.port);
    role = parseRole(opts.role, '--role');
  } catch (error) {
    printLine(toIngestError(error).toJSON());
    process.exitCode = 2;
    return;
  }
  let ingest: Ingest | undefined;
  try {
    ingest = await openEngine(flags, { role });
    const engine = ingest;
    const app = role === 'worker' ? createHealthServer({ ingest: engine }) : apiServer(engine, opts);
    await app.listen({ host: opts.host, port });
    printLine({ listening: listeningUrl(app.server.address(), opts.host), role });

    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          app.log.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        stopping = true;
        app.log.info({ signal }, 'shutting down');
        setTimeout(() => {
          app.log.error('graceful shutdown took too long: exiting');
          process.exit(1);
        }, SHUTDOWN_DEADLINE_MS).unref();
        app
          .close()
          .catch((error: unknown) => app.log.error({ err: error }, 'server close failed'))
          .then(() => engine.close())
          .catch((error: unknown) => app.log.error({ err: error }, 'engine close failed'))
          .finally(() => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          });
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    process.exitCode = 0;
    // Nothing should be left running; if a stray handle remains, do not hang.
    setTimeout(() => process.exit(0), 2000).unref();
  } catch (error) {
    const failure = toIngestError(error);
    printLine(failure.toJSON());
    // A role embedded mode does not have, a malformed config: usage errors.
    process.exitCode = isUsageError(failure) ? 2 : 1;
    await ingest?.close().catch(() => undefined);
  }
}

/** The API server of the `all` and `api` roles. */
function apiServer(engine: Ingest, opts: ServeFlags): FastifyInstance {
  const noKeys = opts.auth && engine.config.apiKeys.filter((k) => k.trim()).length === 0;
  // No keys and no --no-auth: serve, but fail closed (every protected route answers 401; /healthz stays open).
  const app = noKeys
    ? createServer({ ingest: engine, auth: () => false })
    : createServer({ ingest: engine, allowUnauthenticated: !opts.auth });
  if (!opts.auth) app.log.warn('serving WITHOUT authentication (--no-auth)');
  if (noKeys) app.log.warn('no API keys configured (MEDIA_INGEST_API_KEYS): every /v1 route answers 401 until keys are set, or pass --no-auth');
  return app;
}
