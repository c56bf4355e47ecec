import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { CookieJar } from 'tough-cookie';
import { describe, expect, it } from 'vitest';
import { expectIngestError } from '../support/errors.js';
import type { HttpResponse, ResolveContext } from '../../src/plugin-api.js';
import {
  classifyDropboxPage,
  dropbox,
  dropboxDownloadUrl,
  dropboxFilename,
  dropboxIdentity,
  dropboxPageError,
  dropboxSourceMetadata,
  isHtmlBody,
  parseDropboxFileUrl,
  parseDropboxUrl,
} from '../../plugins/dropbox/index.js';
import type { DropboxResponseFacts } from '../../plugins/dropbox/index.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../plugins/dropbox/test/fixtures/${name}`, import.meta.url));

const ID = 'k3j2h1g0f9e8d7c6b5a4z';
const RLKEY = 'q1w2e3r4t5y6u7i8o9p0asdfg';
const SCL = `https://www.dropbox.com/scl/fi/${ID}/Team%20demo%20(final).mp4?rlkey=${RLKEY}&dl=0&st=ab12cd34`;
const LEGACY = 'https://www.dropbox.com/s/a1b2c3d4e5f6g7h/clip.mov?dl=0';

const identify = (url: string) => dropbox().identify(new URL(url));
const download = (url: string) => {
  const u = new URL(url);
  return dropboxDownloadUrl(u, parseDropboxFileUrl(u));
};

describe('dropbox URL recognition', () => {
  it.each([
    SCL,
    `https://WWW.DROPBOX.COM/scl/fi/${ID}/x.mp4?rlkey=${RLKEY}`,
    `https://www.dropbox.com./scl/fi/${ID}/x.mp4?rlkey=${RLKEY}`,
    `https://dropbox.com/scl/fi/${ID}/x.mp4?rlkey=${RLKEY}`,
    `http://www.dropbox.com/scl/fi/${ID}/x.mp4?rlkey=${RLKEY}`,
    `https://www.dropbox.com/e/scl/fi/${ID}/x.mp4?rlkey=${RLKEY}`,
    LEGACY,
    `https://www.dropbox.com/scl/fo/abc/def?rlkey=${RLKEY}`,
    'https://www.dropbox.com/sh/abc123/AADxyz',
    'https://www.dropbox.com/home',
  ])('matches %s', (url) => {
    expect(dropbox().matches(new URL(url))).toBe(true);
  });

  it.each([
    'https://dl.dropboxusercontent.com/s/a1b2c3d4e5f6g7h/clip.mov',
    'https://uc1a2b.dl.dropboxusercontent.com/cd/0/get/TOKEN/file?dl=1',
    'https://www.dropbox.com.evil.example/scl/fi/x/y?rlkey=z',
    'https://notdropbox.com/scl/fi/x/y',
    'https://www.loom.com/share/0f3c9a7e21b84d6c9e5a1b2c3d4e5f60',
    'ftp://www.dropbox.com/scl/fi/x/y',
  ])('does not match %s', (url) => {
    expect(dropbox().matches(new URL(url))).toBe(false);
  });

  it('parses a current scl/fi link', () => {
    expect(parseDropboxUrl(new URL(SCL))).toEqual({
      kind: 'file', form: 'scl', shareId: ID, rlkey: RLKEY, rawName: 'Team%20demo%20(final).mp4', name: 'Team demo (final).mp4', embed: false,
    });
  });

  it('parses the legacy /s/ link and the /s/dl/ redirect hop', () => {
    expect(parseDropboxUrl(new URL(LEGACY))).toMatchObject({ kind: 'file', form: 's', shareId: 'a1b2c3d4e5f6g7h', name: 'clip.mov' });
    expect(parseDropboxUrl(new URL('https://www.dropbox.com/s/dl/a1b2c3d4e5f6g7h/clip.mov'))).toMatchObject({ form: 's', shareId: 'a1b2c3d4e5f6g7h' });
  });

  it('parses links without a name segment', () => {
    expect(parseDropboxUrl(new URL(`https://www.dropbox.com/scl/fi/${ID}?rlkey=${RLKEY}`))).toMatchObject({ shareId: ID, name: undefined });
  });

  it.each([
    `https://www.dropbox.com/scl/fo/f0ld3r1d/AAB_hash?rlkey=${RLKEY}&dl=0`,
    `https://www.dropbox.com/e/scl/fo/f0ld3r1d/AAB_hash?rlkey=${RLKEY}`,
    'https://www.dropbox.com/sh/abc123def456/AADxyz?dl=0',
    'https://DROPBOX.COM./sh/abc123def456/AADxyz',
  ])('refuses the folder link %s with folder_not_supported', (url) => {
    const error = expectIngestError(() => identify(url), 'folder_not_supported', /folder links are not supported/i);
    expect(error.httpStatus).toBe(400);
  });

  it.each(['https://www.dropbox.com/home', 'https://www.dropbox.com/scl/fi/', 'https://www.dropbox.com/s/', 'https://www.dropbox.com/'])(
    'refuses the non-share page %s with invalid_url',
    (url) => {
      expectIngestError(() => identify(url), 'invalid_url', /Dropbox shared-file link/);
    },
  );
});

