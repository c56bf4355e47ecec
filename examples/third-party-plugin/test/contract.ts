// The contract case of this plugin (see test/plugins/contract.ts): sample URLs in its declared forms and its
// loopback stand-in. test/plugins/contract.test.ts discovers it by this file's path.
import type { PluginContractCase } from '../../../test/plugins/contract.js';
import { EXAMPLE_VOD_HOSTS, installExampleVod } from './site.js';
import { exampleVod } from '../index.js';


export const contract: PluginContractCase = {
  plugin: exampleVod,
  folder: 'examples/third-party-plugin',
  fixtures: 'examples/third-party-plugin/test/fixtures',
  canonical: 'https://vod.example.test/watch/ev12345',
  sameItem: ['https://vod.example.test/embed/ev12345', 'https://www.vod.example.test/watch/ev12345/?autoplay=1', 'http://VOD.example.test/watch/ev12345'],
  refused: [{ url: 'https://vod.example.test/channels/ch-77', code: 'invalid_url' }],
  notMatched: ['https://vod-cdn.example.test/ev12345/240p.mp4'],
  hosts: EXAMPLE_VOD_HOSTS,
  install: installExampleVod,
};
