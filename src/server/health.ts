/**
 * The HTTP face of a worker-role process (`media-ingest serve --role worker`): `GET /healthz` only, for load
 * balancers and orchestrators. A worker serves no API: requests go to API nodes; it runs their queued file runs.
 */
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Ingest } from '../engine/ingest.js';

/** Options of {@link createHealthServer}. */
export interface HealthServerOptions {
  /** The engine whose health is reported (the server never closes it). */
  ingest: Ingest;
  /** Request logger, or false for none. @default false */
  logger?: Logger | false;
}

/**
 * A Fastify instance answering `GET /healthz` with `{status: "ok", role, workload}` (`workload`: this process's
 * queued and running network and CPU work and file runs in flight, see {@link Ingest.workload}); any other route
 * answers 404 `{error, code: "not_found"}`.
 */
export function createHealthServer(options: HealthServerOptions): FastifyInstance {
  const { ingest } = options;
  const app = Fastify({ forceCloseConnections: true, ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : {}) });
  app.get('/healthz', async () => ({ status: 'ok', role: ingest.role, workload: ingest.workload() }));
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `Route ${request.method} ${request.url} not found (a worker serves /healthz only)`, code: 'not_found' }),
  );
  return app;
}
