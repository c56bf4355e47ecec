// A loopback stand-in for Dropbox shared links, answering for the real hostnames with the recorded-shape pages of
// test/fixtures/. Like the real service:
// - `/scl/fi/<id>/<name>?rlkey=<key>&dl=1` answers 302 to `https://uc<hex>.dl.dropboxusercontent.com/cd/0/get/<token>/file?dl=1`,
//   which serves the bytes as application/octet-stream with a Content-Disposition;
// - without (or with a wrong) `rlkey` it redirects to `/login` and serves the sign-in page with 200;
// - `dl=0` (or no `dl`) serves the HTML preview page with 200;
// - a legacy `/s/<key>/<name>?dl=1` link redirects through `/scl/fi/...` first;
// - dead, deleted, expired and rate-limited links answer with the matching error pages.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { redirect, sendText, serveBuffer, serveFile } from '../../../test/support/fixture-server.js';
import type { FixtureServer, LoggedRequest } from '../../../test/support/fixture-server.js';
import { mediaPath } from '../../../test/support/media.js';

/** The host the download is served from (the real ones are `uc<hex>.dl.dropboxusercontent.com`). */
export const DROPBOX_CONTENT_HOST = 'uc8f3a91c2d4e5b6a7f8091a2b3c4.dl.dropboxusercontent.com';
export const DROPBOX_HOSTS = ['www.dropbox.com', 'dropbox.com', DROPBOX_CONTENT_HOST];

/** What a share answers when downloaded with the right rlkey. */
export type DropboxShareKind =
  | 'ok' | 'audio' | 'deleted' | 'expired' | 'traffic' | 'login-in-place' | 'zip';

export interface DropboxShare {
  id: string;
  rlkey: string;
  name: string;
  kind: DropboxShareKind;
  /** The `Content-Disposition` filename (UTF-8) sent with the bytes. */
  downloadName?: string;
}

export const DROPBOX_SHARES = {
  video: { id: 'k3y9abcd0123efgh4567i', rlkey: 'q8w7e6r5t4y3u2i1o0p9', name: 'Team demo.mp4', kind: 'ok', downloadName: 'Équipe démo.mp4' },
  audio: { id: 'a5u6d7i8o9aud10aud11', rlkey: 'aud1rlkey2aud3', name: 'voice note.mp3', kind: 'audio' },
  deleted: { id: 'dele7eddele7eddele7ed', rlkey: 'delrlkey', name: 'gone.mp4', kind: 'deleted' },
  expired: { id: 'expi4edexpi4edexpi4ed', rlkey: 'exprlkey', name: 'old.mp4', kind: 'expired' },
  traffic: { id: 'traff1ctraff1ctraff1c', rlkey: 'trarlkey', name: 'popular.mp4', kind: 'traffic' },
  teamOnly: { id: 'teamon1yteamon1yteam1', rlkey: 'teamrlkey', name: 'internal.mp4', kind: 'login-in-place' },
  zip: { id: 'z1pz1pz1pz1pz1pz1pz1p', rlkey: 'ziprlkey', name: 'video.mp4', kind: 'zip' },
} as const satisfies Record<string, DropboxShare>;

/** Legacy `/s/<key>/<name>` links and the share they stand for. */
export const DROPBOX_LEGACY = { key: 'l3gacyk3y0001', share: DROPBOX_SHARES.video } as const;

export function dropboxFixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

export interface DropboxSite {
  /** Requests for `/scl/fi/...` as received (to check `dl=1`, `rlkey`, `st`). */
  readonly shareRequests: LoggedRequest[];
  /** Tokens handed out in content-host redirects. */
  readonly tokens: Map<string, DropboxShare>;
  contentRequests(): number;
}

const html = (status: number, body: string): [number, string, Record<string, string>] => [status, body, { 'content-type': 'text/html; charset=utf-8' }];

export function installDropbox(server: FixtureServer): DropboxSite {
  const shares = new Map<string, DropboxShare>(Object.values(DROPBOX_SHARES).map((s) => [s.id, s]));
  const tokens = new Map<string, DropboxShare>();
  const shareRequests: LoggedRequest[] = [];
  const www = { host: /^(www\.)?dropbox\.com$/ };

  server.route('GET', /^\/scl\/fi\/([^/]+)\/([^/]+)$/, (_req, res, ctx) => {
    shareRequests.push(ctx.request);
    const share = shares.get(ctx.match![1]!);
    if (!share) return sendText(res, ...html(404, dropboxFixture('error-404.html')));
    if (ctx.query.get('rlkey') !== share.rlkey) {
      return redirect(res, 302, `https://www.dropbox.com/login?cont=${encodeURIComponent(ctx.request.url)}`);
    }
    if (ctx.query.get('dl') !== '1') {
      return sendText(res, ...html(200, `<!doctype html><title>${share.name} | Dropbox</title><div id="preview">${share.name}</div>`));
    }
    switch (share.kind) {
      case 'deleted':
        return sendText(res, ...html(200, dropboxFixture('deleted-file.html')));
      case 'expired':
        return sendText(res, ...html(200, dropboxFixture('expired-link.html')));
      case 'traffic':
        return sendText(res, ...html(429, dropboxFixture('traffic-limit.html')));
      case 'login-in-place':
        return sendText(res, ...html(200, dropboxFixture('login-page-no-redirect.html')));
      default: {
        const token = randomBytes(24).toString('base64url');
        tokens.set(token, share);
        return redirect(res, 302, `https://${DROPBOX_CONTENT_HOST}/cd/0/get/${token}/file?dl=1#`);
      }
    }
  }, www);

  server.route('GET', /^\/s\/([^/]+)\/([^/]+)$/, (_req, res, ctx) => {
    if (ctx.match![1] !== DROPBOX_LEGACY.key) return sendText(res, ...html(404, dropboxFixture('error-404.html')));
    const { share } = DROPBOX_LEGACY;
    const target = new URL(`https://www.dropbox.com/scl/fi/${share.id}/${encodeURIComponent(share.name)}`);
    target.searchParams.set('rlkey', share.rlkey);
    target.searchParams.set('dl', ctx.query.get('dl') ?? '0');
    return redirect(res, 301, target.href);
  }, www);

  server.route('GET', /^\/login/, (_req, res) => sendText(res, ...html(200, dropboxFixture('login-page.html'))), www);

  server.route('GET', /^\/cd\/0\/get\/([^/]+)\/file$/, async (_req, res, ctx) => {
    const share = tokens.get(ctx.match![1]!);
    if (!share) return sendText(res, 404, 'not found');
    const shown = share.downloadName ?? share.name;
    const ascii = shown.normalize('NFKD').replace(/[^\x20-\x7e]/g, '').replace(/["\\]/g, '');
    const headers = { 'content-disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(shown)}` };
    if (share.kind === 'zip') {
      return serveBuffer(res, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(512, 7)]), { contentType: 'application/zip', headers });
    }
    const file = share.kind === 'audio' ? 'sample.mp3' : 'sample.mp4';
    await serveFile(res, mediaPath(file), { contentType: 'application/octet-stream', headers, supportRange: true });
  }, { host: DROPBOX_CONTENT_HOST });

  return { shareRequests, tokens, contentRequests: () => server.requests.filter((r) => r.host === DROPBOX_CONTENT_HOST).length };
}
