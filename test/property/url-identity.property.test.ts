// Property-based tests (fast-check) of URL identity: normalizeUrl, the URL policy and the plugins' identities are
// stable under harmless rewrites (host case, default port, fragment, percent-encoding case, trailing dot, tracking
// noise) and different for different paths and different videos.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeUrl } from '../../src/url/normalize.js';
import { parseAndCheckUrl } from '../../src/url/policy.js';
import { directHttp } from '../../plugins/direct-http/index.js';
import { tiktok } from '../../plugins/tiktok/index.js';
import { loom } from '../../plugins/loom/index.js';
import { dropbox } from '../../plugins/dropbox/index.js';

const RUNS = { numRuns: 300 };
const lower = 'abcdefghijklmnopqrstuvwxyz';
const chars = (alphabet: string, min: number, max: number) =>
  fc.array(fc.constantFrom(...alphabet.split('')), { minLength: min, maxLength: max }).map((a) => a.join(''));
const label = chars(`${lower}0123456789`, 1, 10);
const host = fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => `${labels.join('.')}.test`);
/** Path segments of unreserved characters only: two different ones can never normalise to the same string. */
const segment = chars(`${lower}ABCDEFGHIJ0123456789-._~`, 1, 12).filter((s) => s !== '.' && s !== '..');
const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`);
const query = fc.option(fc.array(fc.tuple(chars(lower, 1, 6), chars(`${lower}0123456789`, 0, 8)), { minLength: 1, maxLength: 3 })
  .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`), { nil: '' });
const base = fc.record({ scheme: fc.constantFrom('http', 'https'), host, port: fc.option(fc.integer({ min: 1024, max: 65535 }), { nil: undefined }), path, query });
type Base = { scheme: string; host: string; port: number | undefined; path: string; query: string };

const render = (u: Base): string => `${u.scheme}://${u.host}${u.port ? `:${u.port}` : ''}${u.path}${u.query}`;

/** Harmless rewrites of a URL, each applied or not. */
const rewrites = fc.record({
  hostCase: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
  defaultPort: fc.boolean(),
  fragment: fc.option(chars(`${lower}0123456789=&`, 0, 10), { nil: undefined }),
  trailingDot: fc.boolean(),
  encodeUnreserved: fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
  escapeCase: fc.boolean(),
  schemeCase: fc.boolean(),
});
type Rewrites = { hostCase: boolean[]; defaultPort: boolean; fragment: string | undefined; trailingDot: boolean; encodeUnreserved: boolean[]; escapeCase: boolean; schemeCase: boolean };

function rewrite(u: Base, r: Rewrites): string {
  const scheme = r.schemeCase ? u.scheme.toUpperCase() : u.scheme;
  const hostText = [...u.host].map((c, i) => (r.hostCase[i % r.hostCase.length] ? c.toUpperCase() : c)).join('') + (r.trailingDot ? '.' : '');
  const port = u.port ? `:${u.port}` : r.defaultPort ? (u.scheme === 'http' ? ':80' : ':443') : '';
  // Percent-encode some unreserved characters of the path (equivalent by RFC 3986 §6.2.2.2), in either hex case.
  const pathText = [...u.path].map((c, i) => {
    if (c === '/' || !r.encodeUnreserved[i % r.encodeUnreserved.length]) return c;
    const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
    return `%${r.escapeCase ? hex.toUpperCase() : hex.toLowerCase()}`;
  }).join('');
  return `${scheme}://${hostText}${port}${pathText}${u.query}${r.fragment === undefined ? '' : `#${r.fragment}`}`;
}

describe('normalizeUrl (property)', () => {
  it('is stable under harmless rewrites', () => {
    fc.assert(fc.property(base, rewrites, (u, r) => {
      expect(normalizeUrl(new URL(rewrite(u, r)))).toBe(normalizeUrl(new URL(render(u))));
    }), RUNS);
  });

  it('is idempotent', () => {
    fc.assert(fc.property(base, rewrites, (u, r) => {
      const once = normalizeUrl(new URL(rewrite(u, r)));
      expect(normalizeUrl(new URL(once))).toBe(once);
    }), RUNS);
  });

  it('keeps different paths, hosts, ports, queries and schemes apart', () => {
    fc.assert(fc.property(base, base, (a, b) => {
      fc.pre(render(a) !== render(b));
      expect(normalizeUrl(new URL(render(a)))).not.toBe(normalizeUrl(new URL(render(b))));
    }), RUNS);
  });

  it('upper-cases every remaining escape and never decodes a reserved one', () => {
    fc.assert(fc.property(path, fc.constantFrom('%2f', '%2F', '%3a', '%3F', '%23', '%25'), (p, escape) => {
      const normalized = normalizeUrl(new URL(`http://a.test${p}${escape}x`));
      expect(normalized.endsWith(`${escape.toUpperCase()}x`)).toBe(true);
    }), RUNS);
  });
});

describe('the direct-http identity and the URL policy (property)', () => {
  const http = directHttp();
  it('gives one identity to every harmless spelling of a URL', () => {
    fc.assert(fc.property(base, rewrites, (u, r) => {
      expect(http.identify(new URL(rewrite(u, r)))?.key).toBe(http.identify(new URL(render(u)))?.key);
    }), RUNS);
  });

  it('refuses YouTube however its host and port are spelled', () => {
    const youtube = fc.record({
      scheme: fc.constantFrom('http', 'https'), host: fc.constantFrom('youtube.com', 'www.youtube.com', 'm.youtube.com', 'music.youtube.com', 'youtu.be', 'www.youtube-nocookie.com'),
      port: fc.constant(undefined), path: fc.constantFrom('/watch', '/shorts/abc', '/embed/abc', '/abc'), query: fc.constantFrom('', '?v=dQw4w9WgXcQ'),
    });
    fc.assert(fc.property(youtube, rewrites, (u, r) => {
      expect(() => parseAndCheckUrl(rewrite(u, r), { maxUrlLength: 8192 })).toThrow(expect.objectContaining({ code: 'youtube_not_supported' }));
    }), RUNS);
  });
});

