/**
 * The published plugin API: everything a source plugin may import from media-ingest.
* A plugin lives in its own folder (built-ins under `plugins/`, third-party ones anywhere) and is registered
 * by listing it in `pipeline.config.ts`. Plugins import only from this module (`media-ingest/plugin`).
 */
import type { Readable } from 'node:stream';
import type { CookieJar } from 'tough-cookie';
import type { Logger } from 'pino';

export { IngestError, isIngestError, toIngestError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { CookieJar } from 'tough-cookie';
export type { Logger } from 'pino';

/** Options of one outbound request made through the guarded client. */
export interface HttpRequestOptions {
  /** @default 'GET' */
  method?: 'GET' | 'POST' | 'HEAD';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Cookies are read from and stored to this jar on every hop (redirects included). */
  cookieJar?: CookieJar;
  /** Follow 301/302/303/307/308 ourselves, re-checking every hop. @default true */
  followRedirects?: boolean;
  /** Overrides the configured redirect cap for this request. */
  maxRedirects?: number;
  /** Aborts the request and its body stream. */
  signal?: AbortSignal;
  /** Byte limit on the body actually received (decoded). Defaults to the configured `limits.maxBytes`. */
  maxBytes?: number;
  /** Adds `Range: bytes=<offset>-`. */
  rangeStart?: number;
}

/** A response whose body has not been read yet. The body stream enforces the byte limit and the idle deadline. */
export interface HttpResponse {
  /** The final URL, after redirects. */
  url: string;
  status: number;
  /** Header names are lower case. */
  headers: Record<string, string | string[] | undefined>;
  /** Every URL visited before `url`, in order. */
  redirects: string[];
  /** The body; emits an IngestError (`file_too_large`, `timeout`, `upstream_error`) on failure. */
  body: Readable;
  /** Reads the body as text (default limit 5 MiB). */
  text(limitBytes?: number): Promise<string>;
  /** Reads and parses the body as JSON; `upstream_error` when it is not JSON. */
  json<T = unknown>(limitBytes?: number): Promise<T>;
  /** Discards the body and frees the connection. */
  dump(): Promise<void>;
  /** First value of a header, if present. */
  header(name: string): string | undefined;
}

/**
 * The guarded HTTP client: every request, redirect hop and DNS answer passes the private-address block,
 * honours MEDIA_INGEST_CONNECT_TO / MEDIA_INGEST_RESOLVE, and runs under connect/idle/total deadlines.
 */
export interface HttpClient {
  /**
   * Sends a request. Resolves with the response for ANY HTTP status (4xx/5xx included: map them yourself);
   * rejects with an IngestError for refused targets (`blocked_address`, `unsupported_scheme`), redirect caps
   * (`too_many_redirects`), deadlines (`timeout`) and network failures (`upstream_error`).
   */
  request(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse>;
}

/** A canonical identity: two URLs with equal `key` are the same file. */
export interface SourceIdentity {
  /** Stable, namespaced key, e.g. `tiktok:7234567890123456789`. Its SHA-256 is the file's idempotency hash. */
  key: string;
  /** The canonical URL shown as `canonical_url`. */
  canonicalUrl: string;
}

/** How to fetch the bytes: the request the download stage makes through the guarded client. */
export interface DownloadRequest {
  url: string;
  /** @default 'GET' */
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Cookies the media host needs (e.g. TikTok's `tt_chain_token`). */
  cookieJar?: CookieJar;
}

/** What a plugin's `resolve` returns. */
export interface ResolvedSource {
  identity: SourceIdentity;
  download: DownloadRequest;
  /** Display filename suggested by the source (the response's Content-Disposition still wins). */
  filename?: string;
  /** Provenance, discriminated by `source_type`; merged with what the download learns. */
  sourceMetadata?: Record<string, unknown> | null;
}

/** One context object per resolution. */
export interface ResolveContext {
  http: HttpClient;
  /** A fresh jar for this resolution; pass it on in `DownloadRequest.cookieJar` when the media host needs it. */
  cookies: CookieJar;
  logger: Logger;
  signal: AbortSignal;
  /** The desktop browser User-Agent the engine uses. */
  userAgent: string;
  /**
   * The yt-dlp fallback extractor, present when it is enabled and a binary was found (config `ytDlp`).
   * Plugins use it for pages they cannot read themselves; the bytes are still downloaded by the engine.
   */
  ytDlp?: YtDlpRunner;
}

/** What yt-dlp reported for a URL, ready to download through the guarded client. */
export interface YtDlpExtraction {
  /** yt-dlp's info JSON (`--dump-single-json`), as parsed: read its fields defensively. */
  info: Record<string, unknown>;
  /**
   * The selected format as a download request: its direct http(s) URL, the request headers yt-dlp reports
   * (`http_headers`, without `Cookie`) and its cookies in a jar scoped to their domains.
   */
  download: DownloadRequest;
  /** yt-dlp's extractor key, e.g. `TikTok` or `Generic`. */
  extractor: string;
}

/**
 * Runs yt-dlp (`--dump-single-json --no-playlist`) on one URL, with its requests routed through a guarded
 * proxy (same routing and private-address block as {@link HttpClient}) and under a time and output cap.
 */
export interface YtDlpRunner {
  /**
   * Extracts `url`. Rejects with an IngestError: `youtube_not_supported` (refused before yt-dlp runs),
   * `blocked_address` (yt-dlp tried a refused address), `timeout`, `unsupported_media_type` (only streaming
   * manifests or no media), `source_forbidden`/`source_not_found` when yt-dlp says so, else `upstream_error`.
   */
  extract(url: string | URL, options?: { signal?: AbortSignal }): Promise<YtDlpExtraction>;
}

/**
 * A source plugin recognises URLs, gives them a canonical identity and resolves them to a download request.
 * Plugins only resolve: they never probe, thumbnail or store.
 */
export interface SourcePlugin {
  /** Stable id, also the File's `source` (e.g. `http`, `dropbox`). */
  readonly id: string;
  /** One line for `media-ingest plugins`. */
  readonly description: string;
  /** The URL forms it accepts, for `media-ingest plugins` and the docs. */
  readonly urlForms: readonly string[];
  /**
   * A catch-all (direct http) accepts any http(s) URL: it is tried after every other plugin, wherever it was
   * registered, and page-host refusals apply before it. @default false
   */
  readonly catchAll?: boolean;
  /**
   * The JSON Schema of the `source_metadata` this plugin records (an object schema), used in the server's OpenAPI
   * document. Without it the File's `source_metadata` is documented as a free-form object for this source.
   */
  readonly sourceMetadataSchema?: Record<string, unknown>;
  /** Cheap and offline: does this plugin take the URL? The first matching plugin (see `catchAll`) wins. */
  matches(url: URL): boolean;
  /**
   * Offline identity when the URL alone determines it (undefined when the network is needed, e.g. short links).
   * May throw an IngestError for URL forms the plugin refuses (e.g. folders).
   */
  identify(url: URL): SourceIdentity | undefined;
  /** Resolves the URL to a download request (network allowed, through `ctx.http` only). */
  resolve(url: URL, ctx: ResolveContext): Promise<ResolvedSource>;
  /**
   * Optional check of the opened media response before any byte is stored (e.g. a login page served with 200).
   * Throw an IngestError to refuse it.
   */
  checkResponse?(response: HttpResponse, firstBytes: Buffer): void;
}

/** The sniffed kind of a body from its first bytes. */
export type SniffedKind = 'media' | 'html' | 'hls' | 'dash' | 'zip' | 'image' | 'json' | 'text' | 'pdf' | 'unknown';

/** Request body that a resolved download leaves unread; convenience type for plugin authors. */
export type BodyStream = Readable;

/** Generic URL normalisation (host case, default port, fragment, percent-encoding case): for plugin identities. */
export { normalizeUrl } from './url/normalize.js';
/** Display-name helpers: sanitise a remote filename, or take it from a URL's last path segment. */
export { sanitizeFilename, filenameFromUrl } from './stages/filename.js';
/** The plugin kit: hosts, Retry-After, status → error, cancellation, display names (see src/plugin-kit.ts). */
export {
  hostOf, hostIs, hostIsOrUnder, isWebUrl, parseRetryAfter, errorForStatus, cancelledBy, sanitizeTitle, titleFilename, nullableSchema,
} from './plugin-kit.js';
export type { StatusContext } from './plugin-kit.js';
