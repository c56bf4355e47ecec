/**
 * The default configuration of media-ingest, loaded at run time (pick another with --config PATH or
 * MEDIA_INGEST_CONFIG). Every option has a default; see `IngestConfig` for all of them.
 *
 * Adding a built-in source: one folder under plugins/ and one line in `builtinPlugins()` below. Every config gets
 * these built-ins after its own `plugins` (unless it sets `builtinPlugins` itself).
 */
import { defineConfig } from './src/config/define-config.js';
import type { SourcePlugin } from './src/plugin-api.js';
import { dropbox } from './plugins/dropbox/index.js';
import { loom } from './plugins/loom/index.js';
import { tiktok } from './plugins/tiktok/index.js';
import { directHttp } from './plugins/direct-http/index.js';

/** The built-in source plugins, in match order (direct http is the catch-all, tried last wherever it is listed). */
export function builtinPlugins(): SourcePlugin[] {
  return [
    dropbox(),
    loom(),
    tiktok(),
    directHttp(),
  ];
}

export default defineConfig({
  plugins: [], // your own plugins: tried before the built-ins
});
