/**
 * A configuration that registers the third-party example plugin before the built-in sources. Load it with
 * `media-ingest --config examples/third-party-plugin/pipeline.config.ts ...`, `MEDIA_INGEST_CONFIG=...` or
 * `createIngest({ configFile: 'examples/third-party-plugin/pipeline.config.ts' })`.
 *
 * `plugins` replaces the default list, so the built-ins are listed again; order is match order (the first plugin
 * whose `matches` accepts a URL handles it) and the direct-http catch-all stays last. In this repository the
 * built-ins and `defineConfig` are imported by relative path; a project using the published package imports
 * `defineConfig` from 'media-ingest'.
 */
import { defineConfig } from '../../src/config/define-config.js';
import { dropbox } from '../../plugins/dropbox/index.js';
import { loom } from '../../plugins/loom/index.js';
import { tiktok } from '../../plugins/tiktok/index.js';
import { directHttp } from '../../plugins/direct-http/index.js';
import { exampleVod } from './index.js';

export default defineConfig({
  plugins: [
    exampleVod(),
    dropbox(),
    loom(),
    tiktok(),
    directHttp(), // catch-all for direct http(s) media URLs: keep it last
  ],
});