describe('dropbox identity', () => {
  const sclKey = `dropbox:scl:${ID}:${RLKEY}`;

  it('keys a scl link by id and rlkey, with the canonical URL', () => {
    expect(identify(SCL)).toEqual({
      key: sclKey,
      canonicalUrl: `https://www.dropbox.com/scl/fi/${ID}/Team%20demo%20(final).mp4?rlkey=${RLKEY}`,
    });
  });

  it.each([
    `https://www.dropbox.com/scl/fi/${ID}/Team%20demo%20(final).mp4?rlkey=${RLKEY}&dl=1`,
    `https://www.dropbox.com/scl/fi/${ID}/Team%20demo%20(final).mp4?dl=0&rlkey=${RLKEY}`,
    `https://www.dropbox.com/scl/fi/${ID}/Team%20demo%20(final).mp4?rlkey=${RLKEY}&raw=1`,
    `https://www.dropbox.com/scl/fi/${ID}/Team%20demo%20(final).mp4?rlkey=${RLKEY}&st=zz99yy88&dl=0&utm_source=slack`,
    `https://WWW.DROPBOX.COM./scl/fi/${ID}/Team%20demo%20(final).mp4?rlkey=${RLKEY}`,
    `https://dropbox.com/e/scl/fi/${ID}/Team%20demo%20(final).mp4?rlkey=${RLKEY}`,
    `http://www.dropbox.com/scl/fi/${ID}/Team%20demo%20(final).mp4?rlkey=${RLKEY}#t=3`,
    `https://www.dropbox.com/scl/fi/${ID}/renamed.mp4?rlkey=${RLKEY}`,
  ])('%s has the same key as the plain share link', (url) => {
    expect(identify(url)?.key).toBe(sclKey);
  });

  it('gives the same canonical URL across equivalent forms', () => {
    const canon = identify(SCL)?.canonicalUrl;
    expect(identify(`https://DROPBOX.com./e/scl/fi/${ID}/Team%20demo%20(final).mp4?st=x&rlkey=${RLKEY}&raw=1`)?.canonicalUrl).toBe(canon);
  });

  it('tells different rlkeys apart', () => {
    expect(identify(`https://www.dropbox.com/scl/fi/${ID}/x.mp4?rlkey=other`)?.key).toBe(`dropbox:scl:${ID}:other`);
  });

  it('still identifies a scl link without rlkey (without it)', () => {
    expect(identify(`https://www.dropbox.com/scl/fi/${ID}/x.mp4?dl=0`)).toEqual({
      key: `dropbox:scl:${ID}`,
      canonicalUrl: `https://www.dropbox.com/scl/fi/${ID}/x.mp4`,
    });
  });

  it('keys legacy links by their key only', () => {
    expect(identify(LEGACY)).toEqual({ key: 'dropbox:s:a1b2c3d4e5f6g7h', canonicalUrl: 'https://www.dropbox.com/s/a1b2c3d4e5f6g7h/clip.mov' });
    expect(identify('https://dropbox.com./s/a1b2c3d4e5f6g7h/clip.mov?raw=1&st=1')?.key).toBe('dropbox:s:a1b2c3d4e5f6g7h');
  });
});

