/**
 * The HTTP API of media-ingest, for `media-ingest serve` and for backends that embed it:
 * - {@link mediaIngestApi}: a Fastify plugin to register under your own prefix, with your own auth hook;
 * - {@link createServer}: a ready-made Fastify instance (logger, webhooks, `{error, code}` everywhere);
 * - {@link createRequestHandler}: a plain Node `(req, res)` handler for any other HTTP framework.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Ingest } from '../engine/ingest.js';
import { createLogger } from '../logging.js';
import { mediaIngestApi } from './app.js';
import { lazyChildLogger } from './request-logger.js';
import type { MediaIngestApiOptions } from './app.js';
import type { AuthHook } from './auth.js';
import { WebhookDispatcher } from './webhooks.js';
import { QueuedWebhookDispatcher } from './queued-webhooks.js';
import type { WebhookDispatcherOptions } from './webhooks.js';

export { mediaIngestApi } from './app.js';
export type { MediaIngestApiOptions } from './app.js';
export type { AuthHook } from './auth.js';
export { buildOpenApiDocument } from './openapi.js';
export type { OpenApiOptions } from './openapi.js';
export { errorReply } from './http-errors.js';
export type { ErrorBody, ErrorReply } from './http-errors.js';
export { createHealthServer } from './health.js';
export type { HealthServerOptions } from './health.js';
export { WebhookDispatcher, signWebhook, verifyWebhook } from './webhooks.js';
export { QueuedWebhookDispatcher, deliveryIdOf } from './queued-webhooks.js';
export type { WebhookDelivery, WebhookDispatcherOptions, WebhookEventType, WebhookRetryPolicy } from './webhooks.js';

/** Options of {@link createServer} and {@link createRequestHandler}. */
export interface CreateServerOptions {
  /** The engine to serve. The server never closes it: close it after the server. */
  ingest: Ingest;
  /** Bearer keys. @default ingest.config.apiKeys (env MEDIA_INGEST_API_KEYS) */
  apiKeys?: readonly string[];
  /** Extra access check, see {@link MediaIngestApiOptions.auth}. */
  auth?: AuthHook;
  /** Serve without authentication when there are no keys and no hook. @default false (refuse to build) */
  allowUnauthenticated?: boolean;
  /** Request logger: a pino logger, or false for none. @default pino at ingest.config.logLevel on stderr */
  logger?: Logger | false;
  /** See {@link MediaIngestApiOptions.cacheFileJson}. @default true (set false before adding preSerialization hooks) */
  cacheFileJson?: boolean;
  /** Where the API is mounted. @default '' (at the root) */
  prefix?: string;
  /**
   * Webhook deliveries to ingest.config.webhooks: false to disable, or dispatcher options. In cluster mode they go
   * through the cluster's webhook queue ({@link QueuedWebhookDispatcher}: once per event across API nodes, retries
   * kept in Redis, 10 attempts unless `retry.attempts` is set). @default true
   */
  webhooks?: boolean | WebhookDispatcherOptions;
  /** Largest JSON body, bytes. @default 1048576 */
  bodyLimit?: number;
  /** Event-stream heartbeat interval, ms. @default 15000 */
  heartbeatMs?: number;
  /** Serve thumbnail images without auth, see {@link MediaIngestApiOptions.publicThumbnails}. @default false */
  publicThumbnails?: boolean;
  /** `GET /metrics`, see {@link MediaIngestApiOptions.metrics}. @default from `ingest.config.metricsEndpoint` */
  metrics?: boolean | 'public';
  /** Serve the web console at `<prefix>/console/`, see {@link MediaIngestApiOptions.console}. @default true */
  console?: boolean;
}

/** A Node request handler serving the API, with its Fastify instance and lifecycle. */
export interface MediaIngestRequestHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The Fastify instance behind it. */
  readonly app: FastifyInstance;
  /** Resolves once routes are ready (requests arriving earlier wait for it). */
  ready(): Promise<void>;
  /** Ends event streams, stops webhooks, closes the Fastify instance (not the engine). */
  close(): Promise<void>;
}

const notFoundBody = (method: string, url: string): { error: string; code: 'not_found' } => ({
  error: `Route ${method} ${url} not found`, code: 'not_found',
});

/** The API's own routes: the `/v1` tree and the single-segment meta routes (not the console's `/console/`). */
const API_PATH = /^\/+(v1\/.+|healthz|metrics|openapi\.json)\/+$/;

