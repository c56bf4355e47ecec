// The config of the CLI processes of the roles suite: direct http only; a webhook receiver when TEST_WEBHOOK_URL is set.
import { directHttp } from '../../../plugins/direct-http/index.js';

const hook = process.env.TEST_WEBHOOK_URL;
export default {
  plugins: [directHttp()],
  builtinPlugins: [],
  webhooks: hook ? [{ url: hook, secret: process.env.TEST_WEBHOOK_SECRET ?? 'roles-secret' }] : [],
};
