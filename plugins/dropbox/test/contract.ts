// The contract case of this plugin (see test/plugins/contract.ts): sample URLs in its declared forms and its
// loopback stand-in. test/plugins/contract.test.ts discovers it by this file's path.
import type { PluginContractCase } from '../../../test/plugins/contract.js';
import { DROPBOX_CONTENT_HOST, DROPBOX_HOSTS, DROPBOX_SHARES, installDropbox } from './site.js';
import { dropbox } from '../index.js';

const DB = DROPBOX_SHARES.video;
const DB_PATH = `https://www.dropbox.com/scl/fi/${DB.id}/Team%20demo.mp4`;

export const contract: PluginContractCase = {
  plugin: dropbox,
  folder: 'plugins/dropbox',
  fixtures: 'plugins/dropbox/test/fixtures',
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
};
