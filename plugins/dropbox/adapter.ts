/**
 * Pure mapping for the Dropbox plugin: provenance from a parsed link, and the classification of what Dropbox
 * serves instead of the file (an HTML login page, an error page, a disabled-link page). No network here, so it
 * is unit-tested on recorded-shape fixtures (test/fixtures/).
 */
import { IngestError } from '../../src/plugin-api.js';
import type { DropboxFileLink } from './urls.js';

/**
 * Provenance stored as the File's `source_metadata`. Field names follow Cloudglue's `DropboxSourceMetadata`
 * (`dropbox_id`, `name`) where they fit; `share_url` and `share_form` are media-ingest extras. A public link
 * carries no `path_lower`/`path_display`/`rev`, so those are left out.
 */
export interface DropboxSourceMetadata {
  source_type: 'dropbox';
  /** The share id (`/scl/fi/<id>`) or legacy share key (`/s/<key>`); Dropbox's `id:` file id is not public. */
  dropbox_id: string;
  /** File name from the link's path, percent-decoded; null when the link has none. */
  name: string | null;
  /** The canonical share URL (with `rlkey`, without `dl`/`st`). */
  share_url: string;
  /** Which link form was synced: `scl` (current) or `s` (legacy). */
  share_form: 'scl' | 's';
}

/** Builds the provenance of a Dropbox file link. */
export function dropboxSourceMetadata(link: DropboxFileLink, canonicalUrl: string): DropboxSourceMetadata {
  return { source_type: 'dropbox', dropbox_id: link.shareId, name: link.name ?? null, share_url: canonicalUrl, share_form: link.form };
}

/** The facts of an opened response that the page classification needs (a subset of `HttpResponse`). */
export interface DropboxResponseFacts {
  /** Final URL after redirects. */
  url: string;
  status: number;
  /** Every URL visited before `url`, in order (the first is the download URL the plugin built). */
  redirects: readonly string[];
  /** The `content-type` header, if any. */
  contentType: string | undefined;
}

/** What a non-media Dropbox page is. */
export type DropboxPageKind = 'login' | 'not_found' | 'expired' | 'rate_limited';

/** How many leading bytes are inspected. */
const SNIFF_LIMIT = 64 * 1024;

/**
 * True when the body is HTML: a `text/html`/XHTML Content-Type, or first bytes (after a BOM and whitespace)
 * starting with `<` (which covers `<!DOCTYPE`, `<html` and XML error documents).
 */
export function isHtmlBody(contentType: string | undefined, firstBytes: Buffer): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'text/html' || type === 'application/xhtml+xml') return true;
  const head = firstBytes.subarray(0, 512).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  return head.startsWith('<');
}

/** Visible text of an HTML fragment, lower case: scripts, styles and tags removed, whitespace collapsed. */
function visibleText(html: string): string {
  return html
    .replace(/<(script|style|noscript)\b[\s\S]*?(<\/\1\s*>|$)/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;|&#160;/gi, ' ')
    .replace(/&#39;|&#x27;|&rsquo;|&apos;|\u2019/gi, "'")
    .replace(/\s+/g, ' ')
    .toLowerCase();
}

const LOGIN_PATH = /\/(login|ajax_login|signin|sign_in)(\/|$|\?)/i;
const EXPIRED_TEXT = /link (has )?expired|link (is|has been) disabled|link (is|was) (turned off|deactivated)|no longer (shared|available to you)/;
const RATE_LIMIT_TEXT = /too much traffic|links are temporarily disabled|generating too much traffic/;
const NOT_FOUND_TEXT =
  /error \(?404\)?|404 error|\b404\b.{0,40}not found|can't find|cannot be found|couldn't find|could not find|doesn't exist|does not exist|was deleted|has been deleted|been removed|was removed|no longer exists|file not found|page not found|link not found/;
const LOGIN_TEXT = /\blog ?in\b|\bsign ?in\b/;
const LOGIN_MARKUP = /name=["']?login_(email|password)|action=["'][^"']*\/(ajax_)?login|id=["']?login[-_]form/i;

/**
 * Classifies an HTML page that Dropbox served instead of the file. Strongest signals first:
 * a `/login` URL → `login`; a 404/410 status → `not_found`; an expired/disabled link → `expired`; a traffic-limit
 * page → `rate_limited`; an error text ("can't find", "deleted", "404") → `not_found` (error pages also carry a
 * "Sign in" link in their header, so this precedes the login check); login markup or "log in"/"sign in" text →
 * `login`; anything else → `not_found`.
 */
export function classifyDropboxPage(facts: DropboxResponseFacts, html: string): DropboxPageKind {
  const urls = [...facts.redirects, facts.url];
  if (urls.some((u) => LOGIN_PATH.test(pathOf(u)))) return 'login';
  if (facts.status === 404 || facts.status === 410) return 'not_found';
  const text = visibleText(html);
  const title = visibleText(/<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1] ?? '');
  if (EXPIRED_TEXT.test(text)) return 'expired';
  if (RATE_LIMIT_TEXT.test(text) || facts.status === 429) return 'rate_limited';
  if (NOT_FOUND_TEXT.test(title) || NOT_FOUND_TEXT.test(text)) return 'not_found';
  if (LOGIN_MARKUP.test(html) || LOGIN_TEXT.test(title) || LOGIN_TEXT.test(text)) return 'login';
  if (facts.status === 401 || facts.status === 403) return 'login';
  return 'not_found';
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}

/** True when the download URL the plugin built is a `/scl/fi/` link without `rlkey`. */
function lacksRlkey(facts: DropboxResponseFacts): boolean {
  const first = facts.redirects[0] ?? facts.url;
  try {
    const url = new URL(first);
    return /\/scl\/fi\//.test(url.pathname) && !url.searchParams.get('rlkey');
  } catch {
    return false;
  }
}

/**
 * The error for a response that is an HTML page rather than the file, or undefined when the body is not HTML
 * (the engine's own media sniffing takes it from there).
 */
export function dropboxPageError(facts: DropboxResponseFacts, firstBytes: Buffer): IngestError | undefined {
  if (!isHtmlBody(facts.contentType, firstBytes)) return undefined;
  const html = firstBytes.subarray(0, SNIFF_LIMIT).toString('utf8');
  const kind = classifyDropboxPage(facts, html);
  switch (kind) {
    case 'login': {
      const hint = lacksRlkey(facts)
        ? ' The link has no rlkey parameter: copy the full share link, including ?rlkey=...'
        : ' The link is not public (or its access key is wrong): share it as "anyone with the link".';
      return new IngestError('source_forbidden', `Dropbox answered with a sign-in page instead of the file.${hint}`);
    }
    case 'expired':
      return new IngestError('source_forbidden', 'Dropbox says this shared link has expired or was disabled by its owner.');
    case 'rate_limited':
      return new IngestError('upstream_blocked', 'Dropbox has temporarily disabled this link because of too much traffic; try again later.');
    case 'not_found':
      return new IngestError('source_not_found', 'Dropbox answered with an error page: the shared file does not exist or was removed.');
  }
}
