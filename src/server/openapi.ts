/**
 * This server's OpenAPI 3.0 document (served at `GET /openapi.json`): the Cloudglue Files subset it mirrors
 * under `/v1`, plus media-ingest's extras (thumbnail images, Server-Sent Events, health). Built in code so the
 * server never reads the reference spec at run time.
 */
import { componentSchemas } from './openapi-schemas.js';
import { LIST_QUERY, SEGMENT_QUERY, THUMBNAIL_QUERY, queryParameters } from './route-schemas.js';
import type { DocumentedSource } from './openapi-schemas.js';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description: string): Json => ({ description, content: { 'application/json': { schema } } });
const errors = (...statuses: number[]): Record<string, Json> =>
  Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }]));
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (invalid_request) or a refused URL (invalid_url, blocked_address, file_too_large, ...)',
  401: 'Missing or wrong bearer key (unauthorized)',
  403: 'The source refused access (source_forbidden)',
  404: 'No such file (not_found) or the source says the media does not exist (source_not_found)',
  413: 'Request body too large (invalid_request)',
  415: 'Not audio or video (unsupported_media_type, media_corrupt), or a request body that is not JSON (invalid_request)',
  500: 'Unexpected error (internal)',
  502: 'The source failed or blocked us (upstream_error, upstream_blocked)',
  504: 'A deadline passed (timeout)',
};

