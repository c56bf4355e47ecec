/**
 * The default configuration of media-ingest, loaded at run time (pick another with --config PATH or
 * MEDIA_INGEST_CONFIG). Every option has a default; see `IngestConfig` for all of them.
 * Adding a source: one folder under plugins/ and one line in `plugins` below.
 */
import { defineConfig } from './src/config/define-config.js';
import { dropbox } from './plugins/dropbox/index.js';
import { loom } from './plugins/loom/index.js';
import { tiktok } from './plugins/tiktok/index.js';
import { directHttp } from './plugins/direct-http/index.js';

export default defineConfig({
  plugins: [
    dropbox(),
    loom(),
    tiktok(),
    directHttp(), // catch-all for direct http(s) media URLs: keep it last
  ],
});
