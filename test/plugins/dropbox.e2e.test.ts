// Dropbox end to end: the real engine against an HTTPS stand-in for www.dropbox.com and its content host
// (plugins/dropbox/test/site.ts), routed to loopback. The stand-in refuses a download without `rlkey`
// with a 200 HTML sign-in page, and redirects `dl=1` to `uc<hex>.dl.dropboxusercontent.com` with a
// Content-Disposition, as Dropbox does.
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pluginE2e } from './e2e.js';
import { dropbox } from '../../plugins/dropbox/index.js';
import type { FixtureServer } from '../support/fixture-server.js';
import type { TestEngine } from '../support/engine.js';
import { DROPBOX_CONTENT_HOST, DROPBOX_HOSTS, DROPBOX_LEGACY, DROPBOX_SHARES, installDropbox } from '../../plugins/dropbox/test/site.js';
import type { DropboxSite } from '../../plugins/dropbox/test/site.js';

const { video } = DROPBOX_SHARES;
const SHARE = `https://www.dropbox.com/scl/fi/${video.id}/Team%20demo.mp4?rlkey=${video.rlkey}&st=x1y2z3w4&dl=0`;
let server: FixtureServer;
let site: DropboxSite;
let engine: TestEngine;

const fileCount = (): Promise<number> => harness.fileCount();
const shareUrl = (share: { id: string; rlkey: string; name: string }, extra = ''): string =>
  `https://www.dropbox.com/scl/fi/${share.id}/${encodeURIComponent(share.name)}?rlkey=${share.rlkey}&dl=0${extra}`;

const harness = pluginE2e({ install: installDropbox, hosts: DROPBOX_HOSTS });
beforeAll(() => {
  ({ server, site, engine } = harness);
});

beforeEach(() => {
  server.clearRequests();
  site.shareRequests.length = 0;
});

describe('Dropbox happy path', () => {
  it('syncs a shared file to completed: dl=1 with rlkey and st kept, through the content host', async () => {
    const file = await engine.ingest.sync(SHARE, { wait: true });
    expect(file).toMatchObject({
      status: 'completed', source: 'dropbox', media_type: 'video', url: SHARE,
      canonical_url: `https://www.dropbox.com/scl/fi/${video.id}/Team%20demo.mp4?rlkey=${video.rlkey}`,
      // Content-Disposition's filename* wins over the link's name.
      filename: 'Équipe démo.mp4',
      source_metadata: { source_type: 'dropbox', dropbox_id: video.id, name: 'Team demo.mp4', share_form: 'scl' },
    });
    expect(file.media_info).toMatchObject({ width: 320, height: 240, has_audio: true });
    expect(Math.abs((file.media_info?.duration_seconds ?? 0) - 45)).toBeLessThan(0.1);
    const [request] = site.shareRequests;
    const query = new URL(request!.url, 'https://www.dropbox.com').searchParams;
    expect(Object.fromEntries(query)).toEqual({ rlkey: video.rlkey, st: 'x1y2z3w4', dl: '1' });
    expect(site.contentRequests()).toBe(1);
  });

  it('syncs a legacy /s/ link, redirected through /scl/fi/ to the content host', async () => {
    const legacy = `https://www.dropbox.com/s/${DROPBOX_LEGACY.key}/clip.mp4?dl=0`;
    const file = await engine.ingest.sync(legacy, { wait: true });
    expect(file).toMatchObject({
      status: 'completed', source: 'dropbox', canonical_url: `https://www.dropbox.com/s/${DROPBOX_LEGACY.key}/clip.mp4`,
      source_metadata: { source_type: 'dropbox', dropbox_id: DROPBOX_LEGACY.key, share_form: 's' },
    });
    expect(server.requests.map((r) => `${r.host}${r.path}`)).toEqual([
      `www.dropbox.com/s/${DROPBOX_LEGACY.key}/clip.mp4`,
      `www.dropbox.com/scl/fi/${video.id}/Team%20demo.mp4`,
      `${DROPBOX_CONTENT_HOST}${server.requests[2]!.path}`,
    ]);
    expect(server.requests[0]!.url).toContain('dl=1');
  });

  it('syncs an audio file as audio', async () => {
    const file = await engine.ingest.sync(shareUrl(DROPBOX_SHARES.audio), { wait: true });
    expect(file).toMatchObject({ status: 'completed', media_type: 'audio', source: 'dropbox', filename: 'voice note.mp3' });
  });
});

