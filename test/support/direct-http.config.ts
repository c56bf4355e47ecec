// A config with only the direct-http plugin, for processes spawned by tests.
import { directHttp } from '../../plugins/direct-http/index.js';

export default { plugins: [directHttp()], builtinPlugins: [] };
