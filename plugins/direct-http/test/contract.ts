// The contract case of this plugin (see test/plugins/contract.ts): sample URLs in its declared forms and its
// loopback stand-in. test/plugins/contract.test.ts discovers it by this file's path.
import type { PluginContractCase } from '../../../test/plugins/contract.js';
import { serveFile } from '../../../test/support/fixture-server.js';
import { mediaPath } from '../../../test/support/media.js';
import { directHttp } from '../index.js';


export const contract: PluginContractCase = {
  plugin: directHttp,
  folder: 'plugins/direct-http',
  fixtures: 'fixtures/media',
  canonical: 'https://media.example.test/clips/sample.mp4',
  sameItem: [
    'https://MEDIA.example.test/clips/sample.mp4',
    'https://media.example.test:443/clips/sample.mp4',
    'https://media.example.test/clips/sample.mp4#t=3',
  ],
  notMatched: ['ftp://media.example.test/clips/sample.mp4'],
  hosts: ['media.example.test'],
  install: (server) => server.route('GET', '/clips/sample.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4'))),
};
