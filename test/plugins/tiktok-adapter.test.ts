import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { CookieJar } from 'tough-cookie';
import { describe, expect, it } from 'vitest';
import { IngestError } from '../../src/plugin-api.js';
import type { HttpRequestOptions, HttpResponse, ResolveContext } from '../../src/plugin-api.js';
import {
  extractScriptById,
  isTikTokPageUnreadable,
  parseTikTokPage,
  parseTikTokUrl,
  selectTikTokMedia,
  tiktok,
  tiktokFilename,
  tiktokIdentity,
  TikTokPageUnreadable,
  tiktokPageUrl,
  unixSecondsToIso,
} from '../../plugins/tiktok/index.js';
import type { TikTokPageResult, TikTokPost } from '../../plugins/tiktok/index.js';

const fixture = (name: string): string => readFileSync(new URL(`../../plugins/tiktok/test/fixtures/${name}`, import.meta.url), 'utf8');
const V16 = 'https://v16-webapp-prime.tiktok.com';
const V19 = 'https://v19.tiktokcdn.com';
const ID = '7234567890123456789';

function ok(result: TikTokPageResult): TikTokPost {
  if (!result.ok) throw new Error(`expected a post, got ${result.reason}: ${result.error.message}`);
  return result.post;
}
function failure(result: TikTokPageResult): Extract<TikTokPageResult, { ok: false }> {
  if (result.ok) throw new Error('expected a failure');
  return result;
}
/** A universal-data page around one video-detail scope. */
function universalPage(detail: unknown): string {
  const json = JSON.stringify({ __DEFAULT_SCOPE__: { 'webapp.video-detail': detail } });
  return `<html><body><script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">${json}</script></body></html>`;
}

