/**
 * The one place where log redaction lives. Every logger media-ingest creates (the engine's, `serve`'s, the CLI's)
 * comes from {@link createLogger}, whose options ({@link redactingLoggerOptions}) make sure no secret reaches a log
 * line at any level:
 *
 * - pino `redact` paths for the headers and fields that are secrets by name (`authorization`, `cookie`,
 *   `set-cookie`, `proxy-authorization`, `x-api-key`, API keys, webhook secrets, tokens, passwords);
 * - a `formatters.log` / `formatters.bindings` pass that walks every logged object (errors and their causes
 *   included) and runs {@link scrubText} on every string, and drops values of secret-named keys at any depth
 *   (plus serializers for the URL-valued keys that child loggers bind, which pino formats only that way);
 * - a `hooks.logMethod` that runs the same scrubber on the message and its interpolation arguments.
 *
 * {@link scrubText} removes the query string values and the fragment of every URL (signatures, tokens, `rlkey`,
 * `X-Amz-Signature` …, keeping the parameter names), URL user-info, `Bearer`/`Basic` credentials, `Cookie:` /
 * `Authorization:` header lines, and any configured secret value (API keys, webhook secrets) wherever it appears.
 */
import pino from 'pino';
import type { DestinationStream, Logger, LoggerOptions } from 'pino';

/** What replaces a secret. */
export const REDACTED = '[REDACTED]';

/** Keys whose values are secrets, at any depth (compared case-insensitively, `-`/`_` ignored). */
const SECRET_KEY = /^(authorization|proxyauthorization|cookie|cookies|setcookie|xapikey|apikey|apikeys|secret|secrets|token|accesstoken|refreshtoken|password|passwd|signature|rlkey|sessionid|credentials)$/;

/** Keys whose string values are URLs or paths whose query may hold secrets even without a scheme. */
const URLISH_KEY = /^(url|href|path|from|to|location|finalurl|target|webhook|uri|redirect|referer|referrer)$/;

function normalisedKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/** `?a=1&b=2#x` → `?a=[REDACTED]&b=[REDACTED]#[REDACTED]`: names kept, values gone. */
function scrubQuery(query: string): string {
  if (query === '') return '';
  const [search = '', fragment] = query.split('#', 2) as [string, string | undefined];
  const params = search.startsWith('?')
    ? `?${search.slice(1).split('&').map((pair) => (pair === '' ? '' : `${pair.split('=')[0]}=${REDACTED}`)).join('&')}`
    : '';
  return `${params}${fragment !== undefined ? `#${REDACTED}` : ''}`;
}

