/**
 * The query-string schemas of the `/v1/files` routes: Fastify validates requests with them (coercing strings), and
 * the OpenAPI document's query parameters are generated from them ({@link queryParameters}), so the two cannot drift.
 */
import { FILE_STATUSES } from '../ports/file-records.js';

type Schema = Record<string, unknown>;

const page = (what: string) => ({
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 50, description: `Number of ${what} to return` },
  offset: { type: 'integer', minimum: 0, default: 0, description: `Number of ${what} to skip` },
}) as const;

const dateBound = (relation: string) => ({
  type: 'string', minLength: 1,
  description: `Files created ${relation} this date: YYYY-MM-DD (UTC), an ISO 8601 timestamp, or Unix milliseconds`,
}) as const;

/** `GET /v1/files`. */
export const LIST_QUERY = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: [...FILE_STATUSES], description: 'Only files with this status' },
    created_before: dateBound('before'),
    created_after: dateBound('after'),
    ...page('files'),
    order: { type: 'string', enum: ['created_at', 'filename'], default: 'created_at', description: 'Sort key' },
    sort: { type: 'string', enum: ['asc', 'desc'], default: 'desc', description: 'Sort direction' },
  },
} as const;

/** `GET /v1/files/{file_id}/thumbnails`. */
export const THUMBNAIL_QUERY = {
  type: 'object',
  properties: {
    is_default: { type: 'boolean', description: 'Only the default thumbnail (true) or only the others (false)' },
    type: { type: 'string', pattern: '^\\s*[a-z]+(\\s*,\\s*[a-z]+)*\\s*$', description: "'file' or 'segment' (comma-separated for several)" },
    ...page('thumbnails'),
  },
} as const;

/** `GET /v1/files/{file_id}/segments`. */
export const SEGMENT_QUERY = { type: 'object', properties: page('segments') } as const;

/** OpenAPI 3.0 query parameters from a route's querystring schema (descriptions move from the schema to the parameter). */
export function queryParameters(querystring: { properties: Record<string, Schema>; required?: readonly string[] }): Schema[] {
  return Object.entries(querystring.properties).map(([name, property]) => {
    const { description, ...schema } = property as Schema & { description?: string };
    return {
      name, in: 'query', required: querystring.required?.includes(name) ?? false,
      ...(description ? { description } : {}), schema,
    };
  });
}