describe('dropbox direct-download URL', () => {
  it('turns dl=0 into dl=1 in place, keeping rlkey, st and their order', () => {
    expect(download(SCL)).toBe(`https://www.dropbox.com/scl/fi/${ID}/Team%20demo%20(final).mp4?rlkey=${RLKEY}&dl=1&st=ab12cd34`);
  });

  it('keeps the parameter order when dl comes first', () => {
    expect(download(`https://www.dropbox.com/scl/fi/${ID}/a.mp4?dl=0&st=s1&rlkey=${RLKEY}`)).toBe(
      `https://www.dropbox.com/scl/fi/${ID}/a.mp4?dl=1&st=s1&rlkey=${RLKEY}`,
    );
  });

  it('removes raw=1 and appends dl=1 when absent', () => {
    expect(download(`https://www.dropbox.com/scl/fi/${ID}/a.mp4?rlkey=${RLKEY}&raw=1&st=s1`)).toBe(
      `https://www.dropbox.com/scl/fi/${ID}/a.mp4?rlkey=${RLKEY}&st=s1&dl=1`,
    );
    expect(download(`https://www.dropbox.com/scl/fi/${ID}/a.mp4?rlkey=${RLKEY}`)).toBe(
      `https://www.dropbox.com/scl/fi/${ID}/a.mp4?rlkey=${RLKEY}&dl=1`,
    );
  });

  it('keeps every other parameter and collapses repeated dl', () => {
    expect(download(`https://www.dropbox.com/scl/fi/${ID}/a.mp4?rlkey=${RLKEY}&dl=0&e=1&dl=0`)).toBe(
      `https://www.dropbox.com/scl/fi/${ID}/a.mp4?rlkey=${RLKEY}&dl=1&e=1`,
    );
  });

  it('turns the embed form into the normal /scl/fi/ path', () => {
    expect(download(`https://www.dropbox.com/e/scl/fi/${ID}/a.mp4?rlkey=${RLKEY}&st=s1`)).toBe(
      `https://www.dropbox.com/scl/fi/${ID}/a.mp4?rlkey=${RLKEY}&st=s1&dl=1`,
    );
  });

  it('normalises host and scheme, drops the fragment', () => {
    expect(download(`http://DROPBOX.COM.:80/scl/fi/${ID}/a.mp4?rlkey=${RLKEY}&dl=0#x`)).toBe(
      `https://www.dropbox.com/scl/fi/${ID}/a.mp4?rlkey=${RLKEY}&dl=1`,
    );
  });

  it('handles legacy links', () => {
    expect(download(LEGACY)).toBe('https://www.dropbox.com/s/a1b2c3d4e5f6g7h/clip.mov?dl=1');
    expect(download('https://www.dropbox.com/s/a1b2c3d4e5f6g7h/clip.mov?raw=1')).toBe('https://www.dropbox.com/s/a1b2c3d4e5f6g7h/clip.mov?dl=1');
  });
});

