// The contract case of this plugin (see test/plugins/contract.ts): sample URLs in its declared forms and its
// loopback stand-in. test/plugins/contract.test.ts discovers it by this file's path.
import type { PluginContractCase } from '../../../test/plugins/contract.js';
import { installTikTok, TIKTOK_HOSTS, TIKTOK_POSTS } from './site.js';
import { tiktok } from '../index.js';

const TT = TIKTOK_POSTS.universal.id;
const LM = '0f3c9a7e21b84d6c9e5a1b2c3d4e5f60';

export const contract: PluginContractCase = {
  plugin: tiktok,
  folder: 'plugins/tiktok',
  fixtures: 'plugins/tiktok/test/fixtures',
  canonical: `https://www.tiktok.com/@/video/${TT}`,
  sameItem: [
    `https://www.tiktok.com/@jane.doe_99/video/${TT}?is_from_webapp=1&_r=1`,
    `https://m.tiktok.com/@jane.doe_99/video/${TT}`,
    `https://tiktok.com/@jane.doe_99/video/${TT}`,
    `https://www.tiktok.com/@jane.doe_99/photo/${TT}`,
    `https://www.tiktok.com/embed/${TT}`,
    `https://www.tiktok.com/embed/v2/${TT}`,
    `https://www.tiktok.com/share/video/${TT}`,
    `https://m.tiktok.com/v/${TT}.html`,
    `https://www.tiktokv.com/share/video/${TT}`,
    `https://tiktokv.com/share/video/${TT}`,
  ],
  networkForms: ['https://vm.tiktok.com/ZMok12345/', 'https://vt.tiktok.com/ZSok67890/', 'https://www.tiktok.com/t/ZTok24680/'],
  refused: [
    { url: 'https://www.tiktok.com/@jane.doe_99', code: 'invalid_url' },
    { url: 'https://www.tiktok.com/tag/travel', code: 'invalid_url' },
  ],
  notMatched: [`https://v16-webapp-prime.tiktok.com/video/tos/x/${TT}/play.mp4`, 'https://v19.tiktokcdn.com/video/x.mp4', `https://www.loom.com/share/${LM}`],
  hosts: TIKTOK_HOSTS,
  install: installTikTok,
};
