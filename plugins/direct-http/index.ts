import { normalizeUrl } from '../../src/plugin-api.js';
import type { SourcePlugin } from '../../src/plugin-api.js';
import { SOURCE_METADATA_SCHEMA } from './schema.js';

/**
 * Direct http(s) media URLs: the catch-all source, listed last. Identity is the normalised URL itself;
 * provenance (final URL, ETag, Last-Modified, Content-Type) is filled from the media response by the engine.
 */
export function directHttp(): SourcePlugin {
  return {
    id: 'http',
    sourceMetadataSchema: SOURCE_METADATA_SCHEMA,
    description: 'Direct http(s) links to audio or video files',
    urlForms: ['https://example.com/path/video.mp4', 'http://example.com/audio.mp3?signed=...'],
    catchAll: true,
    matches: (url) => url.protocol === 'http:' || url.protocol === 'https:',
    identify: (url) => {
      const canonical = normalizeUrl(url);
      return { key: `http:${canonical}`, canonicalUrl: canonical };
    },
    resolve: async (url) => {
      const canonical = normalizeUrl(url);
      return { identity: { key: `http:${canonical}`, canonicalUrl: canonical }, download: { url: url.href } };
    },
  };
}