describe('dropbox filename and provenance', () => {
  it('percent-decodes the name segment', () => {
    expect(dropboxFilename(parseDropboxFileUrl(new URL(SCL)))).toBe('Team demo (final).mp4');
    expect(dropboxFilename(parseDropboxFileUrl(new URL(`https://www.dropbox.com/scl/fi/${ID}/caf%C3%A9.mp4?rlkey=k`)))).toBe('café.mp4');
  });

  it('removes path separators and tolerates bad escapes', () => {
    expect(dropboxFilename(parseDropboxFileUrl(new URL(`https://www.dropbox.com/s/k/..%2F..%2Fetc%2Fpasswd`)))).toBe('.._.._etc_passwd');
    expect(dropboxFilename(parseDropboxFileUrl(new URL(`https://www.dropbox.com/s/k/100%zz.mp4`)))).toBe('100%zz.mp4');
    expect(dropboxFilename(parseDropboxFileUrl(new URL(`https://www.dropbox.com/scl/fi/${ID}?rlkey=k`)))).toBeUndefined();
  });

  it('maps provenance onto the DropboxSourceMetadata field names', () => {
    const link = parseDropboxFileUrl(new URL(SCL));
    const { canonicalUrl } = dropboxIdentity(link);
    expect(dropboxSourceMetadata(link, canonicalUrl)).toEqual({
      source_type: 'dropbox', dropbox_id: ID, name: 'Team demo (final).mp4', share_url: canonicalUrl, share_form: 'scl',
    });
  });
});

describe('dropbox page classification', () => {
  const dlUrl = `https://www.dropbox.com/scl/fi/${ID}/demo.mp4?rlkey=${RLKEY}&dl=1`;
  const facts = (over: Partial<DropboxResponseFacts> = {}): DropboxResponseFacts => ({
    url: dlUrl, status: 200, redirects: [], contentType: 'text/html; charset=utf-8', ...over,
  });

  it('detects HTML by Content-Type or first bytes', () => {
    expect(isHtmlBody('text/html; charset=utf-8', Buffer.alloc(0))).toBe(true);
    expect(isHtmlBody('application/octet-stream', Buffer.from('\uFEFF  \n<!DOCTYPE html><html>'))).toBe(true);
    expect(isHtmlBody('binary/octet-stream', Buffer.from('<html>'))).toBe(true);
    expect(isHtmlBody('video/mp4', Buffer.from([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70]))).toBe(false);
    expect(isHtmlBody(undefined, Buffer.from('OggS'))).toBe(false);
  });

  it('treats a redirect to /login as a login page', () => {
    const f = facts({ url: 'https://www.dropbox.com/login?cont=%2Fscl%2Ffi%2Fx', redirects: [dlUrl] });
    expect(classifyDropboxPage(f, fixture('login-page.html').toString())).toBe('login');
    expect(dropboxPageError(f, fixture('login-page.html'))?.code).toBe('source_forbidden');
  });

  it('recognises a sign-in wall served in place', () => {
    expect(dropboxPageError(facts(), fixture('login-page-no-redirect.html'))?.code).toBe('source_forbidden');
    expect(dropboxPageError(facts({ status: 403 }), Buffer.from('<html><body></body></html>'))?.code).toBe('source_forbidden');
  });

  it('hints at a missing rlkey', () => {
    const error = dropboxPageError(facts({ url: 'https://www.dropbox.com/login', redirects: [`https://www.dropbox.com/scl/fi/${ID}/a.mp4?dl=1`] }), fixture('login-page.html'));
    expect(error?.message).toMatch(/no rlkey/);
    expect(dropboxPageError(facts({ url: 'https://www.dropbox.com/login', redirects: [dlUrl] }), fixture('login-page.html'))?.message).toMatch(/not public/);
  });

  it('classifies the 404 error page as not found even though it links to sign-in', () => {
    expect(classifyDropboxPage(facts(), fixture('error-404.html').toString())).toBe('not_found');
    expect(dropboxPageError(facts({ status: 404 }), fixture('error-404.html'))?.code).toBe('source_not_found');
    expect(dropboxPageError(facts({ contentType: 'application/octet-stream' }), fixture('error-404.html'))?.code).toBe('source_not_found');
  });

  it('classifies the deleted-file page as not found', () => {
    expect(dropboxPageError(facts(), fixture('deleted-file.html'))?.code).toBe('source_not_found');
  });

  it('classifies an expired link as forbidden and a traffic-limited link as blocked', () => {
    expect(dropboxPageError(facts(), fixture('expired-link.html'))?.code).toBe('source_forbidden');
    expect(dropboxPageError(facts(), fixture('traffic-limit.html'))?.code).toBe('upstream_blocked');
  });

  it('falls back to not found for an unknown HTML page', () => {
    expect(dropboxPageError(facts(), Buffer.from('<html><body><p>Something went wrong.</p></body></html>'))?.code).toBe('source_not_found');
  });

  it('leaves media bodies alone', () => {
    const mp4 = Buffer.from([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d]);
    expect(dropboxPageError(facts({ contentType: 'application/octet-stream' }), mp4)).toBeUndefined();
  });
});

