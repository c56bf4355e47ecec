/**
 * The Cloudglue-compatible `/v1/files` routes. Query strings are validated by Fastify JSON schemas (with the
 * usual string → number/boolean coercion); bodies are checked here without coercion, so `{"url": 5}` is a 400
 * rather than the URL "5". Everything past the shape checks is the engine's job (it throws IngestErrors).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ViewContext } from '../engine/file-queries.js';
import { IngestError } from '../errors.js';
import { LIST_QUERY, SEGMENT_QUERY, THUMBNAIL_QUERY } from './route-schemas.js';
import type { Ingest } from '../engine/ingest.js';
import type { EventStreams } from './sse.js';
import { FileJsonCache } from './file-json-cache.js';

type Params = { file_id: string };
type Body = Record<string, unknown>;

const IMAGE_TYPES: Record<string, string> = { jpg: 'image/jpeg', webp: 'image/webp' };
/**
 * Thumbnail ids are UUIDs that never change content: cache for a year. Behind auth only the caller's own cache may
 * keep them (`private`: no shared proxy or CDN serves them to someone without the key); `public` only when the
 * server runs with `publicThumbnails` (the URL is then the capability).
 */
const IMMUTABLE_PUBLIC = 'public, max-age=31536000, immutable';
const IMMUTABLE_PRIVATE = 'private, max-age=31536000, immutable';

function objectBody(body: unknown): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new IngestError('invalid_request', 'The request body must be a JSON object');
  }
  return body as Body;
}

function optionalObject(body: Body, name: string): Record<string, unknown> | null | undefined {
  const value = body[name];
  if (value === undefined || value === null) return value;
  if (typeof value !== 'object' || Array.isArray(value)) throw new IngestError('invalid_request', `${name} must be a JSON object or null`);
  return value as Record<string, unknown>;
}

