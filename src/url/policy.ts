/**
 * The URL policy: which submitted URLs are refused before any plugin or network request sees them.
 *
 * Every refusal is one row of {@link URL_RULES}; rows are checked in order against the WHATWG-parsed URL
 * (never the raw string), so tricks like `HTTPS://WWW.YouTube.com.:443/` or full-width host characters are
 * matched on the canonical host. Hosts are compared case-insensitively, a trailing dot is ignored, and a
 * domain rule also covers its subdomains (`zoom.us` matches `us02web.zoom.us`).
 */
import { IngestError, type ErrorCode } from '../errors.js';

/** One refusal: when `match` is true for the parsed URL, the engine throws `IngestError(code, message(url))`. */
export interface UrlRule {
  /** Stable identifier of the rule (for logs and tests). */
  readonly id: string;
  /** True when this rule refuses the URL. Receives the WHATWG-parsed URL. */
  readonly match: (url: URL) => boolean;
  /** The error code thrown. */
  readonly code: ErrorCode;
  /** The human message; names the scheme, connector or host concerned. */
  readonly message: (url: URL) => string;
  /**
   * A page host without a built-in resolver: refused only when no source plugin (other than a catch-all such as
   * direct http) takes the URL, so a third-party plugin for it works without editing this list.
   */
  readonly pageHost?: boolean;
}

/** The host of `url`, lower-cased, without trailing dots (`www.youtube.com.` → `www.youtube.com`). */
export function hostOf(url: URL): string {
  // Every rule asks for the host of the same URL object: compute it once per object (and its current hostname).
  const cached = hostCache.get(url);
  if (cached && cached.hostname === url.hostname) return cached.host;
  const host = url.hostname.toLowerCase();
  const trimmed = host.replace(/\.+$/, '');
  const result = trimmed === '' ? host : trimmed;
  hostCache.set(url, { hostname: url.hostname, host: result });
  return result;
}

const hostCache = new WeakMap<URL, { hostname: string; host: string }>();

/** True when the host of `url` is one of `domains` or a subdomain of one of them. */
export function hostIsOrUnder(url: URL, ...domains: string[]): boolean {
  const host = hostOf(url);
  return domains.some((d) => host === d || host.endsWith(`.${d}`));
}

/** True when the host of `url` is exactly one of `hosts` (after lower-casing and trailing-dot removal). */
export function hostIs(url: URL, ...hosts: string[]): boolean {
  const host = hostOf(url);
  return hosts.includes(host);
}

/** True when the path of `url` starts with one of `prefixes` (case-insensitive). */
function pathStarts(url: URL, ...prefixes: string[]): boolean {
  const path = url.pathname.toLowerCase();
  return prefixes.some((p) => path.startsWith(p));
}

/** True when the path of `url` matches `re` (tested against the lower-cased path). */
function pathMatches(url: URL, re: RegExp): boolean {
  return re.test(url.pathname.toLowerCase());
}

const isHttp = (url: URL): boolean => url.protocol === 'http:' || url.protocol === 'https:';
const web = (url: URL, test: (url: URL) => boolean): boolean => isHttp(url) && test(url);

/** A connector-native URI scheme (`s3:` …) refused with `connector_required`. */
function connectorScheme(scheme: string, connector: string): UrlRule {
  return {
    id: `scheme-${scheme}`,
    match: (url) => url.protocol === `${scheme}:`,
    code: 'connector_required',
    message: () =>
      `${scheme}:// URIs cannot be synced from a URL; use the ${connector} data connector to import this media.`,
  };
}

/** A web link that only a data connector can read, refused with `connector_required`. */
function connectorLink(id: string, connector: string, match: (url: URL) => boolean): UrlRule {
  return {
    id,
    match: (url) => web(url, match),
    code: 'connector_required',
    message: (url) =>
      `${hostOf(url)} links need the ${connector} connector; use the ${connector} data connector to import this media.`,
  };
}

