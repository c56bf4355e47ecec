/**
 * Pure mapping of yt-dlp's `--dump-single-json` answer and of its failures. No process, no network: unit-tested
 * on recorded JSON. What comes out is a download request for the guarded client: a direct http(s) URL, the
 * request headers yt-dlp would send (minus transport headers) and its cookies.
 *
 * yt-dlp reports cookies in two ways depending on its version: up to 2023.06 inside `http_headers.Cookie`
 * (computed for the format URL, no domain), from 2023.07 in a `cookies` field
 * (`name=value; Domain=.x.com; Path=/; Secure; Expires=<unix>`, several joined by `; `). Both are read.
 */
import { IngestError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { URL_RULES } from '../url/policy.js';

/** The format selector passed to yt-dlp: the best single progressive file over plain http(s), audio-only last. */
export const YTDLP_FORMAT = 'b[protocol=https]/b[protocol=http]/ba[protocol=https]/ba[protocol=http]';

/** The part of a yt-dlp answer needed to download: the format's URL, headers and cookies. */
export interface YtDlpMediaFacts {
  url: string;
  protocol: string;
  /** Request headers to send (no Cookie, Host, Range, encoding or hop-by-hop headers). */
  headers: Record<string, string>;
  /** Cookies as `Set-Cookie` strings, each to be stored for {@link YtDlpMediaFacts.url}. */
  setCookies: string[];
  ext: string | undefined;
  extractor: string;
}

/** Headers never copied from yt-dlp: the guarded client sets them itself, or they are hop-by-hop. */
const DROPPED_HEADERS = new Set([
  'cookie', 'host', 'content-length', 'connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te',
  'trailer', 'transfer-encoding', 'upgrade', 'range', 'accept-encoding', 'ytdl-request-proxy',
]);

/** Protocols whose "URL" is a manifest or a stream, never a file the guarded client can fetch. */
const STREAMING = /m3u8|dash|f4m|ism|rtmp|rtsp|mms|websocket|hls/i;

/** True when `url` is a YouTube URL: the same rule the URL policy applies to submitted URLs. */
export function isYouTubeUrl(url: URL): boolean {
  const rule = URL_RULES.find((r) => r.id === 'youtube');
  return rule !== undefined && rule.match(url);
}

/** True for a yt-dlp extractor key of YouTube (`Youtube`, `YoutubeTab`, `YoutubeClip`...). */
export function isYouTubeExtractor(key: string): boolean {
  return /^youtube/i.test(key);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function asText(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** Parses yt-dlp's stdout; `upstream_error` when it is not one JSON object. */
export function parseYtDlpJson(stdout: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (error) {
    throw new IngestError('upstream_error', 'yt-dlp printed something that is not JSON', { cause: error, retryable: false });
  }
  const info = asRecord(parsed);
  if (!info) throw new IngestError('upstream_error', 'yt-dlp printed JSON that is not an object', { retryable: false });
  return info;
}

/**
 * Splits yt-dlp's `cookies` field into `Set-Cookie` strings: each `name=value` starts a cookie, the attributes
 * (`Domain`, `Path`, `Secure`, `Expires` as unix seconds, `HttpOnly`) that follow belong to it.
 */
export function splitYtDlpCookies(field: string): string[] {
  const cookies: string[][] = [];
  for (const raw of field.split(';')) {
    const token = raw.trim();
    if (token === '') continue;
    const eq = token.indexOf('=');
    const name = (eq < 0 ? token : token.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : token.slice(eq + 1).trim();
    const current = cookies[cookies.length - 1];
    if (current && (name === 'secure' || name === 'httponly')) current.push(name === 'secure' ? 'Secure' : 'HttpOnly');
    else if (current && (name === 'domain' || name === 'path')) current.push(`${name === 'domain' ? 'Domain' : 'Path'}=${value}`);
    else if (current && name === 'expires') {
      const seconds = Number(value);
      current.push(`Expires=${Number.isFinite(seconds) ? new Date(seconds * 1000).toUTCString() : value}`);
    } else if (eq > 0) cookies.push([token]);
  }
  return cookies.map((parts) => parts.join('; '));
}

/** `Cookie: a=1; b=2` → host-only `Set-Cookie` strings (the older yt-dlp form, computed for the format URL). */
function cookieHeaderToSetCookies(header: string): string[] {
  return header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.indexOf('=') > 0)
    .map((part) => `${part}; Path=/`);
}

/**
 * Reads the selected format from an info object: its URL (http/https only), protocol, headers and cookies.
 * Throws `unsupported_media_type` when yt-dlp found only streaming manifests (HLS/DASH) or no URL at all.
 */
export function mediaFromYtDlpInfo(info: Record<string, unknown>): YtDlpMediaFacts {
  const extractor = asText(info['extractor_key']) ?? asText(info['extractor']) ?? 'unknown';
  const merged = Array.isArray(info['requested_formats']) ? info['requested_formats'] : undefined;
  const format = merged && merged.length === 1 ? (asRecord(merged[0]) ?? info) : info;
  const url = asText(format['url']);
  const protocol = asText(format['protocol']) ?? (url?.split(':')[0] ?? '');
  if (!url) {
    throw new IngestError('unsupported_media_type', `yt-dlp (${extractor}) found no single downloadable file for this URL`);
  }
  if (STREAMING.test(protocol) || !/^https?$/i.test(protocol)) {
    throw new IngestError(
      'unsupported_media_type',
      `yt-dlp (${extractor}) offers only a streaming format (${protocol}); HLS/DASH manifests are not supported`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new IngestError('upstream_error', `yt-dlp (${extractor}) reported an invalid media URL`, { cause: error, retryable: false });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new IngestError('unsupported_scheme', `yt-dlp (${extractor}) reported a ${parsed.protocol} media URL`);
  }
  const headers: Record<string, string> = {};
  let cookieHeader: string | undefined;
  for (const [name, value] of Object.entries(asRecord(format['http_headers']) ?? asRecord(info['http_headers']) ?? {})) {
    if (typeof value !== 'string') continue;
    if (name.toLowerCase() === 'cookie') cookieHeader = value;
    else if (!DROPPED_HEADERS.has(name.toLowerCase()) && !/[\r\n]/.test(value)) headers[name] = value;
  }
  const cookiesField = asText(format['cookies']) ?? asText(info['cookies']);
  const setCookies = cookiesField ? splitYtDlpCookies(cookiesField) : cookieHeader ? cookieHeaderToSetCookies(cookieHeader) : [];
  return { url: parsed.href, protocol, headers, setCookies, ext: asText(format['ext']), extractor };
}

/** Patterns of yt-dlp's `ERROR:` lines, first match wins. */
const STDERR_RULES: ReadonlyArray<{ pattern: RegExp; code: ErrorCode }> = [
  { pattern: /unsupported url/i, code: 'unsupported_page_host' },
  { pattern: /HTTP Error 429|too many requests|rate.?limit/i, code: 'upstream_blocked' },
  { pattern: /HTTP Error 40[13]|private|log ?in|sign ?in|login required|members.only|confirm your age|age.restricted|not available in your (country|region)|geo.?restrict/i, code: 'source_forbidden' },
  { pattern: /HTTP Error 404|HTTP Error 410|not found|does not exist|been removed|been deleted|no longer available|video not available|video unavailable/i, code: 'source_not_found' },
  { pattern: /requested format is not available|no video formats found|no formats/i, code: 'unsupported_media_type' },
  { pattern: /timed? ?out/i, code: 'timeout' },
];

/** What the caller is told for each code: never yt-dlp's own words (they can quote the page or an internal server). */
const FAILURE_TEXT: Partial<Record<ErrorCode, string>> = {
  unsupported_page_host: 'yt-dlp does not support this page',
  upstream_blocked: 'the source rate-limited or challenged the request',
  source_forbidden: 'the source refused access (private, login-gated, expired or region-gated)',
  source_not_found: 'the source says the media does not exist',
  unsupported_media_type: 'no downloadable format was found',
  timeout: 'the source timed out',
};

/**
 * Maps a failed yt-dlp run (its stderr) to an IngestError. The code comes from the last `ERROR:` line (with none,
 * the stderr tail); the message is generic for that code: yt-dlp's own text (which can quote a page, a redirect
 * target or an internal server's answer) stays in the log. Unknown failures are `upstream_error` and not retried
 * (yt-dlp already retried what it could).
 */
export function ytDlpFailure(stderr: string, exitCode: number | null): IngestError {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const errorLine = [...lines].reverse().find((l) => l.startsWith('ERROR:'));
  const detail = (errorLine ?? lines.slice(-3).join(' | ')).replace(/^ERROR:\s*/, '').slice(0, 500);
  const rule = STDERR_RULES.find((r) => r.pattern.test(detail));
  const code: ErrorCode = rule?.code ?? 'upstream_error';
  const message = `yt-dlp failed${exitCode === null ? '' : ` (exit ${exitCode})`}: ${FAILURE_TEXT[code] ?? 'it could not extract this URL'}`;
  if (code === 'timeout') return new IngestError('timeout', message);
  return rule ? new IngestError(code, message) : new IngestError('upstream_error', message, { retryable: false });
}