const fileId: Json = { name: 'file_id', in: 'path', required: true, description: 'The file id', schema: { type: 'string', format: 'uuid' } };
const PATHS: Json = {
  '/v1/files/sync': {
    post: {
      tags: ['Files'], operationId: 'syncFileFromUrl', summary: 'Sync a public URL into a file',
      description: 'Validates the URL, resolves it and opens the media response before answering. Idempotent: the same URL returns the existing file unchanged (a failed file restarts under the same id).',
      requestBody: { required: true, content: { 'application/json': { schema: ref('FileSync') } } },
      responses: { 200: json(ref('File'), 'The new or existing file'), ...errors(400, 401, 403, 404, 413, 415, 500, 502, 504) },
    },
  },
  '/v1/files': {
    get: {
      tags: ['Files'], operationId: 'listFiles', summary: 'List files',
      parameters: queryParameters(LIST_QUERY),
      responses: { 200: json(ref('FileList'), 'A page of files'), ...errors(400, 401, 500) },
    },
  },
  '/v1/files/{file_id}': {
    get: {
      tags: ['Files'], operationId: 'getFile', summary: 'Retrieve a file', parameters: [fileId],
      responses: { 200: json(ref('File'), 'The file'), ...errors(401, 404, 500) },
    },
    put: {
      tags: ['Files'], operationId: 'updateFile', summary: 'Update metadata and/or filename', parameters: [fileId],
      requestBody: { required: true, content: { 'application/json': { schema: ref('FileUpdate') } } },
      responses: { 200: json(ref('File'), 'The updated file'), ...errors(400, 401, 404, 413, 415, 500) },
    },
    delete: {
      tags: ['Files'], operationId: 'deleteFile', summary: 'Delete a file, its thumbnails and (when unshared) its bytes', parameters: [fileId],
      responses: { 200: json(ref('FileDelete'), 'Deleted'), ...errors(401, 404, 500) },
    },
  },
  '/v1/files/{file_id}/thumbnails': {
    get: {
      tags: ['Files', 'Thumbnails'], operationId: 'getThumbnails', summary: "List a file's thumbnails",
      parameters: [fileId, ...queryParameters(THUMBNAIL_QUERY)],
      responses: { 200: json(ref('ThumbnailList'), 'A page of thumbnails'), ...errors(400, 401, 404, 500) },
    },
  },
  '/v1/files/{file_id}/thumbnails/{thumbnail_file}': {
    get: {
      tags: ['Thumbnails'], operationId: 'getThumbnailImage', summary: 'A thumbnail image (the target of thumbnail_url and Thumbnail.url)',
      description: 'Needs the bearer key unless the server runs with publicThumbnails (the URL then acts as a capability).',
      parameters: [
        fileId,
        { name: 'thumbnail_file', in: 'path', required: true, description: '<thumbnail id>.jpg or <thumbnail id>.webp', schema: { type: 'string', pattern: '^[0-9a-fA-F-]{36}\\.(jpg|webp)$' } },
      ],
      responses: {
        200: {
          description: 'The image; immutable, cached for a year',
          content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } }, 'image/webp': { schema: { type: 'string', format: 'binary' } } },
        },
        304: { description: 'Not modified (If-None-Match matched the ETag)' },
        ...errors(401, 404),
      },
    },
  },
  '/v1/files/{file_id}/segments': {
    get: {
      tags: ['Files', 'File Segments'], operationId: 'listFileSegments', summary: "List a file's uniform segments",
      parameters: [fileId, ...queryParameters(SEGMENT_QUERY)],
      responses: { 200: json(ref('FileSegmentListResponse'), 'A page of segments'), ...errors(400, 401, 404, 500) },
    },
  },
  '/v1/files/{file_id}/events': {
    get: {
      tags: ['Files'], operationId: 'streamFileEvents', summary: "Server-Sent Events of a file's status and download progress",
      description:
        'First a `file` event with the current File, then `file.processing`, `file.progress`, `file.completed`, ' +
        '`file.failed` or `file.deleted` events (each `data` is the File as JSON). The stream closes after a terminal ' +
        'event (completed, failed, deleted), or right after the first event when the file is already terminal. ' +
        'Comment lines (`: ping`) are sent as heartbeats.',
      parameters: [fileId],
      responses: { 200: { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...errors(401, 404) },
    },
  },
  '/openapi.json': {
    get: { tags: ['Meta'], operationId: 'getOpenApi', summary: 'This document', responses: { 200: json({ type: 'object' }, 'OpenAPI 3.0 document'), ...errors(401) } },
  },
  '/healthz': {
    get: { tags: ['Meta'], operationId: 'health', summary: 'Liveness (no auth)', security: [], responses: { 200: json(ref('Health'), 'Alive') } },
  },
  '/metrics': {
    get: {
      tags: ['Meta'], operationId: 'metrics', summary: 'Prometheus metrics',
      description: 'Prometheus text exposition format (prom-client): files by status, syncs accepted/refused, bytes downloaded, stage durations, queues, retries, upstream status classes. Behind the bearer key unless configured public (`metricsEndpoint.public`); absent when disabled.',
      responses: { 200: { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors(401, 500) },
    },
  },
};

/** Options of {@link buildOpenApiDocument}. */
export interface OpenApiOptions {
  /** `servers[0].url`: where the paths are mounted (the plugin prefix). @default '/' */
  serverUrl?: string;
  /** `info.version`. @default '0.1.0' */
  version?: string;
  /** The registered source plugins: each one's declared `source_metadata` schema is documented. @default [] */
  sources?: readonly DocumentedSource[];
}

/** Builds the OpenAPI 3.0 document of the media-ingest HTTP API. Returns a fresh object each call. */
export function buildOpenApiDocument(options: OpenApiOptions = {}): Json {
  const responses = Object.fromEntries(
    Object.entries(ERROR_DESCRIPTIONS).map(([status, description]) => [`Error${status}`, json(ref('Error'), description)]),
  );
  return structuredClone({
    openapi: '3.0.3',
    info: {
      title: 'media-ingest API',
      description:
        'Turns public media URLs into stored, probed, thumbnailed file records. Cloudglue Files API compatible under /v1 ' +
        '(Cloudglue v0.7.12 subset, Apache-2.0) with documented extras: File.url, canonical_url, content_sha256, updated_at, ' +
        'error, progress; tiktok (and plugin-defined) sources and their source_metadata; Thumbnail.is_default/width/height; ' +
        'FileSegment.index; the error body {error, code}.',
      license: { name: 'Apache License 2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
      version: options.version ?? '0.1.0',
    },
    servers: [{ url: options.serverUrl || '/' }],
    security: [{ bearerAuth: [] }],
    paths: PATHS,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'One of MEDIA_INGEST_API_KEYS' } },
      responses,
      schemas: componentSchemas(options.sources ?? []),
    },
  });
}
