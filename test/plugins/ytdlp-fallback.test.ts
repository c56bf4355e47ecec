// The yt-dlp fallback against the real yt-dlp binary (Debian package; .ci/run installs it; an optional suite,
// skipped loudly without it outside CI, see test/support/optional.ts). yt-dlp only extracts:
// its requests go through the engine's guarded proxy (same routing and private-address block), and the bytes are
// downloaded by the engine's own guarded client with the headers and cookies yt-dlp reports.
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dropbox } from '../../plugins/dropbox/index.js';
import { loom } from '../../plugins/loom/index.js';
import { tiktok } from '../../plugins/tiktok/index.js';
import { directHttp } from '../../plugins/direct-http/index.js';
import { ytDlpSites } from '../../plugins/yt-dlp/index.js';
import { defaultConfig } from '../../src/config/load-config.js';
import { createYtDlpRunner, findYtDlpBinary } from '../../src/ytdlp/index.js';
import type { YtDlpRunner } from '../../src/plugin-api.js';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { startEngine } from '../support/engine.js';
import { requireOptional } from '../support/optional.js';
import type { TestEngine } from '../support/engine.js';
import { installTikTok, TIKTOK_HOSTS, TIKTOK_POSTS, TIKTOK_STATUS_PAGES } from '../../plugins/tiktok/test/site.js';
import type { TikTokSite } from '../../plugins/tiktok/test/site.js';

/** yt-dlp 2023.03.04's TikTok extractor asks this app-API host first; the tests make the guard refuse it. */
const TIKTOK_API_HOST = 'api16-normal-c-useast1a.tiktokv.com';
const binary = findYtDlpBinary('');
const ytDlpPresent = requireOptional('yt-dlp fallback', binary ? null : 'yt-dlp is not on PATH', 'apt-get install yt-dlp');

function runner(network: Partial<ReturnType<typeof defaultConfig>['network']>, ytDlp: Partial<ReturnType<typeof defaultConfig>['ytDlp']> = {}): YtDlpRunner {
  const base = defaultConfig();
  const made = createYtDlpRunner({ ...base.ytDlp, ...ytDlp }, { ...base.network, ...network }, pino({ level: 'silent' }));
  if (!made) throw new Error('yt-dlp runner not created');
  return made;
}