const URL_PATTERN = /\b([a-z][a-z0-9+.-]{1,20}:\/\/)([^\s/?#@"'<>]*@)?([^\s?#"'<>]*)([?#][^\s"'<>]*)?/gi;
const AUTH_SCHEME = /\b(Bearer|Basic|Token|Digest)\s+[A-Za-z0-9._~+/=-]{4,}/gi;
const SECRET_HEADER_LINE = /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key)(\s*[:=]\s*)[^\r\n]*/gi;

/** Configured secret values (API keys, webhook secrets) replaced wherever they appear. */
const knownSecrets = new Set<string>();

/** Adds values (of at least 6 characters) that {@link scrubText} replaces wherever they appear. */
export function registerSecrets(values: Iterable<string | undefined>): void {
  for (const value of values) if (value && value.length >= 6) knownSecrets.add(value);
}

/** Removes secrets from free text (see the module comment). */
export function scrubText(text: string): string {
  let out = text
    .replace(URL_PATTERN, (_all, scheme: string, userinfo: string | undefined, rest: string, query: string | undefined) =>
      `${scheme}${userinfo ? `${REDACTED}@` : ''}${rest}${query ? scrubQuery(query) : ''}`)
    .replace(AUTH_SCHEME, (_all, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(SECRET_HEADER_LINE, (_all, name: string, sep: string) => `${name}${sep}${REDACTED}`);
  for (const secret of knownSecrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

/** A URL or path: its query values and fragment removed (also without a scheme, e.g. `/v1/files?key=x`). */
export function scrubUrl(value: string): string {
  const scrubbed = scrubText(value);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return scrubbed;
  const cut = scrubbed.search(/[?#]/);
  return cut < 0 ? scrubbed : `${scrubbed.slice(0, cut)}${scrubQuery(scrubbed.slice(cut))}`;
}

/** Deep copy of a logged value with every secret removed (errors become plain objects with their causes). */
export function scrubValue(value: unknown, key = '', depth = 0, seen = new WeakSet<object>()): unknown {
  if (key && SECRET_KEY.test(normalisedKey(key))) return value === undefined || value === null ? value : REDACTED;
  if (typeof value === 'string') return URLISH_KEY.test(normalisedKey(key)) ? scrubUrl(value) : scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof URL) return scrubUrl(value.href);
  // HTTP request/response objects are left to their serializers below (which scrub the URL).
  if (/^(req|res|request|reply|response)$/.test(key) && Object.getPrototypeOf(value) !== Object.prototype) return value;
  if (seen.has(value) || depth > 8) return '[…]';
  seen.add(value);
  if (value instanceof Error) {
    const error = value as Error & { code?: unknown; detail?: unknown; cause?: unknown };
    const plain: Record<string, unknown> = { type: error.name, message: scrubText(error.message) };
    if (error.code !== undefined) plain.code = error.code;
    if (typeof error.detail === 'string') plain.detail = scrubText(error.detail);
    // An expected, coded failure needs no stack; anything else (internal, foreign errors) keeps it.
    if (error.stack && !(error.name === 'IngestError' && error.code !== 'internal')) plain.stack = scrubText(error.stack);
    if (error.cause !== undefined) plain.cause = scrubValue(error.cause, 'cause', depth + 1, seen);
    return plain;
  }
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, key, depth + 1, seen));
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, k, depth + 1, seen);
  return out;
}

/** An HTTP request (Fastify's or Node's) as logged: method, URL without query values, host, peer. No headers. */
function serializeRequest(request: unknown): unknown {
  if (request === null || typeof request !== 'object') return request;
  const r = request as { method?: string; url?: string; hostname?: string; host?: string; ip?: string; headers?: Record<string, unknown>; socket?: { remoteAddress?: string } };
  return {
    method: r.method,
    url: typeof r.url === 'string' ? scrubUrl(r.url) : undefined,
    host: r.host ?? r.hostname ?? (typeof r.headers?.host === 'string' ? r.headers.host : undefined),
    remoteAddress: r.ip ?? r.socket?.remoteAddress,
  };
}

/** An HTTP response as logged: its status only (never Set-Cookie). */
function serializeResponse(response: unknown): unknown {
  if (response === null || typeof response !== 'object') return response;
  return { statusCode: (response as { statusCode?: number }).statusCode };
}

/** pino `redact` paths for secrets by name (the deep pass catches the same keys anywhere else). */
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]', 'headers.authorization', 'headers.cookie', 'headers["set-cookie"]',
  '*.headers.authorization', '*.headers.cookie', '*.headers["set-cookie"]', 'apiKeys', '*.apiKeys', 'secret', '*.secret',
  'webhooks[*].secret', 'config.apiKeys', 'config.webhooks[*].secret',
];

/** The pino options that redact (see the module comment); spread them into a logger you build yourself. */
export function redactingLoggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    // pino formats a child's bindings with serializers only (not formatters.bindings): the keys bound in
    // media-ingest (`url`, `webhook` …) are scrubbed here, the same way as everywhere else.
    serializers: {
      ...Object.fromEntries(
        ['url', 'webhook', 'href', 'from', 'to', 'location', 'final_url', 'target', 'uri'].map((key) => [key, (value: unknown) => scrubValue(value, key)]),
      ),
      req: serializeRequest,
      res: serializeResponse,
    },
    formatters: {
      log: (object) => scrubValue(object) as Record<string, unknown>,
      bindings: (bindings) => scrubValue(bindings) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubText(arg) : arg));
        return method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
}

/**
 * A redacting pino logger (stderr unless `destination` is given). `secrets` are configured values (API keys,
 * webhook secrets) that must never appear in a line.
 */
export function createLogger(options: { level: string; name?: string; secrets?: Iterable<string | undefined>; destination?: DestinationStream }): Logger {
  registerSecrets(options.secrets ?? []);
  return pino(
    { ...redactingLoggerOptions(options.level), ...(options.name ? { base: { name: options.name } } : {}) },
    options.destination ?? pino.destination(2),
  );
}