/** A response whose body is already known. */
function fakeResponse(over: { url: string; status?: number; redirects?: string[]; headers?: Record<string, string>; body: Buffer }): HttpResponse {
  const headers = Object.fromEntries(Object.entries(over.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    url: over.url, status: over.status ?? 200, headers, redirects: over.redirects ?? [], body: Readable.from([over.body]),
    text: async () => over.body.toString('utf8'),
    json: async <T>() => JSON.parse(over.body.toString('utf8')) as T,
    dump: async () => undefined,
    header: (name: string) => headers[name.toLowerCase()],
  };
}

describe('dropbox plugin', () => {
  const ctx = (): ResolveContext => ({
    http: { request: () => Promise.reject(new Error('resolve must not use the network')) },
    cookies: new CookieJar(), logger: pino({ level: 'silent' }), signal: new AbortController().signal, userAgent: 'Mozilla/5.0 test',
  });

  it('declares its id and URL forms', () => {
    const plugin = dropbox();
    expect(plugin.id).toBe('dropbox');
    expect(plugin.urlForms.length).toBeGreaterThan(0);
    expect(plugin.description).toMatch(/Dropbox/);
  });

  it('resolves offline to the dl=1 request with provenance and filename', async () => {
    const resolved = await dropbox().resolve(new URL(SCL), ctx());
    expect(resolved.identity.key).toBe(`dropbox:scl:${ID}:${RLKEY}`);
    expect(resolved.download.url).toBe(`https://www.dropbox.com/scl/fi/${ID}/Team%20demo%20(final).mp4?rlkey=${RLKEY}&dl=1&st=ab12cd34`);
    expect(resolved.download.method ?? 'GET').toBe('GET');
    expect(resolved.filename).toBe('Team demo (final).mp4');
    expect(resolved.sourceMetadata).toMatchObject({ source_type: 'dropbox', dropbox_id: ID, name: 'Team demo (final).mp4' });
  });

  it('refuses folders in resolve too', async () => {
    await expect(dropbox().resolve(new URL('https://www.dropbox.com/sh/abc/def'), ctx())).rejects.toMatchObject({ code: 'folder_not_supported' });
  });

  it('checkResponse refuses login and error pages and passes media', () => {
    const plugin = dropbox();
    const login = fakeResponse({ url: 'https://www.dropbox.com/login?cont=x', redirects: [SCL], headers: { 'Content-Type': 'text/html' }, body: fixture('login-page.html') });
    expect(() => plugin.checkResponse!(login, fixture('login-page.html'))).toThrow(expect.objectContaining({ code: 'source_forbidden' }));
    const missing = fakeResponse({ url: SCL, status: 404, headers: { 'Content-Type': 'text/html' }, body: fixture('error-404.html') });
    expect(() => plugin.checkResponse!(missing, fixture('error-404.html'))).toThrow(expect.objectContaining({ code: 'source_not_found' }));
    const media = Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x6d, 0x70, 0x34, 0x32]);
    const ok = fakeResponse({
      url: 'https://uc1a2b3c.dl.dropboxusercontent.com/cd/0/get/TOKEN/file?dl=1', redirects: [SCL],
      headers: { 'Content-Type': 'application/octet-stream' }, body: media,
    });
    expect(() => plugin.checkResponse!(ok, media)).not.toThrow();
  });
});
