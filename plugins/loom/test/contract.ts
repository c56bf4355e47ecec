// The contract case of this plugin (see test/plugins/contract.ts): sample URLs in its declared forms and its
// loopback stand-in. test/plugins/contract.test.ts discovers it by this file's path.
import type { PluginContractCase } from '../../../test/plugins/contract.js';
import { installLoom, LOOM_HOSTS, LOOM_VIDEOS } from './site.js';
import { loom } from '../index.js';

const LM = LOOM_VIDEOS.ok.id;

export const contract: PluginContractCase = {
  plugin: loom,
  folder: 'plugins/loom',
  fixtures: 'plugins/loom/test/fixtures',
  canonical: `https://www.loom.com/share/${LM}`,
  sameItem: [
    `https://loom.com/share/${LM}`,
    `https://www.loom.com/share/${LM}?sid=8d2b1e7c-3f40-4a55-9d0e-2c6b7a1f0e99`,
    `https://www.loom.com/share/Q3-roadmap-walkthrough-${LM}`,
    `https://www.loom.com/embed/${LM}`,
  ],
  refused: [
    { url: 'https://www.loom.com/share/folder/0123456789abcdef0123456789abcdef', code: 'folder_not_supported' },
    { url: 'https://www.loom.com/pricing', code: 'invalid_url' },
  ],
  notMatched: [`https://cdn.loom.com/sessions/transcoded/${LM}.mp4`],
  hosts: LOOM_HOSTS,
  install: installLoom,
};
