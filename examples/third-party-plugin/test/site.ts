// A loopback stand-in for the invented "Example VOD" service of the third-party plugin example
// (examples/third-party-plugin/), serving the answers of test/fixtures/.
import { readFileSync } from 'node:fs';
import { sendText, serveFile } from '../../../test/support/fixture-server.js';
import type { FixtureServer } from '../../../test/support/fixture-server.js';
import { mediaPath } from '../../../test/support/media.js';

export const EXAMPLE_VOD_HOSTS = ['vod.example.test', 'vod-api.example.test', 'vod-cdn.example.test'];

/** Video ids and the fixture the API answers for them. */
export const EXAMPLE_VOD_VIDEOS = {
  ready: { id: 'ev12345', fixture: 'video.ready.json', status: 200 },
  private: { id: 'ev22222', fixture: 'video.private.json', status: 200 },
  processing: { id: 'ev33333', fixture: 'video.processing.json', status: 200 },
  hlsOnly: { id: 'ev44444', fixture: 'video.hls-only.json', status: 200 },
  missing: { id: 'ev99999', fixture: 'error.not-found.json', status: 404 },
} as const;

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

export function installExampleVod(server: FixtureServer): void {
  const byId = new Map<string, { fixture: string; status: number }>(Object.values(EXAMPLE_VOD_VIDEOS).map((v) => [v.id, v]));
  server.route('GET', /^\/v1\/videos\/([^/]+)$/, (_req, res, ctx) => {
    const video = byId.get(ctx.match![1]!) ?? EXAMPLE_VOD_VIDEOS.missing;
    sendText(res, video.status, fixture(video.fixture), { 'content-type': 'application/json' });
  }, { host: 'vod-api.example.test' });
  server.route('GET', /^\/([^/]+)\/240p\.mp4$/, async (_req, res, ctx) => {
    if (ctx.query.get('token') !== 'abc123') return sendText(res, 403, 'bad token');
    await serveFile(res, mediaPath('sample.mp4'), { contentType: 'video/mp4' });
  }, { host: 'vod-cdn.example.test' });
  server.route('GET', /\.m3u8$/, (_req, res) => sendText(res, 200, '#EXTM3U\n', { 'content-type': 'application/vnd.apple.mpegurl' }), { host: 'vod-cdn.example.test' });
}