describe('parseTikTokUrl', () => {
  it.each([
    [`https://www.tiktok.com/@jane.doe_99/video/${ID}`, { kind: 'video', id: ID, user: 'jane.doe_99' }],
    [`https://www.tiktok.com/@/video/${ID}`, { kind: 'video', id: ID, user: '' }],
    [`https://m.tiktok.com/@user/video/${ID}/`, { kind: 'video', id: ID, user: 'user' }],
    [`https://tiktok.com/@user/video/${ID}?is_from_webapp=1&sender_device=pc&_t=8abc&_r=1#top`, { kind: 'video', id: ID, user: 'user' }],
    [`https://WWW.TikTok.COM/@User_1/video/${ID}`, { kind: 'video', id: ID, user: 'User_1' }],
    [`https://www.tiktok.com./@user/video/${ID}`, { kind: 'video', id: ID, user: 'user' }],
    [`http://www.tiktok.com/@user/video/${ID}`, { kind: 'video', id: ID, user: 'user' }],
    [`https://www.tiktok.com/@photo.fan/photo/${ID}`, { kind: 'video', id: ID, user: 'photo.fan', photo: true }],
    [`https://www.tiktok.com/embed/${ID}`, { kind: 'video', id: ID }],
    [`https://www.tiktok.com/embed/v2/${ID}?lang=en`, { kind: 'video', id: ID }],
    [`https://www.tiktok.com/share/video/${ID}`, { kind: 'video', id: ID }],
    [`https://www.tiktokv.com/share/video/${ID}/?u_code=x`, { kind: 'video', id: ID }],
    [`https://m.tiktok.com/v/${ID}.html?region=US`, { kind: 'video', id: ID }],
    ['https://vm.tiktok.com/ZMabc1234/', { kind: 'short', url: 'https://vm.tiktok.com/ZMabc1234/' }],
    ['https://VT.tiktok.com./ZSxyz9876?_r=1', { kind: 'short', url: 'https://vt.tiktok.com/ZSxyz9876/' }],
    ['https://www.tiktok.com/t/ZTRabc123/', { kind: 'short', url: 'https://www.tiktok.com/t/ZTRabc123/' }],
    ['https://tiktok.com/t/ZTRabc123', { kind: 'short', url: 'https://www.tiktok.com/t/ZTRabc123/' }],
  ])('%s', (input, expected) => {
    expect(parseTikTokUrl(new URL(input))).toEqual(expected);
    expect(parseTikTokUrl(input)).toEqual(expected);
  });

  it.each([
    `https://www.youtube.com/watch?v=${ID}`,
    `https://www.tiktok.com.evil.example/@u/video/${ID}`,
    `https://nottiktok.com/@u/video/${ID}`,
    `https://v16-webapp-prime.tiktok.com/video/tos/${ID}/play.mp4`,
    'https://www.tiktok.com/',
    'https://www.tiktok.com/@jane.doe_99',
    'https://www.tiktok.com/tag/fyp',
    'https://www.tiktok.com/@user/video/notanumber',
    'https://www.tiktok.com/@user/video/123',
    `https://www.tiktok.com/@user/video/${ID}/comments`,
    `https://www.tiktok.com/@user/live/${ID}`,
    `https://www.tiktokv.com/@user/video/${ID}`,
    'https://vm.tiktok.com/',
    'https://vm.tiktok.com/ZMabc1234/extra',
    `ftp://www.tiktok.com/@user/video/${ID}`,
    'not a url',
  ])('rejects %s', (input) => {
    expect(parseTikTokUrl(input)).toBeNull();
  });

  it('gives one identity per id, whatever the form', () => {
    const plugin = tiktok();
    const forms = [
      `https://www.tiktok.com/@a/video/${ID}?_r=1`,
      `https://m.tiktok.com/@b.c/video/${ID}`,
      `https://www.tiktok.com/embed/v2/${ID}`,
      `https://www.tiktokv.com/share/video/${ID}`,
      `https://www.tiktok.com/v/${ID}.html`,
    ];
    for (const form of forms) {
      expect(plugin.identify(new URL(form))).toEqual({ key: `tiktok:${ID}`, canonicalUrl: `https://www.tiktok.com/@/video/${ID}` });
    }
    expect(tiktokIdentity(ID).key).toBe(`tiktok:${ID}`);
    expect(plugin.identify(new URL('https://vm.tiktok.com/ZMabc1234/'))).toBeUndefined();
    expect(plugin.identify(new URL('https://www.tiktok.com/t/ZTRabc123/'))).toBeUndefined();
  });

  it('matches every TikTok page host but refuses non-post pages with invalid_url', () => {
    const plugin = tiktok();
    expect(plugin.id).toBe('tiktok');
    expect(plugin.urlForms.length).toBeGreaterThan(3);
    expect(plugin.matches(new URL('https://www.tiktok.com/@jane'))).toBe(true);
    expect(plugin.matches(new URL('https://vm.tiktok.com/ZMabc1234/'))).toBe(true);
    expect(plugin.matches(new URL(`${V16}/video/tos/x.mp4`))).toBe(false);
    expect(plugin.matches(new URL(`${V19}/video/tos/x.mp4`))).toBe(false);
    expect(plugin.matches(new URL('https://example.com/@u/video/1'))).toBe(false);
    expect(() => plugin.identify(new URL('https://www.tiktok.com/@jane'))).toThrow(expect.objectContaining({ code: 'invalid_url' }));
  });

  it('builds the page URL on www. with /video/, dropping an odd user', () => {
    expect(tiktokPageUrl(ID, 'jane.doe_99')).toBe(`https://www.tiktok.com/@jane.doe_99/video/${ID}`);
    expect(tiktokPageUrl(ID)).toBe(`https://www.tiktok.com/@/video/${ID}`);
    expect(tiktokPageUrl(ID, 'a/b?c')).toBe(`https://www.tiktok.com/@/video/${ID}`);
  });
});