/** A page link from a host that has no resolver, refused with `unsupported_page_host`. */
function pageHost(id: string, service: string, match: (url: URL) => boolean): UrlRule {
  return {
    id,
    pageHost: true,
    match: (url) => web(url, match),
    code: 'unsupported_page_host',
    message: (url) =>
      `${service} page links (${hostOf(url)}) are not supported: there is no resolver for ${service}. ` +
      `A direct download URL of the media file from ${service} still works.`,
  };
}

/**
 * Every refusal, in the order they are checked. Adding a refusal is adding one row here.
 * `parseAndCheckUrl` applies them after the URL has been parsed and its length checked.
 */
export const URL_RULES: readonly UrlRule[] = [
  // Connector-native URIs.
  connectorScheme('s3', 'Amazon S3'),
  connectorScheme('gs', 'Google Cloud Storage'),
  connectorScheme('gdrive', 'Google Drive'),
  connectorScheme('dropbox', 'Dropbox'),
  connectorScheme('zoom', 'Zoom'),
  connectorScheme('gong', 'Gong'),
  connectorScheme('grain', 'Grain'),
  connectorScheme('recall', 'Recall'),
  connectorScheme('iconik', 'iconik'),
  // Anything else that is not http(s).
  {
    id: 'scheme-not-http',
    match: (url) => !isHttp(url),
    code: 'unsupported_scheme',
    message: (url) => `The ${url.protocol.slice(0, -1)}: scheme is not supported; only http and https URLs can be synced.`,
  },
  {
    id: 'credentials',
    match: (url) => url.username !== '' || url.password !== '',
    code: 'invalid_url',
    message: () =>
      'URLs with embedded credentials (user:password@host) are refused: they would be stored and logged. ' +
      'Use a signed or public URL instead.',
  },
  // YouTube, any path on any of its hosts.
  {
    id: 'youtube',
    match: (url) =>
      web(url, (u) => hostIsOrUnder(u, 'youtube.com', 'youtube-nocookie.com', 'youtubekids.com', 'youtu.be')),
    code: 'youtube_not_supported',
    message: (url) =>
      `YouTube links (${hostOf(url)}) cannot be synced as files; add it to a collection via add-media instead.`,
  },
  // Links that need a data connector.
  connectorLink('google-drive', 'Google Drive', (u) => hostIs(u, 'drive.google.com') && !pathStarts(u, '/uc')),
  connectorLink('google-docs-file', 'Google Drive', (u) => hostIs(u, 'docs.google.com') && pathMatches(u, /^(\/a\/[^/]+)?\/file\/d\//)),
  connectorLink('zoom-recording', 'Zoom', (u) => hostIsOrUnder(u, 'zoom.us', 'zoomgov.com') && pathStarts(u, '/rec/')),
  connectorLink('zoom-clip', 'Zoom', (u) => hostIsOrUnder(u, 'zoom.us', 'zoom.com', 'zoomgov.com') && pathStarts(u, '/clips/share/')),
  connectorLink('gong', 'Gong', (u) => hostIsOrUnder(u, 'app.gong.io')),
  connectorLink('grain', 'Grain', (u) => hostIsOrUnder(u, 'grain.com', 'grain.co') && pathStarts(u, '/share/', '/recordings/', '/app/recordings/')),
  connectorLink('recall', 'Recall', (u) => hostIsOrUnder(u, 'recall.ai')),
  connectorLink('iconik', 'iconik', (u) => hostIsOrUnder(u, 'app.iconik.io')),
  // Page links from hosts without a resolver (their CDN/direct-download hosts are not matched).
  pageHost('vimeo-page', 'Vimeo', (u) => hostIs(u, 'vimeo.com', 'www.vimeo.com')),
  pageHost('vimeo-player', 'Vimeo', (u) => hostIs(u, 'player.vimeo.com') && pathStarts(u, '/video/')),
  pageHost('box-shared', 'Box', (u) => hostIsOrUnder(u, 'box.com') && pathStarts(u, '/s/', '/v/', '/file/', '/folder/')),
  pageHost('onedrive-short', 'OneDrive', (u) => hostIs(u, '1drv.ms')),
  pageHost('onedrive-page', 'OneDrive', (u) => hostIs(u, 'onedrive.live.com') && !pathStarts(u, '/download')),
  pageHost('sharepoint-share', 'SharePoint/OneDrive', (u) => hostIsOrUnder(u, 'sharepoint.com') && pathStarts(u, '/:')),
  pageHost('dailymotion', 'Dailymotion', (u) => (hostIsOrUnder(u, 'dailymotion.com') && pathStarts(u, '/video/', '/embed/video/')) || hostIs(u, 'dai.ly')),
  pageHost('facebook', 'Facebook', (u) => (hostIsOrUnder(u, 'facebook.com') && pathMatches(u, /(^|\/)(videos|watch|reel|reels)(\/|$)/)) || hostIs(u, 'fb.watch')),
  pageHost('instagram', 'Instagram', (u) => hostIsOrUnder(u, 'instagram.com') && pathMatches(u, /^(\/[^/]+)?\/(p|reel|reels|tv)\//)),
  pageHost('x-twitter', 'X (Twitter)', (u) => hostIsOrUnder(u, 'x.com', 'twitter.com') && pathMatches(u, /^\/[^/]+\/status\/\d+/)),
  pageHost('twitch', 'Twitch', (u) => hostIs(u, 'clips.twitch.tv') || (hostIsOrUnder(u, 'twitch.tv') && pathMatches(u, /^\/(videos\/\d+|[^/]+\/(clip|video)\/)/))),
  pageHost('streamable', 'Streamable', (u) => hostIs(u, 'streamable.com', 'www.streamable.com')),
];

/** Options of {@link parseAndCheckUrl}. */
export interface UrlPolicyOptions {
  /** Longest accepted URL, in characters of the trimmed input (default config: 8192). */
  maxUrlLength: number;
  /** Also apply the page-host rules (the engine applies them later, see {@link refusePageHost}). @default true */
  pageHosts?: boolean;
}

/**
 * Parses a submitted URL and applies the URL policy.
 *
 * Trims surrounding whitespace, then refuses with an {@link IngestError}:
 * - `invalid_url` when empty, unparseable, longer than `maxUrlLength`, or carrying `user:pass@` credentials;
 * - `unsupported_scheme` for any non-http(s) scheme that is not connector-native;
 * - `connector_required`, `youtube_not_supported`, `unsupported_page_host` per {@link URL_RULES}.
 *
 * @returns the WHATWG-parsed URL when it is acceptable.
 */
export function parseAndCheckUrl(raw: string, options: UrlPolicyOptions): URL {
  const input = typeof raw === 'string' ? raw.trim() : '';
  if (input === '') throw new IngestError('invalid_url', 'The URL is empty.');
  if (input.length > options.maxUrlLength) {
    throw new IngestError(
      'invalid_url',
      `The URL is ${input.length} characters long; the limit is ${options.maxUrlLength}.`,
    );
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch (cause) {
    throw new IngestError('invalid_url', `Not a valid absolute URL: ${preview(input)}`, { cause });
  }
  if (isHttp(url) && hostOf(url) === '') {
    throw new IngestError('invalid_url', `The URL has no host: ${preview(input)}`);
  }
  // DNS limits (RFC 1035): 253 characters in all, 63 a label. Longer names cannot resolve; say so up front.
  if (isHttp(url) && (hostOf(url).length > 253 || hostOf(url).split('.').some((label) => label.length > 63))) {
    throw new IngestError('invalid_url', `The host name is longer than DNS allows: ${preview(url.hostname)}`);
  }
  for (const rule of URL_RULES) {
    if (rule.pageHost && options.pageHosts === false) continue;
    if (rule.match(url)) throw new IngestError(rule.code, rule.message(url));
  }
  return url;
}

/** Throws the page-host refusal of `url`, if a page-host rule matches it (see {@link UrlRule.pageHost}). */
export function refusePageHost(url: URL): void {
  for (const rule of URL_RULES) {
    if (rule.pageHost && rule.match(url)) throw new IngestError(rule.code, rule.message(url));
  }
}

/** A short, single-line rendering of user input for messages. */
function preview(input: string): string {
  const oneLine = input.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return JSON.stringify(oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine);
}
