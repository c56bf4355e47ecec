// The OpenAPI (3.0) schema of this plugin's `source_metadata`; the server documents File.source_metadata from it.

import { nullableSchema as nullable } from '../../src/plugin-api.js';

/** `source_metadata` of this plugin (component `DropboxSourceMetadata` of the server's OpenAPI document). */
export const SOURCE_METADATA_SCHEMA: Record<string, unknown> = {
  title: 'DropboxSourceMetadata',
  type: 'object',
  description: "A public Dropbox file link (Cloudglue's DropboxSourceMetadata fields where they fit, plus share_url/share_form).",
  required: ['source_type', 'dropbox_id'],
  properties: {
    source_type: { type: 'string', enum: ['dropbox'] },
    dropbox_id: { type: 'string', description: 'Share id (/scl/fi/<id>) or legacy share key (/s/<key>)' },
    name: nullable('string'),
    share_url: { type: 'string' },
    share_form: { type: 'string', enum: ['scl', 's'] },
  },
};