describe('parseTikTokPage on fixtures', () => {
  it('universal-ok: largest H.264 first, then playAddr, H.265, watermarked last', () => {
    const id = '7301234567890123456';
    const post = ok(parseTikTokPage(fixture('universal-ok.html'), id));
    expect(post.layout).toBe('universal');
    const base = `video/tos/maliva/${id}`;
    expect(post.candidates.map((c) => c.url)).toEqual([
      `${V16}/${base}/720.mp4?signature=s720`,
      `${V19}/${base}/720.mp4?signature=s720b`,
      `${V16}/${base}/540.mp4?signature=s540`,
      `${V19}/${base}/540.mp4?signature=s540b`,
      `${V16}/${base}/play.mp4?a=1988&br=1800&expire=1700086400&signature=p1`,
      `${V16}/${base}/1080-hevc.mp4?signature=h1`,
      `${V16}/${base}/download-watermark.mp4?a=1988&expire=1700086400&signature=d1`,
    ]);
    expect(post.candidates.map((c) => c.kind)).toEqual(['h264', 'h264', 'h264', 'h264', 'play_addr', 'h265', 'download_addr']);
    expect(post.candidates[0]).toMatchObject({ width: 720, height: 1280, dataSize: 3200000, watermarked: false });
    expect(post.candidates.at(-1)?.watermarked).toBe(true);
    expect(post.metadata).toEqual({
      source_type: 'tiktok',
      id,
      author_unique_id: 'jane.doe_99',
      author_nickname: 'Jane Doe',
      author_id: '6812345678901234567',
      description: 'Sunset timelapse 🌅 #travel #fyp',
      create_time: '2023-11-14T22:13:20.000Z',
      duration_seconds: 15,
      width: 576,
      height: 1024,
      cover_url: `${V19}/obj/tos-maliva-p-0068/cover-${id}.jpeg?x-expires=1700086400&x-signature=abc`,
      music_title: 'original sound - jane.doe_99',
      play_count: 123456,
    });
    expect(post.filename).toBe(`Sunset timelapse 🌅 #travel #fyp [${id}].mp4`);
  });

  it('universal-single-bitrate: one bitrateInfo object, string createTime, statsV2, reordered attributes', () => {
    const id = '7302345678901234567';
    const post = ok(parseTikTokPage(fixture('universal-single-bitrate.html'), id));
    expect(post.candidates[0]).toEqual({
      url: `${V19}/video/tos/useast5/${id}/720.mp4?signature=s2`, kind: 'h264', watermarked: false, width: 720, height: 1280, dataSize: 2222222,
    });
    expect(post.candidates.map((c) => c.kind)).toEqual(['h264', 'play_addr', 'download_addr']);
    expect(post.metadata).toMatchObject({
      author_unique_id: 'chef_mario', description: 'Cooking "pasta" / part 2 <3', create_time: '2024-03-09T16:00:00.000Z',
      duration_seconds: 42, width: 720, height: 1280, music_title: 'Funiculi funicula', play_count: 4567890,
    });
    expect(post.filename).toBe(`Cooking pasta part 2 3 [${id}].mp4`);
  });

  it('universal-playaddr-list: {src} list, www.tiktok.com and empty URLs skipped, bytevc2 never used', () => {
    const id = '7303456789012345678';
    const post = ok(parseTikTokPage(fixture('universal-playaddr-list.html'), id));
    expect(post.candidates).toEqual([
      { url: `${V19}/video/tos/${id}/play-list.mp4?signature=l1`, kind: 'play_addr', watermarked: false },
      { url: `${V16}/video/tos/${id}/play-list.mp4?signature=l2`, kind: 'play_addr', watermarked: false },
    ]);
    expect(post.metadata).toMatchObject({
      author_unique_id: null, author_nickname: null, description: null, cover_url: `${V19}/obj/tos/origin-${id}.jpeg`,
      music_title: null, play_count: 0, width: 1080, height: 1920, create_time: '2024-01-11T19:06:40.000Z',
    });
    expect(post.filename).toBe(`${id}.mp4`);
  });

  it('sigi-state: ItemModule[id], author as a string', () => {
    const id = '7104567890123456789';
    const post = ok(parseTikTokPage(fixture('sigi-state.html'), id));
    expect(post.layout).toBe('sigi');
    expect(post.candidates.map((c) => c.url)).toEqual([
      `${V16}/video/tos/alisg/${id}/sigi-play.mp4?signature=sp`,
      `${V16}/video/tos/alisg/${id}/sigi-download.mp4?signature=sd`,
    ]);
    expect(post.metadata).toMatchObject({
      author_unique_id: 'old.school', author_nickname: 'Old School', author_id: '6700000000000000001',
      create_time: '2022-04-15T05:20:00.000Z', duration_seconds: 9, play_count: 4321, music_title: 'Sigi song',
    });
    expect(failure(parseTikTokPage(fixture('sigi-state.html'), '7104567890123456780')).reason).toBe('no_item');
  });

  it('next-data: props.pageProps.itemInfo.itemStruct', () => {
    const id = '6905678901234567890';
    const post = ok(parseTikTokPage(fixture('next-data.html'), id));
    expect(post.layout).toBe('next');
    expect(post.candidates[0]?.url).toBe(`${V16}/video/tos/useast2a/${id}/next-play.mp4?signature=np`);
    expect(post.metadata).toMatchObject({ author_unique_id: 'next_user', create_time: '2020-12-15T02:40:00.000Z', play_count: 777, width: 720 });
  });

  it.each([
    ['private-post.html', '7306000000000010216', 'source_forbidden', 'private_post', 403],
    ['private-account.html', '7306000000000010222', 'source_forbidden', 'private_account', 403],
    ['region-locked.html', '7306000000000010231', 'source_forbidden', 'region_locked', 403],
    ['not-found.html', '7306000000000010221', 'source_not_found', 'account_not_found', 404],
    ['deleted.html', '7306000000000000001', 'source_not_found', 'deleted', 404],
    ['unavailable.html', '7306000000000010204', 'source_not_found', 'unavailable', 404],
    ['age-gated.html', '7307000000000000001', 'source_forbidden', 'age_gated', 403],
    ['photo-post.html', '7308000000000000001', 'unsupported_media_type', 'photo_post', 415],
    ['challenge.html', '7309000000000000001', 'upstream_blocked', 'challenge', 502],
  ])('%s → %s (%s)', (name, id, code, reason, httpStatus) => {
    const result = failure(parseTikTokPage(fixture(name), id));
    expect(result.reason).toBe(reason);
    expect(result.error).toBeInstanceOf(IngestError);
    expect(result.error).toMatchObject({ code, httpStatus });
    expect(result.error.message).toContain(id);
    expect(isTikTokPageUnreadable(result.error)).toBe(reason === 'challenge');
  });

  it('words the photo post and the challenge for humans; the challenge is retryable', () => {
    expect(failure(parseTikTokPage(fixture('photo-post.html'))).error.message).toMatch(/photo\/slideshow post, not a video/);
    expect(failure(parseTikTokPage(fixture('age-gated.html'))).error.message).toMatch(/age-restricted/);
    const challenge = failure(parseTikTokPage(fixture('challenge.html'))).error;
    expect(challenge.retryable).toBe(true);
    expect(challenge.cause).toBeInstanceOf(TikTokPageUnreadable);
    expect((challenge.cause as TikTokPageUnreadable).reason).toBe('challenge');
  });
});

