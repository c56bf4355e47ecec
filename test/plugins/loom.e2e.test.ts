// Loom end to end: the real engine against an HTTPS stand-in for www.loom.com (session API, GraphQL, oEmbed),
// cdn.loom.com (signed MP4/WebM) and luna.loom.com (HLS/DASH manifests), routed to loopback
// (plugins/loom/test/site.ts).
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pluginE2e } from './e2e.js';
import { loom } from '../../plugins/loom/index.js';
import type { FixtureServer } from '../support/fixture-server.js';
import type { TestEngine } from '../support/engine.js';
import { installLoom, LOOM_HOSTS, LOOM_VIDEOS } from '../../plugins/loom/test/site.js';
import type { LoomSite } from '../../plugins/loom/test/site.js';

const ID = LOOM_VIDEOS.ok.id;
let server: FixtureServer;
let site: LoomSite;
let engine: TestEngine;

const fileCount = (): Promise<number> => harness.fileCount();

const harness = pluginE2e({ install: installLoom, hosts: LOOM_HOSTS });
beforeAll(() => {
  ({ server, site, engine } = harness);
});

beforeEach(() => {
  server.clearRequests();
  site.apiCalls.length = 0;
});

describe('Loom happy path', () => {
  it('syncs a share link to completed with the title, owner and duration from GetVideoSSR', async () => {
    const url = `https://www.loom.com/share/${ID}?sid=8d2b1e7c-3f40-4a55-9d0e-2c6b7a1f0e99`;
    const file = await engine.ingest.sync(url, { wait: true });
    expect(file).toMatchObject({
      status: 'completed', source: 'loom', media_type: 'video', url, canonical_url: `https://www.loom.com/share/${ID}`,
      filename: 'Q3 roadmap walkthrough demo draft.mp4',
      source_metadata: {
        source_type: 'loom', loom_id: ID, title: 'Q3 roadmap: walkthrough / demo <draft>', owner_name: 'Ada Lovelace',
        created_at: '2025-03-28T07:57:18.213Z', duration_seconds: 27.48, width: 1920, height: 1080,
      },
    });
    expect(file.media_info).toMatchObject({ width: 320, height: 240, has_audio: true });
    expect(site.apiCalls.map((c) => c.endpoint)).toEqual(['transcoded-url']);
    expect(site.apiCalls[0]!.body).toEqual({ force_original: false, password: null, anonID: null, deviceID: null });
    expect(site.cdnRequests().map((r) => r.path)).toEqual([`/sessions/transcoded/${ID}.mp4`]);
  });

  it('falls back to raw-url when transcoded-url answers an empty body (and oEmbed when GraphQL fails)', async () => {
    const { id } = LOOM_VIDEOS.emptyThenRaw;
    const file = await engine.ingest.sync(`https://www.loom.com/share/${id}`, { wait: true });
    expect(file).toMatchObject({ status: 'completed', source: 'loom', source_metadata: { source_type: 'loom', loom_id: id, owner_name: expect.any(String) } });
    expect(site.apiCalls.map((c) => c.endpoint)).toEqual(['transcoded-url', 'raw-url']);
    expect(site.cdnRequests().map((r) => r.path)).toEqual([`/sessions/raw/${id}.mp4`]);
    expect(server.count('GET', '/v1/oembed')).toBe(1);
  });

  it('falls back to raw-url when transcoded-url answers HTML, and takes its WebM', async () => {
    const { id } = LOOM_VIDEOS.htmlThenWebm;
    const file = await engine.ingest.sync(`https://www.loom.com/embed/${id}`, { wait: true });
    expect(file).toMatchObject({ status: 'completed', filename: expect.stringMatching(/\.webm$/) });
    expect(file.media_info?.format).toMatch(/webm|matroska/);
    expect(site.cdnRequests().map((r) => r.path)).toEqual([`/sessions/raw/${id}.webm`]);
  });
});

describe('Loom URL forms', () => {
  it.each([
    `https://www.loom.com/share/${ID}`,
    `https://loom.com/share/${ID}`,
    `https://www.loom.com/share/${ID}?sid=0b7e6a2d-1111-4c4c-8888-2f2f2f2f2f2f`,
    `https://www.loom.com/share/Q3-roadmap-walkthrough-${ID}`,
    `https://www.loom.com/share/Q3-roadmap-walkthrough-${ID}?t=12`,
    `https://www.loom.com/embed/${ID}`,
    `https://www.loom.com/embed/${ID}?hideEmbedTopBar=true`,
    `http://WWW.LOOM.COM/share/${ID.toUpperCase()}`,
  ])('%s is the same file as the canonical form, known offline', async (form) => {
    const first = await engine.ingest.sync(`https://www.loom.com/share/${ID}`, { wait: true });
    server.clearRequests();
    const again = await engine.ingest.sync(form);
    expect(again.id).toBe(first.id);
    expect(server.requests).toHaveLength(0);
  });
});

describe('Loom failures', () => {
  it.each([
    ['an HLS playlist from raw-url', LOOM_VIDEOS.hls.id, 'unsupported_media_type', /HLS/],
    ['a DASH manifest from raw-url', LOOM_VIDEOS.dash.id, 'unsupported_media_type', /DASH/],
    ['a private video', LOOM_VIDEOS.private.id, 'source_forbidden', /private/],
    ['a password-protected video', LOOM_VIDEOS.password.id, 'source_forbidden', /password/],
    ['a deleted video', LOOM_VIDEOS.missing.id, 'source_not_found', /does not exist/],
  ])('%s → %s with no file, and no manifest is ever fetched', async (_name, id, code, message) => {
    const before = (await fileCount());
    await expect(engine.ingest.sync(`https://www.loom.com/share/${id}`)).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    expect((await fileCount())).toBe(before);
    expect(site.manifestRequests()).toHaveLength(0);
    expect(site.cdnRequests()).toHaveLength(0);
  });

  it('refuses a manifest served under an .mp4 URL by its content, before any byte is stored', async () => {
    const id = '8192a3b4c5d6e7f8091a2b3c4d5e6f78';
    site.scenarios.set(id, { transcoded: 'ok', graphql: 'regular' });
    server.route('GET', `/sessions/transcoded/${id}.mp4`, (_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4' });
      res.end('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttps://luna.loom.com/1080p/playlist.m3u8\n');
    }, { host: 'cdn.loom.com' });
    const before = (await fileCount());
    await expect(engine.ingest.sync(`https://www.loom.com/share/${id}`)).rejects.toMatchObject({ code: 'unsupported_media_type' });
    expect((await fileCount())).toBe(before);
    expect(site.manifestRequests()).toHaveLength(0);
  });

  it.each([
    'https://www.loom.com/share/folder/0123456789abcdef0123456789abcdef',
    'https://loom.com/share/folder/0123456789abcdef0123456789abcdef/My-folder',
  ])('refuses the folder link %s with folder_not_supported, without a request', async (url) => {
    await expect(engine.ingest.sync(url)).rejects.toMatchObject({ code: 'folder_not_supported' });
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a Loom page that names no video with invalid_url', async () => {
    await expect(engine.ingest.sync('https://www.loom.com/looms/videos')).rejects.toMatchObject({ code: 'invalid_url' });
    expect(server.requests).toHaveLength(0);
  });
});
