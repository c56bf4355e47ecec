// A loopback stand-in for TikTok, answering for the real hostnames with the recorded-shape pages of
// test/fixtures/. It behaves like the real site where the plugin depends on it:
// - a post page sets `tt_chain_token` (Set-Cookie, Domain=.tiktok.com) on every answer;
// - the media CDN answers 403 unless the request carries a `Referer` on https://www.tiktok.com/ and, on hosts under
//   `.tiktok.com` (v16-webapp-prime.tiktok.com), a `tt_chain_token` cookie that a page handed out. Hosts under
//   `tiktokcdn.com` cannot receive a `.tiktok.com` cookie from any real cookie jar, so there the Referer (and the
//   signed URL) is what is checked;
// - short links (vm./vt. hosts, www.tiktok.com/t/) answer 301 to the long form with tracking parameters, a dead
//   code redirects to the home page.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { redirect, sendText, serveFile } from '../../../test/support/fixture-server.js';
import type { FixtureServer, LoggedRequest } from '../../../test/support/fixture-server.js';
import { mediaPath } from '../../../test/support/media.js';

/** Every host this site answers for (route them all to the fixture server). */
export const TIKTOK_HOSTS = [
  'www.tiktok.com', 'm.tiktok.com', 'tiktok.com', 'vm.tiktok.com', 'vt.tiktok.com', 'www.tiktokv.com',
  'v16-webapp-prime.tiktok.com', 'v19.tiktokcdn.com',
];
const CDN_HOSTS = /^(v16-webapp-prime\.tiktok\.com|[a-z0-9-]+\.tiktokcdn\.com)$/;

/** The recorded-shape posts of test/fixtures/, by id. */
export const TIKTOK_POSTS = {
  universal: { id: '7301234567890123456', page: 'universal-ok.html' },
  singleBitrate: { id: '7302345678901234567', page: 'universal-single-bitrate.html' },
  playAddrList: { id: '7303456789012345678', page: 'universal-playaddr-list.html' },
  sigi: { id: '7104567890123456789', page: 'sigi-state.html' },
  nextData: { id: '6905678901234567890', page: 'next-data.html' },
  ageGated: { id: '7307000000000000001', page: 'age-gated.html' },
  photo: { id: '7308000000000000001', page: 'photo-post.html' },
  /** A page only yt-dlp can read (the old `sigi-persisted-data` script): see test/fixtures/README.md. */
  persisted: { id: '7309876543210987654', page: 'sigi-persisted-data.html' },
} as const;

/** Status-only pages: served for any id. */
export const TIKTOK_STATUS_PAGES = {
  privatePost: { id: '7310000000000000001', page: 'private-post.html', code: 'source_forbidden' },
  privateAccount: { id: '7310000000000000002', page: 'private-account.html', code: 'source_forbidden' },
  notFound: { id: '7310000000000000003', page: 'not-found.html', code: 'source_not_found' },
  deleted: { id: '7310000000000000004', page: 'deleted.html', code: 'source_not_found' },
  regionLocked: { id: '7310000000000000005', page: 'region-locked.html', code: 'source_forbidden' },
  unavailable: { id: '7310000000000000006', page: 'unavailable.html', code: 'source_not_found' },
  challenge: { id: '7310000000000000007', page: 'challenge.html', code: 'upstream_blocked' },
} as const;

/** Ids answered specially: a redirect to /login, a 403 page. */
export const TIKTOK_LOGIN_WALL_ID = '7310000000000000008';
export const TIKTOK_PAGE_403_ID = '7310000000000000009';

export function tiktokFixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

export interface TikTokSite {
  /** Every `tt_chain_token` value handed out, with the User-Agent of the request that got it. */
  readonly issued: Map<string, string>;
  /** Short-link codes → long URL (null: a dead code). Tests may add more. */
  readonly shortLinks: Map<string, string | null>;
  /** Media requests the CDN received, and whether it served them. */
  readonly cdn: Array<{ request: LoggedRequest; served: boolean; token: string | undefined }>;
  /** Page requests per post id. */
  pageRequests(id: string): number;
}

function tokenOf(cookieHeader: string | undefined): string | undefined {
  return /(?:^|;\s*)tt_chain_token=([^;]+)/.exec(cookieHeader ?? '')?.[1];
}