describe('parseTikTokPage edge cases', () => {
  const item = { id: ID, video: { playAddr: `${V16}/p.mp4` } };

  it('reads statusMsg alone and unknown codes as not found; "ok"-like messages as success', () => {
    expect(failure(parseTikTokPage(universalPage({ statusCode: 12345, statusMsg: '' }), ID))).toMatchObject({ reason: 'unknown_status', statusCode: 12345 });
    expect(failure(parseTikTokPage(universalPage({ statusCode: 0, statusMsg: 'item_not_available' }), ID)).error.code).toBe('source_not_found');
    expect(failure(parseTikTokPage(universalPage({ statusCode: '10216' }), ID)).reason).toBe('private_post');
    expect(ok(parseTikTokPage(universalPage({ statusCode: 0, statusMsg: 'ok', itemInfo: { itemStruct: item } }), ID)).id).toBe(ID);
    expect(ok(parseTikTokPage(universalPage({ itemInfo: { itemStruct: item } }), ID)).candidates).toHaveLength(1);
  });

  it('treats broken JSON, missing items and another post as an unreadable page (upstream_error)', () => {
    const broken = '<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__">{"__DEFAULT_SCOPE__":{</script>';
    for (const [html, reason] of [
      [broken, 'invalid_json'],
      [universalPage({ statusCode: 0 }), 'no_item'],
      ['<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__">{"__DEFAULT_SCOPE__":{"webapp.app-context":{}}}</script>', 'no_item'],
      [universalPage({ statusCode: 0, itemInfo: { itemStruct: { ...item, id: '7000000000000000001' } } }), 'id_mismatch'],
    ] as const) {
      const result = failure(parseTikTokPage(html, ID));
      expect(result.reason).toBe(reason);
      expect(result.error.code).toBe('upstream_error');
      expect(isTikTokPageUnreadable(result.error)).toBe(true);
    }
    const empty = failure(parseTikTokPage('<html><body>hello</body></html>', ID));
    expect(empty).toMatchObject({ reason: 'no_data', error: { code: 'upstream_blocked' } });
  });

  it('falls back from a universal script without video detail to SIGI_STATE', () => {
    const html = '<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__">{"__DEFAULT_SCOPE__":{}}</script>' +
      `<script id="SIGI_STATE">${JSON.stringify({ ItemModule: { [ID]: item }, VideoPage: { statusCode: 0 } })}</script>`;
    expect(ok(parseTikTokPage(html, ID)).layout).toBe('sigi');
  });

  it('reports a post without usable video URLs as a photo/slideshow post', () => {
    const onlyTikTokHost = { id: ID, video: { playAddr: `https://www.tiktok.com/aweme/v1/play/?video_id=${ID}`, downloadAddr: 'http://v16.tiktok.com/x.mp4' } };
    const result = failure(parseTikTokPage(universalPage({ statusCode: 0, itemInfo: { itemStruct: onlyTikTokHost } }), ID));
    expect(result).toMatchObject({ reason: 'no_video', error: { code: 'unsupported_media_type' } });
    expect(result.error.message).toMatch(/photo\/slideshow/);
  });
});

