// The config of the CLI processes of the roles suite: direct http only; a webhook receiver when TEST_WEBHOOK_URL is set.
// The plugin comes from dist/, like the CLI that loads this file (one copy of the plugin API and its IngestError).
import { directHttp } from '../../../dist/plugins/direct-http/index.js';

const hook = process.env.TEST_WEBHOOK_URL;
export default {
  plugins: [directHttp()],
  builtinPlugins: [],
  webhooks: hook ? [{ url: hook, secret: process.env.TEST_WEBHOOK_SECRET ?? 'roles-secret' }] : [],
};