/** Installs the site's routes on an HTTPS fixture server. */
export function installTikTok(server: FixtureServer): TikTokSite {
  const pages = new Map<string, string>();
  for (const post of [...Object.values(TIKTOK_POSTS), ...Object.values(TIKTOK_STATUS_PAGES)]) pages.set(post.id, post.page);
  const issued = new Map<string, string>();
  const cdn: TikTokSite['cdn'] = [];
  const shortLinks = new Map<string, string | null>([
    ['ZMok12345', `https://www.tiktok.com/@jane.doe_99/video/${TIKTOK_POSTS.universal.id}?_t=8kLm2Xy&_r=1`],
    ['ZSok67890', `https://www.tiktok.com/@jane.doe_99/video/${TIKTOK_POSTS.universal.id}?is_from_webapp=1&_r=1`],
    ['ZTok24680', `https://m.tiktok.com/v/${TIKTOK_POSTS.universal.id}.html?_r=1`],
    ['ZMchain01', 'https://vt.tiktok.com/ZSok67890/'],
    ['ZMdead123', null],
  ]);
  const www = { host: 'www.tiktok.com' };

  server.route('GET', /^\/@([A-Za-z0-9._-]*)\/video\/(\d+)\/?$/, (req, res, ctx) => {
    const id = ctx.match![2]!;
    if (id === TIKTOK_LOGIN_WALL_ID) return redirect(res, 302, `https://www.tiktok.com/login?redirect_url=${encodeURIComponent(ctx.url.pathname)}`);
    if (id === TIKTOK_PAGE_403_ID) return sendText(res, 403, 'Access Denied', { 'content-type': 'text/html' });
    const token = randomBytes(12).toString('hex');
    issued.set(token, String(req.headers['user-agent'] ?? ''));
    const html = tiktokFixture(pages.get(id) ?? 'not-found.html');
    sendText(res, 200, html, {
      'content-type': 'text/html; charset=utf-8',
      'set-cookie': [
        `tt_chain_token=${token}; Domain=.tiktok.com; Path=/; Secure; HttpOnly; Max-Age=31536000`,
        `ttwid=1%7Cfixture; Domain=.tiktok.com; Path=/; Secure; HttpOnly`,
      ],
    });
  }, www);
  server.route('GET', '/', (_req, res) => sendText(res, 200, '<!doctype html><title>TikTok - Make Your Day</title>', { 'content-type': 'text/html' }), www);
  server.route('GET', /^\/login/, (_req, res) => sendText(res, 200, '<!doctype html><title>Log in | TikTok</title>', { 'content-type': 'text/html' }), www);

  const shortLink = (code: string, res: Parameters<Parameters<FixtureServer['route']>[2]>[1]): void => {
    const target = shortLinks.get(code);
    const location = target ?? 'https://www.tiktok.com/?_r=1';
    sendText(res, 301, `<a href="${location}">Moved Permanently</a>.\n`, { location, 'content-type': 'text/html; charset=utf-8' });
  };
  for (const host of ['vm.tiktok.com', 'vt.tiktok.com']) {
    server.route('GET', /^\/([A-Za-z0-9]+)\/?$/, (_req, res, ctx) => shortLink(ctx.match![1]!, res), { host });
  }
  server.route('GET', /^\/t\/([A-Za-z0-9]+)\/?$/, (_req, res, ctx) => shortLink(ctx.match![1]!, res), www);

  server.route('GET', /^\/video\/tos\//, async (req, res, ctx) => {
    const token = tokenOf(req.headers.cookie);
    const referer = String(req.headers.referer ?? '');
    const needsCookie = ctx.host.endsWith('.tiktok.com');
    const served = (!needsCookie || (token !== undefined && issued.has(token))) && referer.startsWith('https://www.tiktok.com/');
    cdn.push({ request: ctx.request, served, token });
    if (!served) return sendText(res, 403, '<html><body><h1>403 Forbidden</h1></body></html>', { 'content-type': 'text/html' });
    await serveFile(res, mediaPath('sample.mp4'), { contentType: 'video/mp4', supportRange: true });
  }, { host: CDN_HOSTS });

  return {
    issued,
    shortLinks,
    cdn,
    pageRequests: (id) => server.requests.filter((r) => r.host === 'www.tiktok.com' && r.path.endsWith(`/video/${id}`)).length,
  };
}