describe('extractScriptById', () => {
  it('is tolerant of attribute order, quotes and whitespace, and exact about the id', () => {
    expect(extractScriptById('<script type="a" id="X">1</script>', 'X')).toBe('1');
    expect(extractScriptById("<SCRIPT\n id = 'X'\n>2</SCRIPT >", 'X')).toBe('2');
    expect(extractScriptById('<script id=X nonce="a>b">3</script>', 'X')).toBe('3');
    expect(extractScriptById('<script data-id="X">no</script><script id="XY">no</script><script id="X">4</script>', 'X')).toBe('4');
    expect(extractScriptById('<script id="x">no</script>', 'X')).toBeUndefined();
    expect(extractScriptById('<div id="X"></div>', 'X')).toBeUndefined();
  });
});

describe('media selection and metadata helpers', () => {
  it('ranks by DataSize, then area; accepts camelCase keys and lists of plain strings', () => {
    const candidates = selectTikTokMedia({
      bitrateInfo: [
        { CodecType: 'h264', PlayAddr: { Width: 540, Height: 960, UrlList: [`${V16}/small.mp4`] } },
        { codecType: 'h264', playAddr: { width: 1080, height: 1920, urlList: [`${V16}/big.mp4`] } },
        { CodecType: 'bytevc1', PlayAddr: { DataSize: 1, UrlList: [`${V16}/big.mp4`] } },
      ],
      playAddr: [`${V19}/a.mp4`, { src: `${V19}/b.mp4` }],
    });
    expect(candidates.map((c) => c.url)).toEqual([`${V16}/big.mp4`, `${V16}/small.mp4`, `${V19}/a.mp4`, `${V19}/b.mp4`]);
    expect(selectTikTokMedia(undefined)).toEqual([]);
    expect(selectTikTokMedia({ bitrateInfo: 'nonsense', playAddr: 42 })).toEqual([]);
  });

  it('converts unix seconds and cleans filenames', () => {
    expect(unixSecondsToIso(0)).toBeNull();
    expect(unixSecondsToIso('abc')).toBeNull();
    expect(unixSecondsToIso('1700000000')).toBe('2023-11-14T22:13:20.000Z');
    expect(tiktokFilename(ID, '../../etc/passwd\u0000')).toBe(`etc passwd [${ID}].mp4`);
    expect(tiktokFilename(ID, '   ')).toBe(`${ID}.mp4`);
    expect(tiktokFilename(ID, 'x'.repeat(200))).toBe(`${'x'.repeat(80)} [${ID}].mp4`);
  });
});