/**
 * `/v1/files/` → `/v1/files` (query kept): a trailing slash on an API route names the route itself. Limited to the
 * API's paths under `prefix`, where no route ends in a slash (Fastify's `ignoreTrailingSlash` would also merge the
 * console's `/console` redirect with its `/console/` page).
 */
function apiTrailingSlash(url: string, prefix: string): string {
  const queryAt = url.indexOf('?');
  // Nothing to rewrite unless the path ends in a slash (the common case: no regex, no copy).
  if (url.charCodeAt((queryAt === -1 ? url.length : queryAt) - 1) !== 0x2f) return url;
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const rest = path.replace(/^\/+/, '/');
  if (prefix && !rest.startsWith(`${prefix}/`)) return url;
  const inside = prefix ? rest.slice(prefix.length) : rest;
  if (!API_PATH.test(inside)) return url;
  return `${path.replace(/\/+$/, '')}${queryAt === -1 ? '' : url.slice(queryAt)}`;
}

/**
 * A Fastify instance serving the API (call `listen` yourself, or use `media-ingest serve`). Webhooks start with it
 * and stop on `close()`.
 */
export function createServer(options: CreateServerOptions): FastifyInstance {
  const { ingest } = options;
  const logger = options.logger === false ? undefined : (options.logger ?? createLogger({
    level: ingest.config.logLevel,
    secrets: [...(options.apiKeys ?? []), ...ingest.config.apiKeys, ...ingest.config.webhooks.map((w) => w.secret)],
  }));
  const prefix = options.prefix?.replace(/\/$/, '') ?? '';
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    forceCloseConnections: 'idle',
    // What sloppy clients send: `//v1/files` is `/v1/files`, and so is `/v1/files/` (see apiTrailingSlash).
    routerOptions: { ignoreDuplicateSlashes: true },
    rewriteUrl: (request) => apiTrailingSlash(request.url ?? '/', prefix),
    ...(logger ? { loggerInstance: logger as FastifyBaseLogger, childLoggerFactory: lazyChildLogger } : {}),
    // Errors raised before routing (a malformed URL, a bad header): the same {error, code} body.
    frameworkErrors: (error, _request, reply) => {
      void (reply as FastifyReply).code(400).send({ error: error.message, code: 'invalid_request' });
    },
  });
  if (prefix) app.setNotFoundHandler((request, reply) => reply.code(404).send(notFoundBody(request.method, request.url)));
  void app.register(mediaIngestApi, {
    ingest,
    apiKeys: options.apiKeys ?? ingest.config.apiKeys,
    ...(options.auth ? { auth: options.auth } : {}),
    ...(options.allowUnauthenticated ? { allowUnauthenticated: true } : {}),
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.publicThumbnails ? { publicThumbnails: true } : {}),
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
    ...(options.console === false ? { console: false } : {}),
    cacheFileJson: options.cacheFileJson !== false,
    ...(prefix ? { prefix } : {}),
  });
  if (options.webhooks !== false) {
    const dispatcherOptions = { ...(logger ? { logger: logger.child({ component: 'webhooks' }) } : {}), ...(typeof options.webhooks === 'object' ? options.webhooks : {}) };
    if (ingest.config.cluster) {
      // Cluster mode: deliveries go through the cluster's webhook queue, once per event across API nodes.
      const dispatcher = new QueuedWebhookDispatcher(ingest, dispatcherOptions);
      void app.register(async () => dispatcher.start());
      app.addHook('onClose', async () => dispatcher.close());
    } else {
      const dispatcher = new WebhookDispatcher(ingest, dispatcherOptions);
      app.addHook('onClose', async () => dispatcher.close());
    }
  }
  return app;
}

/**
 * The API as a plain Node `(req, res)` handler, for Express, Koa, a bare `http.createServer`, etc. The request
 * URL must still carry `prefix` (frameworks that strip their mount path, like Express's `app.use('/media', h)`,
 * need `prefix: ''`).
 */
export function createRequestHandler(options: CreateServerOptions): MediaIngestRequestHandler {
  const app = createServer(options);
  const ready = Promise.resolve(app.ready()).then(() => undefined);
  ready.catch(() => undefined);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    ready.then(
      () => app.routing(req, res),
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: `The media-ingest API failed to start: ${(error as Error).message}`, code: 'internal' }));
      },
    );
  };
  return Object.assign(handler, { app, ready: () => ready, close: () => app.close() });
}
