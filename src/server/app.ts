/**
 * `mediaIngestApi`: the HTTP API as a Fastify plugin. Register it under any prefix; it serves the contract's
 * `/v1` routes, `/openapi.json` and `/healthz` there, with bearer-key auth (or the host's own `auth` hook) and
 * `{"error", "code"}` bodies for every failure, Fastify's own included. It is encapsulated: its error handler,
 * 404 handler and auth hook do not leak into the host application.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyPluginOptions } from 'fastify';
import { IngestError } from '../errors.js';
import type { Ingest } from '../engine/ingest.js';
import { BearerKeys, accessRule } from './auth.js';
import type { AuthHook } from './auth.js';
import { errorReply } from './http-errors.js';
import { registerFileRoutes } from './file-routes.js';
import { buildOpenApiDocument } from './openapi.js';
import { EventStreams } from './sse.js';
import { ingestMetrics } from '../metrics/index.js';
import { registerConsole } from './console.js';

/** Options of {@link mediaIngestApi}. */
export interface MediaIngestApiOptions extends FastifyPluginOptions {
  /** The engine to serve. The plugin never closes it. */
  ingest: Ingest;
  /** Accepted `Authorization: Bearer <key>` keys. @default [] */
  apiKeys?: readonly string[];
  /**
   * The host's own check, run when the bearer key does not match (or none are configured). Resolve true to let
   * the request in; the host may read its own cookies, sessions or headers from the request.
   */
  auth?: AuthHook;
  /**
   * Serve without any authentication when neither `apiKeys` nor `auth` is given (e.g. the host authenticates in
   * its own hooks around the plugin). Without it, registering with no keys and no hook throws. @default false
   */
  allowUnauthenticated?: boolean;
  /**
   * Serve thumbnail images without authentication (their URLs hold two random UUIDs, so they work as capability
   * URLs, e.g. in `<img>` tags). @default false
   */
  publicThumbnails?: boolean;
  /** Heartbeat interval of event streams, ms. @default 15000 */
  heartbeatMs?: number;
  /** Install the plugin's `{error, code}` 404 handler for its prefix (turn off if the host has one there). @default true */
  notFoundHandler?: boolean;
  /**
   * `GET /metrics` (Prometheus text, see src/metrics): `true` behind the same auth as the API, `'public'` without
   * it, `false` not served. @default from the engine's config: `metricsEndpoint.enabled` / `.public`
   */
  metrics?: boolean | 'public';
  /**
   * Serve the web console at `<prefix>/console/` (static files, public; the data it shows needs the same key or
   * auth hook as the API). @default true
   */
  console?: boolean;
  /**
   * Answer `GET /v1/files/{id}` from a cache of its serialized JSON, emptied on any registry change (any process
   * on the data dir); engines whose registry cannot report changes (cluster mode) never cache. Leave it off when the
   * host adds `preSerialization` hooks or its own reply serializer to the plugin's routes (a cached body skips
   * them). @default false
   */
  cacheFileJson?: boolean;
}

/** Route config flag: no authentication (only `/healthz`). */
interface RouteConfig {
  public?: boolean;
}

async function plugin(app: FastifyInstance, options: MediaIngestApiOptions): Promise<void> {
  const { ingest, auth } = options;
  if (!ingest) throw new TypeError('mediaIngestApi: the `ingest` option is required');
  const keys = new BearerKeys(options.apiKeys ?? []);
  if (keys.size === 0 && !auth && options.allowUnauthenticated !== true) {
    throw new TypeError('mediaIngestApi: give apiKeys, an auth hook, or allowUnauthenticated: true');
  }
  const allowed = accessRule(keys, auth);
  const streams = new EventStreams();
  acceptSloppyJson(app);

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = errorReply(error);
    if ((error as { code?: unknown }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      body.error = `Unsupported Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}: send application/json`;
    }
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="media-ingest"');
    return reply.code(status).send(body);
  });
  if (options.notFoundHandler !== false) {
    app.setNotFoundHandler((request, reply) =>
      reply.code(404).send({ error: `Route ${request.method} ${request.url} not found`, code: 'not_found' }),
    );
  }
  const refused = (): IngestError => new IngestError('unauthorized', 'Missing or invalid bearer key');
  app.addHook('onRequest', (request, _reply, done) => {
    if ((request.routeOptions.config as RouteConfig | undefined)?.public) return done();
    const verdict = allowed(request);
    if (typeof verdict === 'boolean') return done(verdict ? undefined : refused());
    verdict.then((ok) => done(ok ? undefined : refused()), (error: unknown) => done(error as Error));
  });
  app.addHook('preClose', async () => streams.endAll());

  app.get('/healthz', { config: { public: true } satisfies RouteConfig }, async () => ({ status: 'ok' }));
  const metricsRoute = options.metrics ?? (ingest.config.metricsEndpoint?.enabled === false ? false : ingest.config.metricsEndpoint?.public ? 'public' : true);
  if (metricsRoute !== false) {
    // Attached now, so the counters count from the start, not from the first scrape.
    const metrics = ingestMetrics(ingest);
    app.get('/metrics', { config: { public: metricsRoute === 'public' } satisfies RouteConfig }, async (_request, reply) => {
      const text = await metrics.text();
      return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(text);
    });
  }
  const openapi = buildOpenApiDocument({ serverUrl: app.prefix || '/', sources: ingest.documentedSources() });
  app.get('/openapi.json', async () => openapi);
  if (options.console !== false) registerConsole(app);
  registerFileRoutes(app, ingest, streams, {
    heartbeatMs: options.heartbeatMs ?? 15_000, publicThumbnails: options.publicThumbnails === true, cacheFileJson: options.cacheFileJson === true,
  });
}

/** RFC 8259: JSON exchanged between systems is UTF-8. `utf8` is a common misspelling of it. */
const UTF8 = /^"?utf-?8"?$/i;

/**
 * JSON bodies the way clients actually send them: an empty (or blank) body with `Content-Type: application/json`
 * — what an HTTP client with default JSON headers sends on DELETE or a body-less POST — is no body, not a 400
 * (routes that need a body still say so); the media type matches in any case, with or without `charset=utf-8`;
 * another charset is a 415. Everything else is Fastify's own strict parser (prototype-poisoning keys refused).
 * Scoped to this plugin: the host's parsers are untouched.
 */
function acceptSloppyJson(app: FastifyInstance): void {
  const strict = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*([^;\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && !UTF8.test(charset)) {
      const error = Object.assign(new Error(`Unsupported charset ${JSON.stringify(charset)}: send JSON in UTF-8`), { statusCode: 415 });
      done(error, undefined);
      return;
    }
    if ((body as string).trim() === '') {
      done(null, undefined);
      return;
    }
    strict(request, body as string, done);
  });
}

/**
 * The media-ingest HTTP API as a Fastify plugin.
 *
 * @example
 * ```ts
 * await host.register(mediaIngestApi, { prefix: '/media', ingest, auth: (req) => req.headers['x-user'] === 'me' });
 * ```
 * Thumbnail URLs in responses are built from the engine's `publicBaseUrl` when it is set (include the prefix
 * there, e.g. `https://api.example.com/media`), else from the request's origin and the mount prefix.
 */
export const mediaIngestApi: FastifyPluginAsync<MediaIngestApiOptions> = plugin;

