/**
 * TikTok URL parsing: which URLs are video/photo posts, which are short links, their identity and the page URL
 * to fetch. Pure and offline.
 *
 * Forms (see shared/reference/sources.md, "TikTok"), on `www.tiktok.com`, `m.tiktok.com` or bare `tiktok.com`:
 * - `/@<user>/video/<id>` (`<user>` may hold dots/underscores or be empty), `/@<user>/photo/<id>`
 * - `/embed/<id>`, `/embed/v2/<id>`, `/share/video/<id>` (also on `www.tiktokv.com`), `/v/<id>.html`
 * - short links: `vm.tiktok.com/<code>/`, `vt.tiktok.com/<code>/`, `www.tiktok.com/t/<code>/`
 *
 * Hosts are compared case-insensitively without a trailing dot; query strings and fragments are tracking noise.
 */
import { hostOf, isWebUrl } from '../../src/plugin-api.js';
import type { SourceIdentity } from '../../src/plugin-api.js';

/** A link that names one post by its numeric id. */
export interface TikTokPostLink {
  kind: 'video';
  /** The numeric post id (a 19-digit number for every current post). */
  id: string;
  /** The `@user` segment when the URL had one (may be `''`); undefined for embed/share/`/v/` forms. */
  user?: string;
  /** True for the `/@<user>/photo/<id>` form (a slideshow post; its page is still fetched as `/video/<id>`). */
  photo?: boolean;
}

/** A short link that must be expanded over the network before its id is known. */
export interface TikTokShortLink {
  kind: 'short';
  /** The normalised short URL: `https://<host>/<code>/` or `https://www.tiktok.com/t/<code>/`, no query. */
  url: string;
}

/** What {@link parseTikTokUrl} makes of a URL. */
export type TikTokLink = TikTokPostLink | TikTokShortLink;

/** Hosts that serve post pages (`tiktok.com` itself has no DNS any more; pages are always fetched on `www.`). */
const PAGE_HOSTS = new Set(['www.tiktok.com', 'm.tiktok.com', 'tiktok.com']);
/** Hosts of the `/share/video/<id>` form served by TikTok's app domain. */
const APP_HOSTS = new Set(['www.tiktokv.com', 'tiktokv.com', 'm.tiktokv.com']);
/** Hosts whose whole path is a short-link code. */
const SHORT_HOSTS = new Set(['vm.tiktok.com', 'vt.tiktok.com']);

/** The origin of every canonical and page URL. */
export const TIKTOK_ORIGIN = 'https://www.tiktok.com';

/** A post id: 19 digits today; a little slack either way for old and future ids. */
const ID = '(\\d{15,21})';
/** A username as it appears after `@`: letters, digits, dots, underscores (and `-` seen in old links); may be empty. */
const USER = '([A-Za-z0-9._-]{0,64})';
/** A short-link code: ~9 alphanumerics (a little slack, `_`/`-` tolerated). */
const CODE = '([A-Za-z0-9_-]{4,40})';

const POST_PATH = new RegExp(`^/@${USER}/(video|photo)/${ID}/?$`);
const EMBED_PATH = new RegExp(`^/embed(?:/v\\d+)?/${ID}/?$`);
const SHARE_PATH = new RegExp(`^/share/video/${ID}/?$`);
const V_PATH = new RegExp(`^/v/${ID}(?:\\.html)?/?$`);
const T_PATH = new RegExp(`^/t/${CODE}/?$`);
const SHORT_PATH = new RegExp(`^/${CODE}/?$`);


/** True when the URL is on any host this plugin knows (page, app-share or short-link host), over http(s). */
export function isTikTokHost(url: URL): boolean {
  if (!isWebUrl(url)) return false;
  const host = hostOf(url);
  return PAGE_HOSTS.has(host) || APP_HOSTS.has(host) || SHORT_HOSTS.has(host);
}

/**
 * Parses a TikTok URL. Returns `{kind:'video', id}` for every post form, `{kind:'short', url}` for short links and
 * `null` for anything else (other hosts, profiles, tags, the home page, malformed ids). Never throws.
 */
export function parseTikTokUrl(input: URL | string): TikTokLink | null {
  let url: URL;
  try {
    url = typeof input === 'string' ? new URL(input) : input;
  } catch {
    return null;
  }
  if (!isWebUrl(url)) return null;
  const host = hostOf(url);
  const path = url.pathname;

  if (SHORT_HOSTS.has(host)) {
    const short = SHORT_PATH.exec(path);
    return short ? { kind: 'short', url: `https://${host}/${short[1]}/` } : null;
  }
  if (APP_HOSTS.has(host)) {
    const share = SHARE_PATH.exec(path);
    return share ? { kind: 'video', id: share[1]! } : null;
  }
  if (!PAGE_HOSTS.has(host)) return null;

  const post = POST_PATH.exec(path);
  if (post) {
    const link: TikTokPostLink = { kind: 'video', id: post[3]!, user: post[1]! };
    if (post[2] === 'photo') link.photo = true;
    return link;
  }
  const simple = EMBED_PATH.exec(path) ?? SHARE_PATH.exec(path) ?? V_PATH.exec(path);
  if (simple) return { kind: 'video', id: simple[1]! };
  const short = T_PATH.exec(path);
  if (short) return { kind: 'short', url: `${TIKTOK_ORIGIN}/t/${short[1]}/` };
  return null;
}

/** The identity key of a post: `tiktok:<id>` (the username, form and query never change it). */
export function tiktokIdentityKey(id: string): string {
  return `tiktok:${id}`;
}

/**
 * The canonical URL of a post: `https://www.tiktok.com/@/video/<id>`. The empty user keeps it stable when the
 * author renames their account; TikTok serves the page for any `@<user>`.
 */
export function tiktokCanonicalUrl(id: string): string {
  return `${TIKTOK_ORIGIN}/@/video/${id}`;
}

/** The offline identity of a post. */
export function tiktokIdentity(id: string): SourceIdentity {
  return { key: tiktokIdentityKey(id), canonicalUrl: tiktokCanonicalUrl(id) };
}

/**
 * The page to fetch for a post: `https://www.tiktok.com/@<user>/video/<id>`, always on `www.` and always `/video/`
 * (photo posts included). An unknown user is left empty.
 */
export function tiktokPageUrl(id: string, user = ''): string {
  const safeUser = /^[A-Za-z0-9._-]{0,64}$/.test(user) ? user : '';
  return `${TIKTOK_ORIGIN}/@${safeUser}/video/${id}`;
}

/**
 * True when a URL (a redirect target) is TikTok's home page, e.g. `https://www.tiktok.com/?_r=1`, which is
 * where a dead short link lands.
 */
export function isTikTokHomePage(url: URL): boolean {
  return PAGE_HOSTS.has(hostOf(url)) && (url.pathname === '/' || url.pathname === '');
}

/** True when a URL is TikTok's login page (`/login`, `/login/...`), where login-gated content redirects. */
export function isTikTokLoginPage(url: URL): boolean {
  return PAGE_HOSTS.has(hostOf(url)) && /^\/login(\/|$)/i.test(url.pathname);
}
