/**
 * Dropbox share-link parsing: which links are files, which are folders, their identity, canonical form and
 * direct-download URL. Pure and offline.
 *
 * Link forms (see shared/reference/sources.md, "Dropbox"):
 * - `https://www.dropbox.com/scl/fi/<id>/<name>?rlkey=<key>&dl=0&st=<st>` (current)
 * - `https://www.dropbox.com/e/scl/fi/<id>/<name>?rlkey=<key>` (embed form of the current link)
 * - `https://www.dropbox.com/s/<key>/<name>?dl=0` (legacy)
 * - folders: `/scl/fo/<id>/<hash>?rlkey=...`, `/sh/<key>/<hash>` (refused: Dropbox serves them as a ZIP)
 */
import { IngestError, hostOf, isWebUrl } from '../../src/plugin-api.js';
import type { SourceIdentity } from '../../src/plugin-api.js';

/** Hosts that serve Dropbox share pages (compared lower case, without a trailing dot). */
const DROPBOX_HOSTS = new Set(['www.dropbox.com', 'dropbox.com']);

/** The host every canonical and download URL uses. */
const CANONICAL_ORIGIN = 'https://www.dropbox.com';

/** A parsed Dropbox link to a single shared file. */
export interface DropboxFileLink {
  kind: 'file';
  /** `scl` for current `/scl/fi/` links, `s` for legacy `/s/` links. */
  form: 'scl' | 's';
  /** The share id (`scl`) or the legacy share key (`s`). */
  shareId: string;
  /** `rlkey` of a `scl` link (what grants access); undefined when absent or for legacy links. */
  rlkey: string | undefined;
  /** The file-name path segment as it appeared (still percent-encoded); undefined when the link has none. */
  rawName: string | undefined;
  /** The file name, percent-decoded (undefined when the link has none). */
  name: string | undefined;
  /** True for the embed form `/e/scl/fi/...`. */
  embed: boolean;
}

/** A parsed Dropbox folder link (refused by the plugin). */
export interface DropboxFolderLink {
  kind: 'folder';
}

/** What {@link parseDropboxUrl} makes of a Dropbox URL. */
export type DropboxLink = DropboxFileLink | DropboxFolderLink;

/** Percent-decodes a path segment; a malformed escape leaves it as it is. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** True when the URL is on a Dropbox share host (`www.dropbox.com` / `dropbox.com`, any case, trailing dot). */
export function isDropboxHost(url: URL): boolean {
  return isWebUrl(url) && DROPBOX_HOSTS.has(hostOf(url));
}

/**
 * Parses a Dropbox share URL. Returns undefined when the host is not Dropbox or the path is not a share link.
 * Does not throw; {@link identifyDropbox} turns folders and unknown paths into errors.
 */
export function parseDropboxUrl(url: URL): DropboxLink | undefined {
  if (!isDropboxHost(url)) return undefined;
  const segments = url.pathname.split('/').filter((s) => s.length > 0);
  const embed = segments[0] === 'e';
  const rest = embed ? segments.slice(1) : segments;
  const [first, second, third, fourth] = rest;

  if (first === 'sh' || (first === 'scl' && second === 'fo')) return { kind: 'folder' };

  if (first === 'scl' && second === 'fi' && third) {
    const rlkey = url.searchParams.get('rlkey') || undefined;
    return fileLink('scl', third, rlkey, fourth, embed);
  }
  if (first === 's' && !embed && second) {
    // `/s/dl/<key>/<name>` is a hop of Dropbox's own download redirect; accept it as the legacy link it names.
    if (second === 'dl' && third) return fileLink('s', third, undefined, fourth, false);
    return fileLink('s', second, undefined, third, false);
  }
  return undefined;
}

function fileLink(
  form: 'scl' | 's',
  shareId: string,
  rlkey: string | undefined,
  rawName: string | undefined,
  embed: boolean,
): DropboxFileLink {
  return { kind: 'file', form, shareId, rlkey, rawName, name: rawName === undefined ? undefined : decodeSegment(rawName), embed };
}

/**
 * Parses a URL the plugin has matched and refuses what it cannot sync: folders (`folder_not_supported`) and
 * Dropbox pages that are not share links (`invalid_url`).
 */
export function parseDropboxFileUrl(url: URL): DropboxFileLink {
  const link = parseDropboxUrl(url);
  if (link?.kind === 'folder') {
    throw new IngestError(
      'folder_not_supported',
      `Dropbox folder links are not supported (${url.origin}${url.pathname}): share the single video or audio file instead`,
    );
  }
  if (!link) {
    throw new IngestError(
      'invalid_url',
      `Not a Dropbox shared-file link: ${url.origin}${url.pathname} (expected /scl/fi/<id>/<name>?rlkey=... or /s/<key>/<name>)`,
    );
  }
  return link;
}

/** The stable identity key: `dropbox:scl:<id>:<rlkey>` (or `dropbox:scl:<id>` without rlkey), `dropbox:s:<key>`. */
export function dropboxIdentityKey(link: DropboxFileLink): string {
  if (link.form === 's') return `dropbox:s:${link.shareId}`;
  return link.rlkey === undefined ? `dropbox:scl:${link.shareId}` : `dropbox:scl:${link.shareId}:${link.rlkey}`;
}

/** The path of the normal (non-embed) share page, with the name segment re-encoded consistently. */
function sharePath(link: DropboxFileLink): string {
  const base = link.form === 'scl' ? `/scl/fi/${encodeURIComponent(link.shareId)}` : `/s/${encodeURIComponent(link.shareId)}`;
  return link.name === undefined ? base : `${base}/${encodeURIComponent(link.name)}`;
}

/**
 * The canonical share URL: `https://www.dropbox.com/scl/fi/<id>/<name>?rlkey=<key>` or
 * `https://www.dropbox.com/s/<key>/<name>`, without `dl`, `st`, `raw` or tracking parameters.
 */
export function dropboxCanonicalUrl(link: DropboxFileLink): string {
  const url = new URL(sharePath(link), CANONICAL_ORIGIN);
  if (link.form === 'scl' && link.rlkey !== undefined) url.searchParams.set('rlkey', link.rlkey);
  return url.toString();
}

/** The offline identity of a Dropbox file link. */
export function dropboxIdentity(link: DropboxFileLink): SourceIdentity {
  return { key: dropboxIdentityKey(link), canonicalUrl: dropboxCanonicalUrl(link) };
}

/**
 * The direct-download URL: the share URL on `https://www.dropbox.com` (the embed form turned into the normal
 * `/scl/fi/` path, the fragment dropped) with `raw` removed and `dl=1` set in place. Every other parameter
 * (`rlkey`, `st`, anything else) is kept, in its order. The query is edited with URLSearchParams only.
 */
export function dropboxDownloadUrl(url: URL, link: DropboxFileLink): string {
  const out = new URL(url.href);
  out.protocol = 'https:';
  out.hostname = 'www.dropbox.com';
  out.port = '';
  out.hash = '';
  if (link.embed) out.pathname = out.pathname.replace(/^\/e(?=\/)/, '');
  out.searchParams.delete('raw');
  out.searchParams.set('dl', '1');
  return out.toString();
}

/** A display filename from the link's name segment: percent-decoded, path separators and control chars removed. */
export function dropboxFilename(link: DropboxFileLink): string | undefined {
  if (link.name === undefined) return undefined;
  const cleaned = link.name.replace(/[\u0000-\u001f\u007f/\\]+/g, '_').trim();
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? undefined : cleaned;
}
