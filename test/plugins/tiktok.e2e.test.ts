// TikTok end to end: the real engine (SQLite, ffprobe, ffmpeg) against an HTTPS stand-in that answers for
// www.tiktok.com, the short-link hosts and the media CDN (plugins/tiktok/test/site.ts), routed to loopback
// with MEDIA_INGEST_CONNECT_TO. The CDN refuses a media request without the page's cookie and Referer, like TikTok's.
import https from 'node:https';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pluginE2e } from './e2e.js';
import { tiktok } from '../../plugins/tiktok/index.js';
import { testCa } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import type { TestEngine } from '../support/engine.js';
import {
  installTikTok, TIKTOK_HOSTS, TIKTOK_LOGIN_WALL_ID, TIKTOK_PAGE_403_ID, TIKTOK_POSTS, TIKTOK_STATUS_PAGES,
} from '../../plugins/tiktok/test/site.js';
import type { TikTokSite } from '../../plugins/tiktok/test/site.js';

const VIDEO = TIKTOK_POSTS.universal.id;
const LONG = `https://www.tiktok.com/@jane.doe_99/video/${VIDEO}?is_from_webapp=1&sender_device=pc`;
let server: FixtureServer;
let site: TikTokSite;
let engine: TestEngine;

/** A request to the fixture CDN as a bare client would make it (optionally with a cookie and a Referer). */
function cdnStatus(path: string, headers: Record<string, string> = {}, host = 'v16-webapp-prime.tiktok.com'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: server.port, servername: host, path, ca: testCa(), headers: { host, ...headers } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const fileCount = (): Promise<number> => harness.fileCount();

const harness = pluginE2e({ install: installTikTok, hosts: TIKTOK_HOSTS,
  // The native parser only: the yt-dlp fallback has its own test (ytdlp-fallback.test.ts).
  engine: { ytDlp: { enabled: false } } });
beforeAll(() => {
  ({ server, site, engine } = harness);
});

beforeEach(() => server.clearRequests());

describe('TikTok happy path', () => {
  it('syncs a post to completed with media info and provenance, the CDN request carrying the page cookie', async () => {
    const file = await engine.ingest.sync(LONG, { metadata: { from: 'test' }, wait: true });
    expect(file).toMatchObject({
      status: 'completed', source: 'tiktok', media_type: 'video', url: LONG,
      canonical_url: `https://www.tiktok.com/@/video/${VIDEO}`, metadata: { from: 'test' },
      filename: `Sunset timelapse 🌅 #travel #fyp [${VIDEO}].mp4`,
    });
    expect(file.media_info).toMatchObject({ width: 320, height: 240, has_audio: true });
    expect(Math.abs((file.media_info?.duration_seconds ?? 0) - 45)).toBeLessThan(0.1);
    expect(file.thumbnail_url).toBeDefined();
    expect(file.source_metadata).toMatchObject({
      source_type: 'tiktok', id: VIDEO, author_unique_id: 'jane.doe_99', author_nickname: 'Jane Doe', author_id: '6812345678901234567',
      description: 'Sunset timelapse 🌅 #travel #fyp', create_time: '2023-11-14T22:13:20.000Z', duration_seconds: 15,
      cover_url: expect.stringMatching(/^https:\/\/v19\.tiktokcdn\.com\//),
    });
    // The largest playable H.264 rendition, fetched with the cookie the page set for our User-Agent, and the Referer.
    const media = site.cdn.filter((c) => c.request.path.includes(VIDEO));
    expect(media.map((c) => [c.request.host, c.request.path, c.served])).toEqual([
      ['v16-webapp-prime.tiktok.com', `/video/tos/maliva/${VIDEO}/720.mp4`, true],
    ]);
    expect(site.issued.get(media[0]!.token!)).toBe(engine.ingest.config.network.userAgent);
    expect(media[0]!.request.headers['user-agent']).toBe(engine.ingest.config.network.userAgent);
    expect(media[0]!.request.headers.referer).toBe('https://www.tiktok.com/');
  });

  it('answers 403 to a media request without the page cookie or the Referer, like the real CDN', async () => {
    const path = `/video/tos/maliva/${VIDEO}/720.mp4?signature=s720`;
    const token = [...site.issued.keys()][0]!;
    expect(await cdnStatus(path)).toBe(403);
    expect(await cdnStatus(path, { referer: 'https://www.tiktok.com/' })).toBe(403);
    expect(await cdnStatus(path, { cookie: `tt_chain_token=${token}` })).toBe(403);
    expect(await cdnStatus(path, { cookie: 'tt_chain_token=forged', referer: 'https://www.tiktok.com/' })).toBe(403);
    expect(await cdnStatus(path, { cookie: `tt_chain_token=${token}`, referer: 'https://www.tiktok.com/' })).toBe(200);
    // tiktokcdn.com is outside the cookie's domain: there the Referer is what the CDN checks.
    expect(await cdnStatus(path, {}, 'v19.tiktokcdn.com')).toBe(403);
    expect(await cdnStatus(path, { referer: 'https://www.tiktok.com/' }, 'v19.tiktokcdn.com')).toBe(200);
  });

  it.each([
    ['universal data, single bitrateInfo object', TIKTOK_POSTS.singleBitrate.id, 'v19.tiktokcdn.com', '/720.mp4'],
    ['universal data, playAddr list', TIKTOK_POSTS.playAddrList.id, 'v19.tiktokcdn.com', '/play-list.mp4'],
    ['SIGI_STATE layout', TIKTOK_POSTS.sigi.id, 'v16-webapp-prime.tiktok.com', '/sigi-play.mp4'],
    ['__NEXT_DATA__ layout', TIKTOK_POSTS.nextData.id, 'v16-webapp-prime.tiktok.com', '/next-play.mp4'],
  ])('reads the %s page and downloads the right rendition', async (_layout, id, host, suffix) => {
    const file = await engine.ingest.sync(`https://www.tiktok.com/@/video/${id}`, { enableSegmentThumbnails: false, wait: true });
    expect(file).toMatchObject({ status: 'completed', source: 'tiktok', source_metadata: { source_type: 'tiktok', id } });
    const media = site.cdn.filter((c) => c.request.path.includes(id));
    expect(media).toHaveLength(1);
    expect(media[0]).toMatchObject({ served: true, request: { host } });
    expect(media[0]!.request.path.endsWith(suffix)).toBe(true);
  });
});

describe('TikTok URL forms', () => {
  it.each([
    `https://www.tiktok.com/@jane.doe_99/video/${VIDEO}`,
    `https://www.tiktok.com/@/video/${VIDEO}`,
    `https://www.tiktok.com/@renamed.user/video/${VIDEO}/?_t=8kLm2Xy&_r=1`,
    `https://m.tiktok.com/@jane.doe_99/video/${VIDEO}`,
    `https://tiktok.com/@jane.doe_99/video/${VIDEO}`,
    `http://www.tiktok.com/@jane.doe_99/video/${VIDEO}`,
    `HTTPS://WWW.TIKTOK.COM./@jane.doe_99/video/${VIDEO}#comments`,
    `https://www.tiktok.com/@jane.doe_99/photo/${VIDEO}`,
    `https://www.tiktok.com/embed/${VIDEO}`,
    `https://www.tiktok.com/embed/v2/${VIDEO}?lang=en`,
    `https://www.tiktok.com/share/video/${VIDEO}`,
    `https://www.tiktokv.com/share/video/${VIDEO}/?u_code=x`,
    `https://m.tiktok.com/v/${VIDEO}.html?region=US`,
  ])('%s is the same file as the canonical form, known offline', async (form) => {
    const first = await engine.ingest.sync(LONG, { wait: true });
    server.clearRequests();
    const again = await engine.ingest.sync(form);
    expect(again.id).toBe(first.id);
    expect(server.requests).toHaveLength(0);
  });

  it.each([
    ['vm.tiktok.com', 'https://vm.tiktok.com/ZMok12345/'],
    ['vt.tiktok.com', 'https://vt.tiktok.com/ZSok67890'],
    ['www.tiktok.com/t/ (to the /v/<id>.html form)', 'https://www.tiktok.com/t/ZTok24680/?_r=1'],
    ['a short link chaining to another short link', 'https://vm.tiktok.com/ZMchain01/'],
  ])('a %s short link expands to the long form: same file, and it becomes an alias', async (_name, short) => {
    const first = await engine.ingest.sync(LONG, { wait: true });
    const before = (await fileCount());
    const viaShort = await engine.ingest.sync(short, { wait: true });
    expect(viaShort.id).toBe(first.id);
    expect((await fileCount())).toBe(before);
    expect(server.requests.some((r) => r.host === 'vm.tiktok.com' || r.host === 'vt.tiktok.com' || r.path.startsWith('/t/'))).toBe(true);
    server.clearRequests();
    const alias = await engine.ingest.sync(short);
    expect(alias.id).toBe(first.id);
    expect(server.requests).toHaveLength(0);
  });
});

describe('TikTok failures', () => {
  it.each([
    ...Object.entries(TIKTOK_STATUS_PAGES).map(([name, page]) => [name, `https://www.tiktok.com/@someone/video/${page.id}`, page.code] as const),
    ['age-gated post', `https://www.tiktok.com/@someone/video/${TIKTOK_POSTS.ageGated.id}`, 'source_forbidden'],
    ['photo post', `https://www.tiktok.com/@someone/photo/${TIKTOK_POSTS.photo.id}`, 'unsupported_media_type'],
    ['login wall (redirect to /login)', `https://www.tiktok.com/@someone/video/${TIKTOK_LOGIN_WALL_ID}`, 'source_forbidden'],
    ['page answering 403', `https://www.tiktok.com/@someone/video/${TIKTOK_PAGE_403_ID}`, 'upstream_blocked'],
    ['dead short link (redirects home)', 'https://vm.tiktok.com/ZMdead123/', 'source_not_found'],
  ])('%s → %s with no file', async (_name, url, code) => {
    const before = (await fileCount());
    const mediaRequests = site.cdn.length;
    await expect(engine.ingest.sync(url)).rejects.toMatchObject({ code });
    expect((await fileCount())).toBe(before);
    expect(site.cdn).toHaveLength(mediaRequests);
  });

  it('says a photo post is a photo post', async () => {
    await expect(engine.ingest.sync(`https://www.tiktok.com/@someone/photo/${TIKTOK_POSTS.photo.id}`)).rejects.toThrow(/photo/);
  });

  it.each([
    'https://www.tiktok.com/@jane.doe_99',
    'https://www.tiktok.com/tag/travel',
    'https://www.tiktok.com/@jane.doe_99/video/123',
  ])('refuses a non-post TikTok URL %s offline with invalid_url', async (url) => {
    await expect(engine.ingest.sync(url)).rejects.toMatchObject({ code: 'invalid_url' });
    expect(server.requests).toHaveLength(0);
  });
});
