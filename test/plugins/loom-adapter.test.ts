import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { CookieJar } from 'tough-cookie';
import { describe, expect, it } from 'vitest';
import { expectIngestError } from '../support/errors.js';
import { IngestError } from '../../src/plugin-api.js';
import type { HttpRequestOptions, HttpResponse, ResolveContext } from '../../src/plugin-api.js';
import {
  classifyLoomMediaUrl,
  decideLoomMedia,
  getVideoSsrBody,
  LOOM_MEDIA_REQUEST_BODY,
  loom,
  loomBodyError,
  loomFilename,
  loomOembedUrl,
  loomSourceMetadata,
  parseGetVideoSsr,
  parseLoomOembed,
  parseLoomUrl,
  parseLoomUrlAnswer,
} from '../../plugins/loom/index.js';
import { sanitizeTitle } from '../../src/plugin-api.js';
import type { LoomUrlAnswer } from '../../plugins/loom/index.js';

const raw = (name: string): Buffer => readFileSync(new URL(`../../plugins/loom/test/fixtures/${name}`, import.meta.url));
const text = (name: string): string => raw(name).toString('utf8');
const json = (name: string): unknown => JSON.parse(text(name));

const ID = '0f3c9a7e21b84d6c9e5a1b2c3d4e5f60';
const SHARE = `https://www.loom.com/share/${ID}`;
const TRANSCODED_MP4 = (json('transcoded-url.ok.json') as { url: string }).url;
const RAW_MP4 = (json('raw-url.mp4.json') as { url: string }).url;

const identify = (url: string) => loom().identify(new URL(url));

describe('loom URL recognition and identity', () => {
  it.each([
    SHARE,
    `https://loom.com/share/${ID}`,
    `https://WWW.LOOM.COM/share/${ID}`,
    `https://www.loom.com./share/${ID}`,
    `http://www.loom.com/share/${ID}`,
    `https://www.loom.com/embed/${ID}`,
    `https://loom.com/embed/${ID}?hideEmbedTopBar=true`,
    `https://www.loom.com/share/${ID}?sid=6a4c1e2b-8f3d-4b7a-9c1e-2d3f4a5b6c7d`,
    `https://www.loom.com/share/${ID}/`,
    `https://www.loom.com/share/Meeting-notes-${ID}`,
    `https://www.loom.com/share/Q3-roadmap-walkthrough-demo-${ID}?sid=abc#t=10`,
    `https://www.loom.com/share/${ID.toUpperCase()}`,
    `https://www.loom.com/share/caf%C3%A9-${ID}`,
  ])('%s is loom:<id>', (url) => {
    expect(loom().matches(new URL(url))).toBe(true);
    expect(identify(url)).toEqual({ key: `loom:${ID}`, canonicalUrl: SHARE });
  });

  it('takes the last 32 hex characters of a slug ending in hex', () => {
    expect(parseLoomUrl(new URL(`https://www.loom.com/share/deadbeef-cafe-${ID}`))).toEqual({ kind: 'video', id: ID });
    expect(parseLoomUrl(new URL(`https://www.loom.com/share/abcdef${ID}`))).toEqual({ kind: 'video', id: ID });
  });

  it.each([`https://www.loom.com/share/folder/${ID}`, `https://loom.com/share/folder/${ID}?sid=x`, `https://WWW.LOOM.COM./share/folder/abc`])(
    'refuses the folder link %s',
    (url) => {
      expectIngestError(() => identify(url), 'folder_not_supported', /Loom folder links are not supported/);
    },
  );

  it.each([
    'https://www.loom.com/',
    'https://www.loom.com/share/',
    'https://www.loom.com/share/not-an-id',
    'https://www.loom.com/share/0f3c9a7e21b84d6c',
    'https://www.loom.com/looms/videos',
    `https://www.loom.com/share/${ID}/extra`,
  ])('refuses %s with invalid_url', (url) => {
    expectIngestError(() => identify(url), 'invalid_url', /Not a Loom video link/);
  });

  it.each([`https://cdn.loom.com/sessions/transcoded/${ID}.mp4`, `https://loom.com.evil.example/share/${ID}`, `https://notloom.com/share/${ID}`])(
    'does not match %s',
    (url) => {
      expect(loom().matches(new URL(url))).toBe(false);
    },
  );

  it('builds the oEmbed URL with URLSearchParams', () => {
    expect(loomOembedUrl(ID)).toBe(`https://www.loom.com/v1/oembed?url=${encodeURIComponent(SHARE)}`);
  });
});

