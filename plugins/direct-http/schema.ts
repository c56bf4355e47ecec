// The OpenAPI (3.0) schema of this plugin's `source_metadata`; the server documents File.source_metadata from it.

import { nullableSchema as nullable } from '../../src/plugin-api.js';

/** `source_metadata` of this plugin (component `HttpSourceMetadata` of the server's OpenAPI document). */
export const SOURCE_METADATA_SCHEMA: Record<string, unknown> = {
  title: 'HttpSourceMetadata',
  type: 'object',
  description: 'A direct http(s) media URL: what the final response said.',
  required: ['source_type', 'final_url'],
  properties: {
    source_type: { type: 'string', enum: ['http'] },
    final_url: { type: 'string', description: 'URL after redirects' },
    etag: nullable('string'),
    last_modified: nullable('string'),
    content_type: nullable('string'),
  },
};
