// The contract case of every plugin: its folder, fixtures, sample URLs in its declared forms and its loopback
// stand-in. A plugin registered in pipeline.config.ts without a case here fails contract.test.ts.
import { serveFile } from '../support/fixture-server.js';
import { mediaPath } from '../support/media.js';
import type { PluginContractCase } from './contract.js';
import { DROPBOX_CONTENT_HOST, DROPBOX_HOSTS, DROPBOX_SHARES, installDropbox } from './support/dropbox-site.js';
import { EXAMPLE_VOD_HOSTS, installExampleVod } from './support/example-vod-site.js';
import { installLoom, LOOM_HOSTS, LOOM_VIDEOS } from './support/loom-site.js';
import { installTikTok, TIKTOK_HOSTS, TIKTOK_POSTS } from './support/tiktok-site.js';

const TT = TIKTOK_POSTS.universal.id;
const DB = DROPBOX_SHARES.video;
const DB_PATH = `https://www.dropbox.com/scl/fi/${DB.id}/Team%20demo.mp4`;
const LM = LOOM_VIDEOS.ok.id;

/** Fixture folders that are not `fixtures/<id>/`. */
export const FIXTURE_DIRS: Record<string, string> = { http: 'fixtures/media', 'example-vod': 'fixtures/third-party' };

export const CONTRACT_CASES: Record<string, PluginContractCase> = {
  tiktok: {
    folder: 'plugins/tiktok',
    fixtures: 'fixtures/tiktok',
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
  },
  dropbox: {
    folder: 'plugins/dropbox',
    fixtures: 'fixtures/dropbox',
    canonical: `${DB_PATH}?rlkey=${DB.rlkey}`,
    sameItem: [
      `${DB_PATH}?rlkey=${DB.rlkey}&st=x1y2z3w4&dl=0`,
      `${DB_PATH}?dl=1&rlkey=${DB.rlkey}`,
      `${DB_PATH}?rlkey=${DB.rlkey}&raw=1`,
      `https://www.dropbox.com/e/scl/fi/${DB.id}/Team%20demo.mp4?rlkey=${DB.rlkey}`,
      `https://dropbox.com/scl/fi/${DB.id}/Team%20demo.mp4?rlkey=${DB.rlkey}`,
    ],
    refused: [
      { url: 'https://www.dropbox.com/scl/fo/abc123/AAB_x?rlkey=k&dl=0', code: 'folder_not_supported' },
      { url: 'https://www.dropbox.com/sh/abc123/AAB_x?dl=0', code: 'folder_not_supported' },
      { url: 'https://www.dropbox.com/home', code: 'invalid_url' },
    ],
    notMatched: [`https://${DROPBOX_CONTENT_HOST}/cd/0/get/token/file?dl=1`, 'https://paper.dropbox.com/doc/x'],
    hosts: DROPBOX_HOSTS,
    install: installDropbox,
  },
  loom: {
    folder: 'plugins/loom',
    fixtures: 'fixtures/loom',
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
  },
  http: {
    folder: 'plugins/direct-http',
    fixtures: FIXTURE_DIRS.http!,
    canonical: 'https://media.example.test/clips/sample.mp4',
    sameItem: [
      'https://MEDIA.example.test/clips/sample.mp4',
      'https://media.example.test:443/clips/sample.mp4',
      'https://media.example.test/clips/sample.mp4#t=3',
    ],
    notMatched: ['ftp://media.example.test/clips/sample.mp4'],
    hosts: ['media.example.test'],
    install: (server) => server.route('GET', '/clips/sample.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4'))),
  },
  'example-vod': {
    folder: 'examples/third-party-plugin',
    fixtures: FIXTURE_DIRS['example-vod']!,
    canonical: 'https://vod.example.test/watch/ev12345',
    sameItem: ['https://vod.example.test/embed/ev12345', 'https://www.vod.example.test/watch/ev12345/?autoplay=1', 'http://VOD.example.test/watch/ev12345'],
    refused: [{ url: 'https://vod.example.test/channels/ch-77', code: 'invalid_url' }],
    notMatched: ['https://vod-cdn.example.test/ev12345/240p.mp4'],
    hosts: EXAMPLE_VOD_HOSTS,
    install: installExampleVod,
  },
};
