// The OpenAPI (3.0) schema of this plugin's `source_metadata`; the server documents File.source_metadata from it.

import { nullableSchema as nullable } from '../../src/plugin-api.js';

/** `source_metadata` of this plugin (component `TikTokSourceMetadata` of the server's OpenAPI document). */
export const SOURCE_METADATA_SCHEMA: Record<string, unknown> = {
  title: 'TikTokSourceMetadata',
  type: 'object',
  description: 'A TikTok post.',
  required: ['source_type', 'id'],
  properties: {
    source_type: { type: 'string', enum: ['tiktok'] },
    id: { type: 'string', description: 'Numeric post id' },
    author_unique_id: nullable('string', 'The @handle'),
    author_nickname: nullable('string'),
    author_id: nullable('string'),
    description: nullable('string', 'Caption'),
    create_time: nullable('string', 'ISO 8601', { format: 'date-time' }),
    duration_seconds: nullable('number'),
    width: nullable('number'),
    height: nullable('number'),
    cover_url: nullable('string'),
    music_title: nullable('string'),
    play_count: nullable('number'),
  },
};
