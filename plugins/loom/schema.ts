// The OpenAPI (3.0) schema of this plugin's `source_metadata`; the server documents File.source_metadata from it.

import { nullableSchema as nullable } from '../../src/plugin-api.js';

/** `source_metadata` of this plugin (component `LoomSourceMetadata` of the server's OpenAPI document). */
export const SOURCE_METADATA_SCHEMA: Record<string, unknown> = {
  title: 'LoomSourceMetadata',
  type: 'object',
  description: 'A Loom share.',
  required: ['source_type', 'loom_id'],
  properties: {
    source_type: { type: 'string', enum: ['loom'] },
    loom_id: { type: 'string' },
    title: nullable('string'),
    description: nullable('string'),
    owner_name: nullable('string'),
    created_at: nullable('string', 'ISO 8601'),
    duration_seconds: nullable('number'),
    width: nullable('number'),
    height: nullable('number'),
  },
};