describe('loom media-URL answers', () => {
  it('maps the recorded answers', () => {
    expect(parseLoomUrlAnswer(200, text('transcoded-url.ok.json'))).toEqual({ kind: 'url', url: TRANSCODED_MP4 });
    expect(parseLoomUrlAnswer(200, text('transcoded-url.empty.txt'))).toEqual({ kind: 'empty' });
    expect(parseLoomUrlAnswer(200, text('transcoded-url.not-json.html'))).toEqual({ kind: 'empty' });
    expect(parseLoomUrlAnswer(200, text('url-null.json'))).toEqual({ kind: 'no_url' });
    expect(parseLoomUrlAnswer(200, '{"url":""}')).toEqual({ kind: 'no_url' });
    expect(parseLoomUrlAnswer(200, JSON.stringify(RAW_MP4))).toEqual({ kind: 'url', url: RAW_MP4 });
  });

  it('maps statuses', () => {
    expect(parseLoomUrlAnswer(404, '')).toEqual({ kind: 'not_found', status: 404 });
    expect(parseLoomUrlAnswer(403, '{"error":"password"}')).toEqual({ kind: 'forbidden', status: 403 });
    expect(parseLoomUrlAnswer(401, '')).toEqual({ kind: 'forbidden', status: 401 });
    expect(parseLoomUrlAnswer(429, '', 30)).toEqual({ kind: 'rate_limited', status: 429, retryAfterSeconds: 30 });
    expect(parseLoomUrlAnswer(503, '')).toEqual({ kind: 'server', status: 503 });
  });

  it('classifies media URLs by pathname extension, ignoring the query', () => {
    expect(classifyLoomMediaUrl(TRANSCODED_MP4)).toEqual({ kind: 'direct', url: TRANSCODED_MP4, extension: 'mp4' });
    expect(classifyLoomMediaUrl((json('raw-url.webm.json') as { url: string }).url)).toMatchObject({ kind: 'direct', extension: 'webm' });
    expect(classifyLoomMediaUrl((json('raw-url.m3u8.json') as { url: string }).url)).toEqual({ kind: 'manifest', format: 'hls' });
    expect(classifyLoomMediaUrl((json('raw-url.mpd.json') as { url: string }).url)).toEqual({ kind: 'manifest', format: 'dash' });
    expect(classifyLoomMediaUrl('https://cdn.loom.com/x/video.MP4?next=/a.m3u8')).toMatchObject({ kind: 'direct', extension: 'mp4' });
    expect(classifyLoomMediaUrl('https://cdn.loom.com/x/list.m3u8?f=.mp4')).toEqual({ kind: 'manifest', format: 'hls' });
    expect(classifyLoomMediaUrl('http://cdn.loom.com/x/video.mp4')).toMatchObject({ kind: 'insecure' });
    expect(classifyLoomMediaUrl('/relative/video.mp4')).toMatchObject({ kind: 'insecure' });
  });

  const url = (u: string): LoomUrlAnswer => ({ kind: 'url', url: u });
  const decide = (...answers: LoomUrlAnswer[]) => () => decideLoomMedia(answers);

  it('takes the first direct URL', () => {
    expect(decideLoomMedia([url(TRANSCODED_MP4)])).toEqual({ url: TRANSCODED_MP4, extension: 'mp4' });
    expect(decideLoomMedia([{ kind: 'empty' }, url(RAW_MP4)])).toEqual({ url: RAW_MP4, extension: 'mp4' });
    expect(decideLoomMedia([url('https://luna.loom.com/a/playlist.m3u8'), url(RAW_MP4)]).url).toBe(RAW_MP4);
  });

  it('refuses manifests with a clear message and non-https URLs', () => {
    expectIngestError(decide({ kind: 'empty' }, url('https://luna.loom.com/a/playlist.m3u8')), 'unsupported_media_type', /streaming manifest \(HLS/);
    expectIngestError(decide({ kind: 'no_url' }, url('https://luna.loom.com/a/manifest.mpd')), 'unsupported_media_type', /DASH/);
    expectIngestError(decide({ kind: 'empty' }, url('http://cdn.loom.com/a.mp4')), 'upstream_error', /not https/);
  });

  it('maps failures: 404 on both, 4xx/null, 5xx, 429, empty', () => {
    const nf = { kind: 'not_found', status: 404 } as const;
    const fb = { kind: 'forbidden', status: 403 } as const;
    const se = { kind: 'server', status: 502 } as const;
    expectIngestError(decide(nf, nf), 'source_not_found');
    expectIngestError(decide({ kind: 'empty' }, nf), 'source_not_found');
    expectIngestError(decide(fb, fb), 'source_forbidden', /private, password-protected/);
    expectIngestError(decide({ kind: 'no_url' }, { kind: 'no_url' }), 'source_forbidden');
    expectIngestError(decide(nf, fb), 'source_forbidden');
    expectIngestError(decide({ kind: 'empty' }, { kind: 'no_url' }), 'source_forbidden');
    expectIngestError(decide(se, se), 'upstream_error', /HTTP 502/);
    expectIngestError(decide(fb, se), 'upstream_error');
    expectIngestError(decide({ kind: 'rate_limited', status: 429 }, fb), 'upstream_blocked');
    expectIngestError(decide({ kind: 'empty' }, { kind: 'empty' }), 'upstream_error', /without a media URL/);
    const timeout = new IngestError('timeout', 'deadline');
    expectIngestError(decide({ kind: 'failed', error: timeout }, se), 'timeout');
  });
});

describe('loom metadata', () => {
  it('maps GetVideoSSR RegularUserVideo', () => {
    expect(parseGetVideoSsr(json('graphql.regular-user-video.json'))).toEqual({
      access: 'ok',
      metadata: {
        title: 'Q3 roadmap: walkthrough / demo <draft>', description: 'Quick tour of the Q3 roadmap board.', owner_name: 'Ada Lovelace',
        created_at: '2025-03-28T07:57:18.213Z', duration_seconds: 27.48, width: 1920, height: 1080,
      },
    });
  });

  it('maps PrivateVideo and VideoPasswordMissingOrIncorrect', () => {
    expect(parseGetVideoSsr(json('graphql.private-video.json'))?.access).toBe('private');
    expect(parseGetVideoSsr(json('graphql.password.json'))?.access).toBe('password');
  });

  it('gives up on errors and odd shapes (then oEmbed is asked)', () => {
    expect(parseGetVideoSsr(json('graphql.errors.json'))).toBeUndefined();
    expect(parseGetVideoSsr({ data: { getVideo: null } })).toBeUndefined();
    expect(parseGetVideoSsr(undefined)).toBeUndefined();
    expect(parseGetVideoSsr({ data: { getVideo: { __typename: 'SomethingNew' } } })).toBeUndefined();
  });

  it('tolerates batched answers, epoch dates, durationMs and name parts', () => {
    const parsed = parseGetVideoSsr([
      { data: { getVideo: { __typename: 'RegularUserVideo', id: ID, name: ' T ', createdAt: 1648454238, owner: { first_name: 'A', last_name: 'B' }, video_properties: { durationMs: 1500, width: '640', height: null } } } },
    ]);
    expect(parsed?.metadata).toEqual({
      title: 'T', description: null, owner_name: 'A B', created_at: '2022-03-28T07:57:18.000Z', duration_seconds: 1.5, width: 640, height: null,
    });
  });

  it('maps oEmbed (title, author, duration; not the player size)', () => {
    expect(parseLoomOembed(json('oembed.json'))).toEqual({
      title: 'Q3 roadmap walkthrough', description: 'Quick tour of the Q3 roadmap board.', owner_name: 'Ada Lovelace',
      created_at: null, duration_seconds: 27.48, width: null, height: null,
    });
    expect(parseLoomOembed({ type: 'video' })).toBeUndefined();
    expect(parseLoomOembed('nope')).toBeUndefined();
  });

  it('builds provenance with nulls where unknown', () => {
    expect(loomSourceMetadata(ID, undefined)).toEqual({
      source_type: 'loom', loom_id: ID, title: null, description: null, owner_name: null, created_at: null, duration_seconds: null, width: null, height: null,
    });
  });

  it('builds the GetVideoSSR request body', () => {
    const body = JSON.parse(getVideoSsrBody(ID)) as { operationName: string; variables: unknown; query: string };
    expect(body.operationName).toBe('GetVideoSSR');
    expect(body.variables).toEqual({ id: ID, password: null });
    expect(body.query).toMatch(/query GetVideoSSR/);
  });

  it('sanitises titles into filenames', () => {
    expect(loomFilename(ID, 'Q3 roadmap: walkthrough / demo <draft>', 'mp4')).toBe('Q3 roadmap walkthrough demo draft.mp4');
    expect(loomFilename(ID, '../../etc/passwd', undefined)).toBe('etc passwd.mp4');
    expect(loomFilename(ID, ' \u0000 ', 'webm')).toBe(`${ID}.webm`);
    expect(loomFilename(ID, null, undefined)).toBe(`${ID}.mp4`);
    expect(sanitizeTitle('x'.repeat(400))).toHaveLength(150);
  });
});

describe('loom body check', () => {
  it('refuses manifests by content and passes media', () => {
    expect(loomBodyError(raw('playlist.m3u8'))?.code).toBe('unsupported_media_type');
    expect(loomBodyError(raw('manifest.mpd'))?.message).toMatch(/DASH/);
    expect(loomBodyError(Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70]))).toBeUndefined();
    expect(loomBodyError(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]))).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The plugin's resolve() against a scripted HttpClient (recorded-shape answers; no network).

interface Scripted { status?: number; body?: string | Buffer; headers?: Record<string, string>; throws?: Error }
type Route = (url: string, options: HttpRequestOptions) => Scripted;

function response(url: string, s: Scripted): HttpResponse {
  const body = Buffer.isBuffer(s.body) ? s.body : Buffer.from(s.body ?? '');
  const headers = Object.fromEntries(Object.entries(s.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    url, status: s.status ?? 200, headers, redirects: [], body: Readable.from([body]),
    text: async () => body.toString('utf8'),
    json: async <T>() => JSON.parse(body.toString('utf8')) as T,
    dump: async () => undefined,
    header: (name: string) => headers[name.toLowerCase()],
  };
}

function scripted(routes: Record<string, Scripted | Route>) {
  const calls: { url: string; options: HttpRequestOptions }[] = [];
  const ctx: ResolveContext = {
    http: {
      async request(target, options = {}) {
        const url = target.toString();
        calls.push({ url, options });
        const key = Object.keys(routes).find((k) => url.startsWith(`https://www.loom.com${k}`)) ?? '';
        const route = routes[key];
        const answer = typeof route === 'function' ? route(url, options) : route ?? { status: 404 };
        if (answer.throws) throw answer.throws;
        return response(url, answer);
      },
    },
    cookies: new CookieJar(), logger: pino({ level: 'silent' }), signal: new AbortController().signal, userAgent: 'Mozilla/5.0 test',
  };
  return { ctx, calls };
}

const T = `/api/campaigns/sessions/${ID}/transcoded-url`;
const R = `/api/campaigns/sessions/${ID}/raw-url`;

describe('loom plugin resolve', () => {
  const resolve = (url: string, ctx: ResolveContext) => loom().resolve(new URL(url), ctx);

  it('resolves a public video via transcoded-url with GraphQL metadata', async () => {
    const { ctx, calls } = scripted({ [T]: { body: raw('transcoded-url.ok.json') }, '/graphql': { body: raw('graphql.regular-user-video.json') } });
    const resolved = await resolve(`https://loom.com/share/Q3-roadmap-${ID}?sid=x`, ctx);
    expect(resolved.identity).toEqual({ key: `loom:${ID}`, canonicalUrl: SHARE });
    expect(resolved.download.url).toBe(TRANSCODED_MP4);
    expect(resolved.download.cookieJar).toBeUndefined();
    expect(resolved.filename).toBe('Q3 roadmap walkthrough demo draft.mp4');
    expect(resolved.sourceMetadata).toEqual({
      source_type: 'loom', loom_id: ID, title: 'Q3 roadmap: walkthrough / demo <draft>', description: 'Quick tour of the Q3 roadmap board.',
      owner_name: 'Ada Lovelace', created_at: '2025-03-28T07:57:18.213Z', duration_seconds: 27.48, width: 1920, height: 1080,
    });
    const media = calls.find((c) => c.url.endsWith('/transcoded-url'))!;
    expect(media.options.method).toBe('POST');
    expect(JSON.parse(String(media.options.body))).toEqual({ force_original: false, password: null, anonID: null, deviceID: null });
    expect(media.options.body).toBe(LOOM_MEDIA_REQUEST_BODY);
    expect(media.options.headers?.['Content-Type']).toBe('application/json');
    expect(calls.some((c) => c.url.endsWith('/raw-url'))).toBe(false);
    const gql = calls.find((c) => c.url === 'https://www.loom.com/graphql')!;
    expect(JSON.parse(String(gql.options.body))).toMatchObject({ operationName: 'GetVideoSSR', variables: { id: ID, password: null } });
  });

  it.each(['transcoded-url.empty.txt', 'transcoded-url.not-json.html'])('falls back to raw-url after %s', async (fixture) => {
    const { ctx, calls } = scripted({ [T]: { body: raw(fixture) }, [R]: { body: raw('raw-url.webm.json') }, '/graphql': { status: 500 }, '/v1/oembed': { body: raw('oembed.json') } });
    const resolved = await resolve(SHARE, ctx);
    expect(resolved.download.url).toBe((json('raw-url.webm.json') as { url: string }).url);
    expect(resolved.filename).toBe('Q3 roadmap walkthrough.webm');
    expect(resolved.sourceMetadata).toMatchObject({ title: 'Q3 roadmap walkthrough', owner_name: 'Ada Lovelace', created_at: null, width: null });
    const rawCall = calls.find((c) => c.url.endsWith('/raw-url'))!;
    expect(rawCall.options).toMatchObject({ method: 'POST', body: LOOM_MEDIA_REQUEST_BODY });
    expect(calls.find((c) => c.url.includes('/v1/oembed'))!.url).toBe(loomOembedUrl(ID));
  });

  it('syncs without metadata when GraphQL and oEmbed both fail', async () => {
    const { ctx } = scripted({ [T]: { body: raw('transcoded-url.ok.json') }, '/graphql': { throws: new Error('reset') }, '/v1/oembed': { body: 'not json' } });
    const resolved = await resolve(`https://www.loom.com/embed/${ID}`, ctx);
    expect(resolved.filename).toBe(`${ID}.mp4`);
    expect(resolved.sourceMetadata).toMatchObject({ loom_id: ID, title: null, owner_name: null, duration_seconds: null });
  });

  it('uses GraphQL errors as a reason to ask oEmbed', async () => {
    const { ctx } = scripted({ [T]: { body: raw('transcoded-url.ok.json') }, '/graphql': { body: raw('graphql.errors.json') }, '/v1/oembed': { body: raw('oembed.json') } });
    expect((await resolve(SHARE, ctx)).sourceMetadata).toMatchObject({ title: 'Q3 roadmap walkthrough' });
  });

  it.each([
    ['raw-url.m3u8.json', 'unsupported_media_type'],
    ['raw-url.mpd.json', 'unsupported_media_type'],
    ['url-null.json', 'source_forbidden'],
  ])('raw-url answering %s → %s', async (fixture, code) => {
    const { ctx } = scripted({ [T]: { body: '' }, [R]: { body: raw(fixture) }, '/graphql': { status: 500 }, '/v1/oembed': { status: 404 } });
    await expect(resolve(SHARE, ctx)).rejects.toMatchObject({ code });
  });

  it.each([
    [{ status: 404 }, { status: 404 }, 'source_not_found'],
    [{ status: 403 }, { status: 403 }, 'source_forbidden'],
    [{ body: raw('url-null.json') }, { status: 400 }, 'source_forbidden'],
    [{ status: 500 }, { status: 503 }, 'upstream_error'],
    [{ status: 429, headers: { 'Retry-After': '12' } }, { status: 429 }, 'upstream_blocked'],
  ] as [Scripted, Scripted, string][])('transcoded %j and raw %j → %s', async (t, r, code) => {
    const { ctx } = scripted({ [T]: t, [R]: r, '/graphql': { status: 500 }, '/v1/oembed': { status: 404 } });
    await expect(resolve(SHARE, ctx)).rejects.toMatchObject({ code });
  });

  it('keeps Retry-After on a rate limit', async () => {
    const { ctx } = scripted({ [T]: { status: 429, headers: { 'Retry-After': '12' } }, [R]: { status: 429 }, '/graphql': { status: 500 }, '/v1/oembed': { status: 404 } });
    await expect(resolve(SHARE, ctx)).rejects.toMatchObject({ code: 'upstream_blocked', retryAfterSeconds: 12 });
  });

  it.each([
    ['graphql.private-video.json', /private/],
    ['graphql.password.json', /password-protected/],
  ])('GetVideoSSR %s → source_forbidden', async (fixture, message) => {
    const { ctx } = scripted({ [T]: { body: raw('url-null.json') }, [R]: { status: 403 }, '/graphql': { body: raw(fixture) } });
    await expect(resolve(SHARE, ctx)).rejects.toMatchObject({ code: 'source_forbidden', message: expect.stringMatching(message) });
  });

  it('passes a transport error through when nothing else answered', async () => {
    const timeout = new IngestError('timeout', 'connect deadline passed');
    const { ctx } = scripted({ [T]: { throws: timeout }, [R]: { throws: timeout }, '/graphql': { status: 500 }, '/v1/oembed': { status: 404 } });
    await expect(resolve(SHARE, ctx)).rejects.toBe(timeout);
  });

  it('refuses folders before any request', async () => {
    const { ctx, calls } = scripted({});
    await expect(resolve(`https://www.loom.com/share/folder/${ID}`, ctx)).rejects.toMatchObject({ code: 'folder_not_supported' });
    expect(calls).toHaveLength(0);
  });

  it('checkResponse refuses a manifest body', () => {
    const plugin = loom();
    const r = response(TRANSCODED_MP4, { body: raw('playlist.m3u8') });
    expect(() => plugin.checkResponse!(r, raw('playlist.m3u8'))).toThrow(expect.objectContaining({ code: 'unsupported_media_type' }));
    expect(() => plugin.checkResponse!(r, Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70]))).not.toThrow();
  });
});