/** Options of {@link registerFileRoutes}. */
export interface FileRouteOptions {
  /** Event-stream heartbeat interval, ms. */
  heartbeatMs: number;
  /** Thumbnail images skip authentication. */
  publicThumbnails: boolean;
  /** Serve `GET /v1/files/{id}` from a {@link FileJsonCache} (see `MediaIngestApiOptions.cacheFileJson`). */
  cacheFileJson: boolean;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Registers the `/v1/files` routes on `app` (inside the plugin's context, so its auth and error handling apply). */
export function registerFileRoutes(app: FastifyInstance, ingest: Ingest, streams: EventStreams, options: FileRouteOptions): void {
  const { heartbeatMs, publicThumbnails } = options;
  // Engines without a publicBaseUrl give thumbnail URLs as paths: the views are built for this request's origin.
  const view = (request: FastifyRequest): ViewContext =>
    ingest.config.publicBaseUrl ? {} : { baseUrl: `${request.protocol}://${request.headers.host ?? 'localhost'}${app.prefix}` };
  const cache = options.cacheFileJson ? new FileJsonCache(() => ingest.changeVersion()) : undefined;
  app.post('/v1/files/sync', async (request, reply) => {
    const body = objectBody(request.body);
    if (typeof body.url !== 'string' || body.url.trim() === '') throw new IngestError('invalid_request', 'url is required and must be a string');
    const metadata = optionalObject(body, 'metadata');
    const segments = body.enable_segment_thumbnails;
    if (segments !== undefined && typeof segments !== 'boolean') throw new IngestError('invalid_request', 'enable_segment_thumbnails must be a boolean');
    const context = view(request);
    const sync = () => ingest.sync(body.url as string, {
      ...(metadata !== undefined ? { metadata } : {}),
      ...(segments !== undefined ? { enableSegmentThumbnails: segments } : {}),
      wait: false,
      ...context,
    });
    // Metadata is validated per request (it may be refused); otherwise a re-sync of a completed file answers its
    // row unchanged until the registry changes: the same bytes, kept like a GET's, and counted as accepted.
    if (!cache || metadata !== undefined || body.url.length > ingest.config.limits.maxUrlLength) return sync();
    const answer = await cache.answer(`sync\n${String(segments)}\n${body.url}`, context.baseUrl ?? '', async () => {
      const file = await sync();
      return { json: reply.serialize(file) as string, keep: file.status === 'completed', extra: file.source };
    });
    if (answer.hit) ingest.countAcceptedSync(answer.extra!);
    return reply.header('content-type', JSON_TYPE).send(answer.json);
  });

  app.get<{ Querystring: Record<string, string | number | undefined> }>('/v1/files', { schema: { querystring: LIST_QUERY } }, async (request) =>
    ingest.list(request.query, view(request)),
  );

  app.get<{ Params: Params }>('/v1/files/:file_id', async (request, reply) => {
    const id = request.params.file_id;
    if (!cache) return ingest.get(id, view(request));
    const context = view(request);
    // The bytes Fastify would send for the object: its serializer, its JSON content type.
    const json = await cache.json(id, context.baseUrl ?? '', async () => reply.serialize(await ingest.get(id, context)) as string);
    return reply.header('content-type', JSON_TYPE).send(json);
  });

  app.put<{ Params: Params }>('/v1/files/:file_id', async (request) => {
    const body = objectBody(request.body);
    const metadata = optionalObject(body, 'metadata');
    if (body.filename !== undefined && typeof body.filename !== 'string') throw new IngestError('invalid_request', 'filename must be a string');
    return ingest.update(request.params.file_id, {
      ...(metadata !== undefined ? { metadata } : {}),
      ...(body.filename !== undefined ? { filename: body.filename } : {}),
    }, view(request));
  });

  app.delete<{ Params: Params }>('/v1/files/:file_id', async (request) => ingest.delete(request.params.file_id));

  app.get<{ Params: Params; Querystring: { limit?: number; offset?: number; type?: string; is_default?: boolean } }>(
    '/v1/files/:file_id/thumbnails',
    { schema: { querystring: THUMBNAIL_QUERY } },
    async (request) => {
      const { is_default: isDefault, ...rest } = request.query;
      return ingest.thumbnails(request.params.file_id, { ...rest, ...(isDefault !== undefined ? { isDefault } : {}) }, view(request));
    },
  );

  app.get<{ Params: Params & { thumbnail_file: string } }>('/v1/files/:file_id/thumbnails/:thumbnail_file', { config: { public: publicThumbnails } }, async (request, reply) => {
    const match = /^([0-9a-fA-F-]{36})\.(jpg|webp)$/.exec(request.params.thumbnail_file);
    const notFound = (): IngestError => new IngestError('not_found', `No thumbnail image ${request.params.thumbnail_file}`);
    if (!match) throw notFound();
    const [, thumbnailId, extension] = match as unknown as [string, string, string];
    const image = await ingest.thumbnailImage(request.params.file_id, thumbnailId);
    if (image.format !== extension) {
      image.body.destroy();
      throw notFound();
    }
    const etag = `"${thumbnailId}"`;
    reply.header('cache-control', publicThumbnails ? IMMUTABLE_PUBLIC : IMMUTABLE_PRIVATE).header('etag', etag);
    if (request.headers['if-none-match'] === etag) {
      image.body.destroy();
      return reply.code(304).send();
    }
    reply.header('content-type', IMAGE_TYPES[extension]!).header('content-length', image.bytes);
    return reply.send(image.body);
  });

  app.get<{ Params: Params; Querystring: { limit?: number; offset?: number } }>(
    '/v1/files/:file_id/segments',
    { schema: { querystring: SEGMENT_QUERY } },
    async (request) => ingest.segments(request.params.file_id, request.query, view(request)),
  );

  app.get<{ Params: Params }>('/v1/files/:file_id/events', async (request, reply) => {
    await streams.stream(ingest, request.params.file_id, reply, heartbeatMs);
    return reply;
  });
}