describe.skipIf(!ytDlpPresent)('yt-dlp fallback (real yt-dlp binary)', () => {
  let https: FixtureServer;
  let plain: FixtureServer;
  let site: TikTokSite;
  let engine: TestEngine;

  beforeAll(async () => {
    ensureMedia();
    https = await startFixtureServer({ https: true });
    plain = await startFixtureServer();
    site = installTikTok(https);
    for (const server of [https, plain]) server.route('GET', '/clip.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4')));
    engine = await startEngine({
      plugins: [dropbox(), loom(), tiktok(), directHttp()],
      connectTo: [connectToFor(https, TIKTOK_HOSTS)],
      network: { resolve: [`${TIKTOK_API_HOST}:443:127.0.0.1`] },
      retry: { attempts: 1 },
      thumbnails: { width: 160 },
    });
  });

  afterAll(async () => {
    await engine?.close();
    await https?.close();
    await plain?.close();
  });

  beforeEach(() => {
    https.clearRequests();
    plain.clearRequests();
  });

  it('completes a TikTok post whose page only yt-dlp can read, downloading with yt-dlp’s cookies', async () => {
    const { id } = TIKTOK_POSTS.persisted;
    const file = await engine.ingest.sync(`https://www.tiktok.com/@archive.cam/video/${id}?is_from_webapp=1`, { wait: true });
    expect(file.status).toBe('completed');
    expect(file.source).toBe('tiktok');
    expect(file.canonical_url).toBe(`https://www.tiktok.com/@/video/${id}`);
    expect(file.media_info).toMatchObject({ width: 320, height: 240, has_audio: true });
    expect(file.source_metadata).toMatchObject({
      source_type: 'tiktok', id, extracted_by: 'yt-dlp', author_unique_id: 'archive.cam',
      description: 'Harbour at dawn #archive', duration_seconds: 45, create_time: '2023-07-22T04:26:40.000Z',
    });
    // Two page fetches: ours (unreadable) and yt-dlp's; one media request, by our client, with yt-dlp's session cookie.
    expect(site.pageRequests(id)).toBe(2);
    const media = site.cdn.filter((c) => c.request.path.includes(id));
    expect(media).toHaveLength(1);
    expect(media[0]!.served).toBe(true);
    const ourUserAgent = engine.ingest.config.network.userAgent;
    expect(site.issued.get(media[0]!.token!)).not.toBe(ourUserAgent);
    expect(String(media[0]!.request.headers.referer)).toMatch(/^https:\/\/www\.tiktok\.com\//);
    // yt-dlp's app-API attempt was refused by the guard (the host resolves to loopback here): nothing reached it.
    expect(https.requests.some((r) => r.host === TIKTOK_API_HOST)).toBe(false);
  });

  it('keeps the page error when yt-dlp cannot read the page either', async () => {
    const { id, code } = TIKTOK_STATUS_PAGES.challenge;
    await expect(engine.ingest.sync(`https://www.tiktok.com/@/video/${id}`)).rejects.toMatchObject({ code });
    expect(site.pageRequests(id)).toBe(2);
    expect((await engine.ingest.list({ limit: 100 })).data.some((f) => f.canonical_url?.endsWith(id))).toBe(false);
  });

  it('drives the generic extractor through the proxy: CONNECT for https, absolute-form for http', async () => {
    const ytDlp = runner({ connectTo: [connectToFor(https, ['media.example.test']), connectToFor(plain, ['plain.example.test'])] });
    const secure = await ytDlp.extract('https://media.example.test/clip.mp4');
    expect(secure.extractor).toMatch(/generic/i);
    expect(secure.download.url).toBe('https://media.example.test/clip.mp4');
    const insecure = await ytDlp.extract('http://plain.example.test/clip.mp4');
    expect(insecure.download.url).toBe('http://plain.example.test/clip.mp4');
    expect(https.count('*', '/clip.mp4')).toBeGreaterThan(0);
    expect(plain.count('*', '/clip.mp4')).toBeGreaterThan(0);
  });

  it.each([
    ['a literal loopback URL', () => `http://127.0.0.1:${plain.port}/clip.mp4`],
    ['a host resolved to 127.0.0.1', () => `http://rebound.example.test:${plain.port}/clip.mp4`],
    ['an https host resolved to ::ffff:127.0.0.1', () => `https://mapped.example.test:${https.port}/clip.mp4`],
    ['localhost', () => `http://localhost:${plain.port}/clip.mp4`],
  ])('refuses %s: the proxy blocks it and the fixture sees no request', async (_name, url) => {
    const ytDlp = runner({ resolve: [`rebound.example.test:${plain.port}:127.0.0.1`, `mapped.example.test:${https.port}:[::ffff:127.0.0.1]`] });
    await expect(ytDlp.extract(url())).rejects.toMatchObject({ code: 'blocked_address' });
    expect(plain.requests).toHaveLength(0);
    expect(https.requests).toHaveLength(0);
  });

  it('never runs on YouTube', async () => {
    const ytDlp = runner({});
    await expect(ytDlp.extract('https://www.youtube.com/watch?v=dQw4w9WgXcQ')).rejects.toMatchObject({ code: 'youtube_not_supported' });
    await expect(ytDlp.extract('https://youtu.be/dQw4w9WgXcQ')).rejects.toMatchObject({ code: 'youtube_not_supported' });
  });

  it('backs the opt-in yt-dlp plugin: a page of a listed host syncs to completed, downloaded by our client', async () => {
    const optIn = await startEngine({
      plugins: [ytDlpSites({ hosts: ['media.example.test'] }), directHttp()],
      connectTo: [connectToFor(https, ['media.example.test'])],
      retry: { attempts: 1 },
      thumbnails: { width: 160 },
    });
    try {
      expect(optIn.ingest.plugins()[0]).toMatchObject({ id: 'yt-dlp' });
      const file = await optIn.ingest.sync('https://media.example.test/clip.mp4?utm_source=x', { enableSegmentThumbnails: false, wait: true });
      expect(file).toMatchObject({
        status: 'completed', source: 'yt-dlp', media_type: 'video',
        source_metadata: { source_type: 'yt-dlp', extractor: expect.stringMatching(/generic/i), id: 'clip' },
      });
      expect(file.media_info).toMatchObject({ width: 320, height: 240 });
    } finally {
      await optIn.close();
    }
  });

  it('the opt-in plugin refuses YouTube hosts at configuration time', () => {
    expect(() => ytDlpSites({ hosts: ['music.youtube.com'] })).toThrow(/YouTube/);
    expect(() => ytDlpSites({ hosts: [] })).toThrow(/hosts/);
    expect(ytDlpSites({ hosts: ['example.org'] }).matches(new URL('https://www.youtube.com/watch?v=x'))).toBe(false);
  });

  it('kills a run that takes longer than its deadline', async () => {
    plain.route('GET', '/hang.mp4', () => undefined);
    const ytDlp = runner({ connectTo: [connectToFor(plain, ['slow.example.test'])] }, { timeoutMs: 2500 });
    const started = Date.now();
    await expect(ytDlp.extract('http://slow.example.test/hang.mp4')).rejects.toMatchObject({ code: 'timeout' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('kills a run whose output is larger than the cap', async () => {
    const ytDlp = runner({ connectTo: [connectToFor(https, ['media.example.test'])] }, { maxOutputBytes: 64 });
    await expect(ytDlp.extract('https://media.example.test/clip.mp4')).rejects.toMatchObject({ code: 'upstream_error', message: expect.stringMatching(/more than 64 bytes/) });
  });
});
