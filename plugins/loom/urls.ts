/**
 * Loom link parsing: video id, folder refusal, identity and canonical URL. Pure and offline.
 *
 * Link forms (see shared/reference/sources.md, "Loom"): `https://www.loom.com/share/<id>`, `/embed/<id>`, with or
 * without `www.`, an optional title slug before the id (`/share/Meeting-notes-<id>`: the id is the last 32 hex
 * characters of the last path segment), an optional `?sid=<uuid>` (ignored). `/share/folder/<id>` is a folder.
 */
import { IngestError, hostOf, isWebUrl } from '../../src/plugin-api.js';
import type { SourceIdentity } from '../../src/plugin-api.js';

/** Hosts that serve Loom share pages (compared lower case, without a trailing dot). */
const LOOM_HOSTS = new Set(['www.loom.com', 'loom.com']);

/** Path prefixes that name a single video. */
const VIDEO_PREFIXES = new Set(['share', 'embed']);

/** The 32 lowercase-hex video id at the end of a path segment. */
const ID_AT_END = /([0-9a-f]{32})$/i;

/** What {@link parseLoomUrl} makes of a Loom URL. */
export type LoomLink = { kind: 'video'; id: string } | { kind: 'folder' };

/** True when the URL is on a Loom share host (`www.loom.com` / `loom.com`, any case, trailing dot). */
export function isLoomHost(url: URL): boolean {
  return isWebUrl(url) && LOOM_HOSTS.has(hostOf(url));
}

/**
 * Parses a Loom URL. Returns undefined when the host is not Loom or the path names no video.
 * Query parameters (`sid`, `t`, tracking) and the fragment are ignored.
 */
export function parseLoomUrl(url: URL): LoomLink | undefined {
  if (!isLoomHost(url)) return undefined;
  const segments = url.pathname.split('/').filter((s) => s.length > 0);
  const [prefix, ...rest] = segments;
  if (prefix === undefined || !VIDEO_PREFIXES.has(prefix.toLowerCase())) return undefined;
  if (rest[0]?.toLowerCase() === 'folder') return { kind: 'folder' };
  if (rest.length !== 1) return undefined;
  const match = ID_AT_END.exec(decodeSegment(rest[0]!));
  return match ? { kind: 'video', id: match[1]!.toLowerCase() } : undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The video id of a URL the plugin has matched; refuses folders (`folder_not_supported`) and Loom pages that
 * name no video (`invalid_url`).
 */
export function parseLoomVideoId(url: URL): string {
  const link = parseLoomUrl(url);
  if (link?.kind === 'folder') {
    throw new IngestError(
      'folder_not_supported',
      `Loom folder links are not supported (${url.origin}${url.pathname}): share a single video (loom.com/share/<id>) instead`,
    );
  }
  if (!link) {
    throw new IngestError(
      'invalid_url',
      `Not a Loom video link: ${url.origin}${url.pathname} (expected https://www.loom.com/share/<32-hex id> or /embed/<id>)`,
    );
  }
  return link.id;
}

/** The canonical share URL `https://www.loom.com/share/<id>`. */
export function loomCanonicalUrl(id: string): string {
  return `https://www.loom.com/share/${id}`;
}

/** The identity of a Loom video: key `loom:<id>`, canonical URL `https://www.loom.com/share/<id>`. */
export function loomIdentity(id: string): SourceIdentity {
  return { key: `loom:${id}`, canonicalUrl: loomCanonicalUrl(id) };
}

/** `https://www.loom.com/api/campaigns/sessions/<id>/<endpoint>` for the two media-URL endpoints. */
export function loomMediaEndpoint(id: string, endpoint: 'transcoded-url' | 'raw-url'): string {
  return new URL(`/api/campaigns/sessions/${encodeURIComponent(id)}/${endpoint}`, 'https://www.loom.com').toString();
}

/** `https://www.loom.com/v1/oembed?url=<share url>`, the query built with URLSearchParams. */
export function loomOembedUrl(id: string): string {
  const url = new URL('https://www.loom.com/v1/oembed');
  url.searchParams.set('url', loomCanonicalUrl(id));
  return url.toString();
}

/** The GraphQL endpoint used for metadata. */
export const LOOM_GRAPHQL_URL = 'https://www.loom.com/graphql';
