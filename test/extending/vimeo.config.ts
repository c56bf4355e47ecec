// A user's config that adds one plugin: one line. The built-ins come after it without being listed.
import { defineConfig } from '../../src/config/define-config.js';
import { vimeo } from './vimeo-plugin.js';

export default defineConfig({ plugins: [vimeo()] });
