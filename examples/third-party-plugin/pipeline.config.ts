/**
 * A configuration that adds the third-party example plugin: one line. Load it with
 * `media-ingest --config examples/third-party-plugin/pipeline.config.ts ...`, `MEDIA_INGEST_CONFIG=...` or
 * `createIngest({ configFile: 'examples/third-party-plugin/pipeline.config.ts' })`.
 *
 * Your `plugins` are tried before the built-ins (Dropbox, Loom, TikTok), and the direct-http catch-all stays last,
 * without listing any of them. In this repository `defineConfig` is imported by relative path; a project using the
 * published package imports it from 'media-ingest'.
 */
import { defineConfig } from '../../src/config/define-config.js';
import { exampleVod } from './index.js';

export default defineConfig({ plugins: [exampleVod()] });
