// A loopback stand-in for Loom, answering for the real hostnames with the recorded-shape answers of test/fixtures/.
// Each video id has a scenario: what `transcoded-url`, `raw-url`, GraphQL `GetVideoSSR` and oEmbed answer. The
// fixtures' video id is replaced by the scenario's. The CDN (cdn.loom.com) serves a signed URL only when its
// CloudFront parameters are present (no cookies needed); `luna.loom.com` serves the HLS/DASH manifests, and the
// tests assert it is never asked.
import { readFileSync } from 'node:fs';
import { sendJson, sendText, serveFile } from '../../../test/support/fixture-server.js';
import type { FixtureServer, LoggedRequest } from '../../../test/support/fixture-server.js';
import { mediaPath } from '../../../test/support/media.js';

export const LOOM_HOSTS = ['www.loom.com', 'loom.com', 'cdn.loom.com', 'luna.loom.com'];
const FIXTURE_ID = '0f3c9a7e21b84d6c9e5a1b2c3d4e5f60';

type UrlAnswer = 'ok' | 'empty' | 'not-json' | 'null' | 'mp4' | 'webm' | 'm3u8' | 'mpd' | 404 | 403 | 429 | 500;

export interface LoomScenario {
  transcoded: UrlAnswer;
  /** Not asked when `transcoded` gives a direct URL. */
  raw?: UrlAnswer;
  graphql?: 'regular' | 'private' | 'password' | 'errors';
  /** Serve oEmbed (asked when GraphQL gives nothing usable). @default true */
  oembed?: boolean;
}

export const LOOM_VIDEOS = {
  ok: { id: FIXTURE_ID, scenario: { transcoded: 'ok', graphql: 'regular' } },
  emptyThenRaw: { id: '1a2b3c4d5e6f708192a3b4c5d6e7f801', scenario: { transcoded: 'empty', raw: 'mp4', graphql: 'errors' } },
  htmlThenWebm: { id: '2b3c4d5e6f708192a3b4c5d6e7f80912', scenario: { transcoded: 'not-json', raw: 'webm', graphql: 'regular' } },
  hls: { id: '3c4d5e6f708192a3b4c5d6e7f8091a23', scenario: { transcoded: 'empty', raw: 'm3u8', graphql: 'regular' } },
  dash: { id: '4d5e6f708192a3b4c5d6e7f8091a2b34', scenario: { transcoded: 'empty', raw: 'mpd', graphql: 'regular' } },
  private: { id: '5e6f708192a3b4c5d6e7f8091a2b3c45', scenario: { transcoded: 'null', raw: 'null', graphql: 'private' } },
  password: { id: '6f708192a3b4c5d6e7f8091a2b3c4d56', scenario: { transcoded: 403, raw: 403, graphql: 'password' } },
  missing: { id: '708192a3b4c5d6e7f8091a2b3c4d5e67', scenario: { transcoded: 404, raw: 404, graphql: 'errors', oembed: false } },
} as const satisfies Record<string, { id: string; scenario: LoomScenario }>;

export function loomFixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

export interface LoomSite {
  readonly scenarios: Map<string, LoomScenario>;
  /** `transcoded-url`/`raw-url` requests with their parsed JSON bodies. */
  readonly apiCalls: Array<{ id: string; endpoint: string; body: unknown }>;
  /** Requests to the manifest host (must stay empty). */
  manifestRequests(): LoggedRequest[];
  cdnRequests(): LoggedRequest[];
}

const URL_FIXTURES: Record<string, string> = {
  ok: 'transcoded-url.ok.json', mp4: 'raw-url.mp4.json', webm: 'raw-url.webm.json', m3u8: 'raw-url.m3u8.json',
  mpd: 'raw-url.mpd.json', null: 'url-null.json', empty: 'transcoded-url.empty.txt', 'not-json': 'transcoded-url.not-json.html',
};
const GRAPHQL_FIXTURES = {
  regular: 'graphql.regular-user-video.json', private: 'graphql.private-video.json', password: 'graphql.password.json', errors: 'graphql.errors.json',
};

export function installLoom(server: FixtureServer): LoomSite {
  const scenarios = new Map<string, LoomScenario>(Object.values(LOOM_VIDEOS).map((v) => [v.id, v.scenario as LoomScenario]));
  const apiCalls: LoomSite['apiCalls'] = [];
  const www = { host: /^(www\.)?loom\.com$/ };
  const forId = (name: string, id: string): string => loomFixture(name).split(FIXTURE_ID).join(id);

  server.route('POST', /^\/api\/campaigns\/sessions\/([0-9a-f]{32})\/(transcoded-url|raw-url)$/, async (_req, res, ctx) => {
    const [, id, endpoint] = ctx.match as unknown as [string, string, string];
    const text = (await ctx.body()).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    apiCalls.push({ id, endpoint, body });
    const scenario = scenarios.get(id);
    const answer = scenario ? (endpoint === 'transcoded-url' ? scenario.transcoded : scenario.raw) : 404;
    if (answer === undefined) return sendText(res, 500, 'unexpected raw-url call');
    if (typeof answer === 'number') return sendJson(res, answer, { error: `status ${answer}` });
    const type = answer === 'not-json' ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8';
    return sendText(res, 200, forId(URL_FIXTURES[answer]!, id), { 'content-type': type });
  }, www);

  server.route('POST', '/graphql', async (_req, res, ctx) => {
    const request = JSON.parse((await ctx.body()).toString('utf8')) as { variables?: { id?: string } };
    const id = request.variables?.id ?? '';
    const which = scenarios.get(id)?.graphql ?? 'errors';
    return sendText(res, 200, forId(GRAPHQL_FIXTURES[which], id), { 'content-type': 'application/json' });
  }, www);

  server.route('GET', '/v1/oembed', (_req, res, ctx) => {
    const id = /([0-9a-f]{32})$/.exec(ctx.query.get('url') ?? '')?.[1] ?? '';
    if (scenarios.get(id)?.oembed === false || !scenarios.has(id)) return sendText(res, 404, 'not found');
    return sendText(res, 200, forId('oembed.json', id), { 'content-type': 'application/json' });
  }, www);

  server.route('GET', /^\/sessions\/(transcoded|raw)\/([0-9a-f]{32})\.(mp4|webm)$/, async (_req, res, ctx) => {
    const signed = ['Policy', 'Signature', 'Key-Pair-Id'].every((p) => ctx.query.get(p));
    if (!signed || !scenarios.has(ctx.match![2]!)) {
      return sendText(res, 403, '<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>', { 'content-type': 'text/xml' });
    }
    const webm = ctx.match![3] === 'webm';
    await serveFile(res, mediaPath(webm ? 'sample.webm' : 'sample.mp4'), { contentType: webm ? 'video/webm' : 'video/mp4', supportRange: true });
  }, { host: 'cdn.loom.com' });

  server.route('GET', /\.(m3u8|mpd)$/, (_req, res, ctx) => {
    const hls = ctx.path.endsWith('.m3u8');
    return sendText(res, 200, loomFixture(hls ? 'playlist.m3u8' : 'manifest.mpd'), {
      'content-type': hls ? 'application/vnd.apple.mpegurl' : 'application/dash+xml',
    });
  }, { host: 'luna.loom.com' });

  return {
    scenarios,
    apiCalls,
    manifestRequests: () => server.requests.filter((r) => r.host === 'luna.loom.com'),
    cdnRequests: () => server.requests.filter((r) => r.host === 'cdn.loom.com'),
  };
}