describe('Dropbox URL forms', () => {
  it.each([
    `https://www.dropbox.com/scl/fi/${video.id}/Team%20demo.mp4?rlkey=${video.rlkey}`,
    `https://www.dropbox.com/scl/fi/${video.id}/Team%20demo.mp4?rlkey=${video.rlkey}&dl=1`,
    `https://www.dropbox.com/scl/fi/${video.id}/Team%20demo.mp4?dl=0&rlkey=${video.rlkey}&st=other123`,
    `https://www.dropbox.com/scl/fi/${video.id}/Team%20demo.mp4?rlkey=${video.rlkey}&raw=1`,
    `https://www.dropbox.com/scl/fi/${video.id}/Team%20demo.mp4?rlkey=${video.rlkey}&utm_source=mail#frag`,
    `https://www.dropbox.com/e/scl/fi/${video.id}/Team%20demo.mp4?rlkey=${video.rlkey}`,
    `https://dropbox.com/scl/fi/${video.id}/Team%20demo.mp4?rlkey=${video.rlkey}&dl=0`,
    `http://WWW.DROPBOX.COM/scl/fi/${video.id}/Team%20demo.mp4?rlkey=${video.rlkey}`,
  ])('%s is the same file as the canonical form, known offline', async (form) => {
    const first = await engine.ingest.sync(SHARE, { wait: true });
    server.clearRequests();
    const again = await engine.ingest.sync(form);
    expect(again.id).toBe(first.id);
    expect(server.requests).toHaveLength(0);
  });

  it('a different rlkey is a different identity (and here, a refused one)', async () => {
    await expect(engine.ingest.sync(`https://www.dropbox.com/scl/fi/${video.id}/Team%20demo.mp4?rlkey=wrongkey&dl=0`)).rejects.toMatchObject({ code: 'source_forbidden' });
  });
});

describe('Dropbox failures', () => {
  it.each([
    ['no rlkey: redirected to the sign-in page (200 HTML)', `https://www.dropbox.com/scl/fi/${video.id}/Team%20demo.mp4?dl=0`, 'source_forbidden', /rlkey/],
    ['a team-only link: sign-in page in place (200 HTML)', shareUrl(DROPBOX_SHARES.teamOnly), 'source_forbidden', /sign-in/],
    ['a dead share id (404 error page)', shareUrl({ id: 'nosuchshare000000', rlkey: 'x', name: 'x.mp4' }), 'source_not_found', /404|not found/i],
    ['a deleted file (200 error page)', shareUrl(DROPBOX_SHARES.deleted), 'source_not_found', /does not exist|removed/],
    ['an expired link', shareUrl(DROPBOX_SHARES.expired), 'source_forbidden', /expired/],
    ['a link over its traffic limit (429)', shareUrl(DROPBOX_SHARES.traffic), 'upstream_blocked', /429|rate/i],
    ['a ZIP behind a .mp4 name', shareUrl(DROPBOX_SHARES.zip), 'unsupported_media_type', /ZIP/i],
  ])('%s → %s with no file', async (_name, url, code, message) => {
    const before = (await fileCount());
    await expect(engine.ingest.sync(url)).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    expect((await fileCount())).toBe(before);
  });

  it.each([
    `https://www.dropbox.com/scl/fo/abcdef123456/AAB_xyz?rlkey=k&dl=0`,
    `https://www.dropbox.com/sh/abcdef123456/AAB_xyz?dl=0`,
    `https://www.dropbox.com/e/scl/fo/abcdef123456/AAB_xyz?rlkey=k`,
  ])('refuses the folder link %s with folder_not_supported, without a request', async (url) => {
    await expect(engine.ingest.sync(url)).rejects.toMatchObject({ code: 'folder_not_supported' });
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a Dropbox page that is not a share link with invalid_url', async () => {
    await expect(engine.ingest.sync('https://www.dropbox.com/home/Videos')).rejects.toMatchObject({ code: 'invalid_url' });
    expect(server.requests).toHaveLength(0);
  });
});