// Source identities: every URL form of one video has one key; different videos have different keys.
const noise = fc.array(fc.constantFrom('_t=ZM8abc', '_r=1', 'is_from_webapp=1', 'sender_device=pc', 'utm_source=x', 'lang=en'), { maxLength: 3 });
const withQuery = (url: string, params: string[]): string => (params.length ? `${url}${url.includes('?') ? '&' : '?'}${params.join('&')}` : url);
const caseHost = (url: string, upper: boolean): string => (upper ? url.replace(/^(https?:\/\/)([^/]+)/, (_m, s: string, h: string) => s + h.toUpperCase()) : url);

describe('TikTok identity (property)', () => {
  const plugin = tiktok({ ytDlpFallback: false });
  const id = fc.tuple(fc.integer({ min: 1, max: 9 }), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 18, maxLength: 18 })).map(([d, rest]) => `${d}${rest.join('')}`);
  const user = chars(`${lower}0123456789._`, 0, 12);
  const form = (videoId: string, who: string, variant: number): string => [
    `https://www.tiktok.com/@${who}/video/${videoId}`,
    `https://m.tiktok.com/@${who}/video/${videoId}`,
    `https://tiktok.com/@${who}/video/${videoId}`,
    `https://www.tiktok.com/embed/${videoId}`,
    `https://www.tiktok.com/embed/v2/${videoId}`,
    `https://www.tiktok.com/@${who}/video/${videoId}/`,
  ][variant]!;

  it('is one key for every form, user name, case, fragment and query noise of a video', () => {
    fc.assert(fc.property(id, user, fc.integer({ min: 0, max: 5 }), noise, fc.boolean(), fc.boolean(), (videoId, who, variant, params, upper, fragment) => {
      const url = caseHost(withQuery(form(videoId, who, variant), params), upper) + (fragment ? '#comments' : '');
      expect(plugin.identify(new URL(url))?.key).toBe(plugin.identify(new URL(form(videoId, 'someone', 0)))?.key);
    }), RUNS);
  });

  it('keeps different videos apart', () => {
    fc.assert(fc.property(id, id, (a, b) => {
      fc.pre(a !== b);
      expect(plugin.identify(new URL(form(a, 'u', 0)))?.key).not.toBe(plugin.identify(new URL(form(b, 'u', 0)))?.key);
    }), RUNS);
  });
});

describe('Loom identity (property)', () => {
  const plugin = loom();
  const id = chars('0123456789abcdef', 32, 32);
  const slug = chars(`${lower}-`, 1, 20).filter((s) => !s.startsWith('-'));
  const form = (videoId: string, title: string, variant: number): string => [
    `https://www.loom.com/share/${videoId}`,
    `https://loom.com/share/${videoId}`,
    `https://www.loom.com/embed/${videoId}`,
    `https://www.loom.com/share/${title}-${videoId}`,
    `https://www.loom.com/share/${videoId}?sid=7f8e1a2b-0000-4000-8000-000000000000`,
  ][variant]!;

  it('is one key for share, embed, slugged and sid forms of a video', () => {
    fc.assert(fc.property(id, slug, fc.integer({ min: 0, max: 4 }), fc.boolean(), (videoId, title, variant, upper) => {
      expect(plugin.identify(new URL(caseHost(form(videoId, title, variant), upper)))?.key).toBe(plugin.identify(new URL(form(videoId, 'x', 0)))?.key);
    }), RUNS);
  });

  it('keeps different videos apart', () => {
    fc.assert(fc.property(id, id, (a, b) => {
      fc.pre(a !== b);
      expect(plugin.identify(new URL(form(a, 'x', 0)))?.key).not.toBe(plugin.identify(new URL(form(b, 'x', 0)))?.key);
    }), RUNS);
  });
});

describe('Dropbox identity (property)', () => {
  const plugin = dropbox();
  const shareId = chars(`${lower}0123456789`, 8, 20);
  const rlkey = chars(`${lower}0123456789`, 10, 25);
  const name = chars(`${lower}0123456789_-`, 1, 12).map((n) => `${n}.mp4`);
  const link = (id: string, key: string, file: string, extra: string[], embed: boolean): string =>
    withQuery(`https://www.dropbox.com${embed ? '/e' : ''}/scl/fi/${id}/${file}?rlkey=${key}`, extra);
  const extras = fc.array(fc.constantFrom('dl=0', 'dl=1', 'st=ab12cd34', 'raw=1', 'utm_medium=email'), { maxLength: 3 });

  it('is one key whatever dl, st, raw, the file name, the embed form or the host case say', () => {
    fc.assert(fc.property(shareId, rlkey, name, extras, fc.boolean(), fc.boolean(), (id, key, file, extra, embed, upper) => {
      expect(plugin.identify(new URL(caseHost(link(id, key, file, extra, embed), upper)))?.key).toBe(plugin.identify(new URL(link(id, key, 'a.mp4', [], false)))?.key);
    }), RUNS);
  });

  it('keeps different share ids and different rlkeys apart', () => {
    fc.assert(fc.property(shareId, shareId, rlkey, rlkey, (a, b, k1, k2) => {
      fc.pre(a !== b || k1 !== k2);
      expect(plugin.identify(new URL(link(a, k1, 'v.mp4', [], false)))?.key).not.toBe(plugin.identify(new URL(link(b, k2, 'v.mp4', [], false)))?.key);
    }), RUNS);
  });
});