/** One scripted answer of the fake client. */
interface FakeAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Final URL and redirect chain, as the guarded client reports them after following redirects. */
  finalUrl?: string;
  redirects?: string[];
}

function fakeContext(routes: Record<string, FakeAnswer>): { ctx: ResolveContext; calls: Array<{ url: string; options: HttpRequestOptions }> } {
  const calls: Array<{ url: string; options: HttpRequestOptions }> = [];
  const http = {
    async request(url: string | URL, options: HttpRequestOptions = {}): Promise<HttpResponse> {
      const href = String(url);
      calls.push({ url: href, options });
      const answer = routes[href];
      if (!answer) throw new Error(`unexpected request to ${href}`);
      const body = answer.body ?? '';
      const headers = Object.fromEntries(Object.entries(answer.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      return {
        url: answer.finalUrl ?? href,
        status: answer.status ?? 200,
        headers,
        redirects: answer.redirects ?? [],
        body: Readable.from([body]),
        text: async () => body,
        json: async <T>() => JSON.parse(body) as T,
        dump: async () => {},
        header: (name: string) => headers[name.toLowerCase()],
      };
    },
  };
  const ctx: ResolveContext = {
    http, cookies: new CookieJar(), logger: pino({ level: 'silent' }), signal: new AbortController().signal, userAgent: 'Mozilla/5.0 (test)',
  };
  return { ctx, calls };
}

describe('tiktok().resolve with a fake client', () => {
  const id = '7301234567890123456';
  const page = `https://www.tiktok.com/@jane.doe_99/video/${id}`;

  it('expands a short link without following it, fetches the page with cookies, and returns the best URL', async () => {
    const { ctx, calls } = fakeContext({
      'https://vm.tiktok.com/ZMabc1234/': { status: 301, headers: { Location: `${page}?_t=8x&_r=1` } },
      [page]: { body: fixture('universal-ok.html') },
    });
    const resolved = await tiktok().resolve(new URL('https://vm.tiktok.com/ZMabc1234/?share=1'), ctx);
    expect(calls[0]?.options).toMatchObject({ followRedirects: false, cookieJar: ctx.cookies });
    expect(calls[1]?.options.cookieJar).toBe(ctx.cookies);
    expect(calls[1]?.options.headers).toMatchObject({ 'User-Agent': 'Mozilla/5.0 (test)', 'Accept-Language': 'en-US,en;q=0.9' });
    expect(resolved.identity).toEqual(tiktokIdentity(id));
    expect(resolved.download).toEqual({
      url: `${V16}/video/tos/maliva/${id}/720.mp4?signature=s720`,
      method: 'GET',
      headers: { Referer: 'https://www.tiktok.com/', 'User-Agent': 'Mozilla/5.0 (test)' },
      cookieJar: ctx.cookies,
    });
    expect(resolved.sourceMetadata).toMatchObject({ source_type: 'tiktok', id, play_count: 123456 });
    expect(resolved.filename).toMatch(/\[7301234567890123456\]\.mp4$/);
  });

  it('handles a relative Location and a /t/ short link', async () => {
    const { ctx } = fakeContext({
      'https://www.tiktok.com/t/ZTRabc123/': { status: 302, headers: { location: `/@jane.doe_99/video/${id}` } },
      [page]: { body: fixture('universal-ok.html') },
    });
    expect((await tiktok().resolve(new URL('https://www.tiktok.com/t/ZTRabc123/'), ctx)).identity.key).toBe(`tiktok:${id}`);
  });

  it.each([
    ['https://www.tiktok.com/?_r=1', 'source_not_found'],
    ['https://www.tiktok.com/@jane', 'source_not_found'],
    ['https://evil.example/@u/video/7301234567890123456', 'source_not_found'],
    ['https://www.tiktok.com/login?redirect_url=x', 'source_forbidden'],
  ])('a short link redirecting to %s → %s, with nothing else fetched', async (location, code) => {
    const { ctx, calls } = fakeContext({ 'https://vm.tiktok.com/ZMdead000/': { status: 301, headers: { location } } });
    await expect(tiktok().resolve(new URL('https://vm.tiktok.com/ZMdead000/'), ctx)).rejects.toMatchObject({ code });
    expect(calls).toHaveLength(1);
  });

  it.each([
    ['404', { status: 404 }, 'source_not_found'],
    ['429', { status: 429, headers: { 'retry-after': '30' } }, 'upstream_blocked'],
    ['503', { status: 503 }, 'upstream_error'],
    ['a redirect to /login', { finalUrl: 'https://www.tiktok.com/login?redirect_url=x', redirects: [page] }, 'source_forbidden'],
    ['a redirect to the home page', { finalUrl: 'https://www.tiktok.com/', redirects: [page] }, 'source_not_found'],
    ['the challenge page', { body: fixture('challenge.html') }, 'upstream_blocked'],
    ['the private-post page', { body: fixture('private-post.html') }, 'source_forbidden'],
  ] as Array<[string, FakeAnswer, string]>)('page answer: %s → %s', async (_label, answer, code) => {
    const { ctx } = fakeContext({ [page]: answer });
    const error = await tiktok().resolve(new URL(page), ctx).then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code });
    if (answer.status === 429) expect(error).toMatchObject({ retryAfterSeconds: 30, retryable: true });
  });

  it('passes unreadable pages (only) to the fallback hook', async () => {
    const seen: string[] = [];
    const plugin = tiktok({
      unreadablePageFallback: async (request) => {
        seen.push(`${request.id}:${(request.error.cause as TikTokPageUnreadable).reason}`);
        return { identity: tiktokIdentity(request.id), download: { url: `${V16}/from-fallback.mp4` } };
      },
    });
    const blocked = fakeContext({ [page]: { body: fixture('challenge.html') } });
    expect((await plugin.resolve(new URL(page), blocked.ctx)).download.url).toBe(`${V16}/from-fallback.mp4`);
    const forbidden = fakeContext({ [page]: { status: 403 } });
    expect((await plugin.resolve(new URL(page), forbidden.ctx)).download.url).toBe(`${V16}/from-fallback.mp4`);
    const privatePost = fakeContext({ [page]: { body: fixture('private-post.html') } });
    await expect(plugin.resolve(new URL(page), privatePost.ctx)).rejects.toMatchObject({ code: 'source_forbidden' });
    expect(seen).toEqual([`${id}:challenge`, `${id}:http_blocked`]);
  });

  it('refuses watermark-only posts when allowWatermarked is false', async () => {
    const html = universalPage({ statusCode: 0, itemInfo: { itemStruct: { id, video: { downloadAddr: `${V16}/wm.mp4` } } } });
    const { ctx } = fakeContext({ [page]: { body: html } });
    await expect(tiktok({ allowWatermarked: false }).resolve(new URL(page), ctx)).rejects.toMatchObject({ code: 'unsupported_media_type' });
    const again = fakeContext({ [page]: { body: html } });
    expect((await tiktok().resolve(new URL(page), again.ctx)).download.url).toBe(`${V16}/wm.mp4`);
  });
});
