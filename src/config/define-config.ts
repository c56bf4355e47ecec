import type { ContainerModule } from 'inversify';
import type { SourcePlugin } from '../plugin-api.js';
import type { ClusterConfig, ClusterConfigInput } from './cluster-config.js';

/** Limits applied to every file. */
export interface LimitsConfig {
  /** Largest body accepted, counted on bytes actually received. @default 10 GiB */
  maxBytes: number;
  /**
   * Temporary disk for ALL downloads in flight together (their `.part` files), bytes. A download reserves its
   * declared length before its body is read and waits while that does not fit; one without a length is counted as
   * it grows and fails with `disk_budget_exceeded` when it would pass the budget, as does one whose declared
   * length alone is larger than the budget. @default 20 GiB
   */
  maxTempBytes: number;
  /** Longest media accepted, in seconds. @default 14400 (4 h) */
  maxDurationSeconds: number;
  /** Largest coded width or height of any video stream, checked before decoding (→ `media_limits_exceeded`). @default 8192 */
  maxPixelDimension: number;
  /** Largest coded width × height of any video stream (→ `media_limits_exceeded`). @default 35389440 (8192 × 4320) */
  maxFramePixels: number;
  /** A video's sample (pixel) aspect ratio must lie within [1/x, x] (→ `media_limits_exceeded`). @default 16 */
  maxSampleAspectRatio: number;
  /** A video's display aspect ratio (width × SAR / height) must lie within [1/x, x] (→ `media_limits_exceeded`). @default 16 */
  maxDisplayAspectRatio: number;
  /** Largest declared average frame rate of a video stream, fps (→ `media_limits_exceeded`). @default 1000 */
  maxFrameRate: number;
  /** Most frames a video stream may declare (→ `media_limits_exceeded`). @default 15000000 (4 h at 1000 fps) */
  maxFrameCount: number;
  /** Most streams a container may declare (→ `media_limits_exceeded`). @default 16 */
  maxStreams: number;
  /** Longest URL accepted, in characters. @default 8192 */
  maxUrlLength: number;
  /** Largest `metadata` object accepted, serialised, in bytes. @default 65536 */
  maxMetadataBytes: number;
}

/** Network deadlines and the private-address block. */
export interface NetworkConfig {
  /** Deadline to establish a connection (TCP + TLS), ms. @default 10000 */
  connectTimeoutMs: number;
  /** Deadline between two received chunks (and for the response headers), ms. @default 30000 */
  idleTimeoutMs: number;
  /** Deadline for one whole transfer, ms. @default 3600000 */
  totalTimeoutMs: number;
  /**
   * Minimum throughput, bytes/s (curl's `--speed-limit`): a body whose rate stays under it for
   * {@link NetworkConfig.minSpeedWindowMs} is aborted with `timeout` and resumed or retried like any stall.
   * Only time spent waiting for the source counts. 0 disables it. @default 1024 (1 KiB/s)
   */
  minBytesPerSecond: number;
  /** The window of {@link NetworkConfig.minBytesPerSecond}, ms (curl's `--speed-time`). @default 30000 */
  minSpeedWindowMs: number;
  /** Redirect cap per request. @default 10 */
  maxRedirects: number;
  /** Lift the private-address block (development only). Env `MEDIA_INGEST_ALLOW_PRIVATE_NETWORKS=1`. @default false */
  allowPrivateNetworks: boolean;
  /** curl `--connect-to` style routes `HOST:PORT:CONNECT_HOST:CONNECT_PORT`. Env `MEDIA_INGEST_CONNECT_TO`. @default [] */
  connectTo: string[];
  /** curl `--resolve` style DNS overrides `HOST:PORT:ADDRESS`. Env `MEDIA_INGEST_RESOLVE`. @default [] */
  resolve: string[];
  /** Desktop browser User-Agent sent on every request. */
  userAgent: string;
}

/**
 * Retry policy for retryable failures: connection refused/reset, TLS handshake cut, a body cut mid-transfer, an idle
 * timeout, 5xx, 429 and 408. One budget covers a whole file run: resolving, opening, and every resume of the body.
 * Non-retryable failures (other 4xx, policy refusals, size limits, storage errors) fail at once.
 */
export interface RetryConfig {
  /** Attempts in all per file run (the first request included; every retry or resume is one more). @default 5 */
  attempts: number;
  /** First backoff, ms; doubles with each retry, with jitter (a random wait between half and all of it). @default 500 */
  baseDelayMs: number;
  /** Longest backoff between two attempts, ms. @default 30000 */
  maxDelayMs: number;
  /**
   * Longest `Retry-After` honoured, ms (delta-seconds and HTTP-date forms). The wait is exactly what the source
   * asked for; a source asking for longer fails the file at once instead of being retried early. @default 60000
   */
  maxRetryAfterMs: number;
  /**
   * Longest time one file may spend retrying, ms, counted from its first retryable failure: no retry is made whose
   * wait would end later than that. @default 300000 (5 min)
   */
  maxTotalMs: number;
}

/** Concurrency of the engine's queues. */
export interface ConcurrencyConfig {
  /** Downloads and resolutions at once. @default 8 */
  network: number;
  /** Requests at once to one host. @default 4 */
  perHost: number;
  /** ffmpeg/ffprobe/sharp jobs at once. @default number of CPUs */
  cpu: number;
}

/**
 * The decoder: which ffmpeg/ffprobe run on untrusted media, the version floor, and the operating-system limits of
 * every ffmpeg/ffprobe process (applied with util-linux `prlimit`; a process past one fails with
 * `media_limits_exceeded`).
 */
export interface DecoderConfig {
  /**
   * Path of ffmpeg; empty finds `ffmpeg` on PATH or in /usr/bin (e.g. Debian's security-patched package), else the
   * npm `@ffmpeg-installer` binary (a 2018 build, last resort). Env `MEDIA_INGEST_FFMPEG`. @default ''
   */
  ffmpegPath: string;
  /** Path of ffprobe, found like {@link DecoderConfig.ffmpegPath}. Env `MEDIA_INGEST_FFPROBE`. @default '' */
  ffprobePath: string;
  /** Oldest FFmpeg release (`major.minor`) accepted without a warning. @default '5.1' */
  minVersion: string;
  /** Refuse to start (instead of a loud warning) when ffmpeg or ffprobe is missing or older than `minVersion`. @default false */
  requireMinVersion: boolean;
  /** Address-space limit of each ffmpeg/ffprobe process, bytes. @default 1 GiB */
  processMemoryBytes: number;
  /** CPU-time limit of each ffmpeg/ffprobe process, seconds. @default 120 */
  processCpuSeconds: number;
  /** Largest file an ffmpeg process may write, bytes (raised to fit the largest thumbnail frame). @default 64 MiB */
  processOutputBytes: number;
}

/** Thumbnail options. */
export interface ThumbnailConfig {
  /** Width of every thumbnail in px (height keeps the display aspect ratio; even sizes). @default 640 */
  width: number;
  /**
   * Largest thumbnail height in px: portrait media taller than `width` × `maxHeight`/`width` allows are fitted by
   * height instead (narrower than `width`). Every thumbnail fits in `width` × `maxHeight`. @default 2 × width
   */
  maxHeight?: number;
  /** `jpeg` or `webp`. @default 'jpeg' */
  format: 'jpeg' | 'webp';
  /** Encoder quality 1-100. @default 80 */
  quality: number;
  /** Length of a uniform segment, seconds. @default 20 */
  segmentSeconds: number;
  /** Segment thumbnails when the caller does not say. @default true */
  segmentThumbnailsByDefault: boolean;
}

/**
 * The yt-dlp fallback extractor (a Debian/pip `yt-dlp` binary; nothing is downloaded at run time). It only
 * extracts (`--dump-single-json`); the bytes are always downloaded by the guarded client, and yt-dlp's own
 * requests go through an in-process guarded proxy with the same routing and private-address block.
 * YouTube URLs are never given to it.
 */
export interface YtDlpConfig {
  /** Use yt-dlp when a binary is configured or found on PATH. @default true */
  enabled: boolean;
  /** Path of the yt-dlp binary; empty searches PATH for `yt-dlp`. @default '' */
  binary: string;
  /** Deadline of one yt-dlp run, ms (the process is killed after it). @default 60000 */
  timeoutMs: number;
  /** Cap on yt-dlp's JSON output, bytes (the process is killed beyond it). @default 8 MiB */
  maxOutputBytes: number;
  /**
   * Run yt-dlp in an empty network namespace (`unshare --net`; it reaches the guarded proxy through a Unix socket):
   * `'auto'` when the kernel and privileges allow it, `'required'` refuses to run yt-dlp otherwise, `'off'` relies on
   * the in-process sandbox alone (which always applies: no socket but the proxy's, no lookups, no programs).
   * @default 'auto'
   */
  networkNamespace?: 'auto' | 'required' | 'off';
  /**
   * An extra CA bundle (PEM) yt-dlp must trust besides the public roots, e.g. a corporate or test CA. When set,
   * yt-dlp runs with `--compat-options no-certifi` and `SSL_CERT_FILE` pointing at Node's root store plus this
   * file. Verification is never turned off. `''` keeps yt-dlp's own trust store.
   * @default the NODE_EXTRA_CA_CERTS environment variable, else ''
   */
  caFile?: string;
}

/** A webhook receiver (used by `serve`). */
export interface WebhookConfig {
  url: string;
  /** HMAC-SHA256 key for the `X-Media-Ingest-Signature` header. */
  secret: string;
  /** Event names to send. @default all */
  events?: string[];
}

/** The Prometheus endpoint of `serve` (`GET /metrics`, see src/metrics). */
export interface MetricsConfig {
  /** Serve `GET /metrics`. @default true */
  enabled: boolean;
  /** Serve it without the bearer key (e.g. for a scraper inside a private network). Env `MEDIA_INGEST_METRICS_PUBLIC`. @default false */
  public: boolean;
}

/** The whole configuration; `pipeline.config.ts` exports a partial one through {@link defineConfig}. */
export interface IngestConfig {
  /** Registry, blobs, thumbnails and temp files live here. Env `MEDIA_INGEST_DATA_DIR`. @default './.media-ingest' */
  dataDir: string;
  /** Prefix of File.uri. @default 'media-ingest://files/' */
  uriPrefix: string;
  /** Base of thumbnail URLs (e.g. `https://ingest.example.com`); empty gives `/v1/files/...` paths. @default '' */
  publicBaseUrl: string;
  /**
   * Your source plugins, in match order, tried before the built-ins (adding one is one line). A plugin marked
   * `catchAll` (direct http) is tried last wherever it is listed. @default []
   */
  plugins: SourcePlugin[];
  /**
   * The built-in plugins, tried after `plugins` and those bound by `modules`.
   * @default `builtinPlugins()` of the packaged pipeline.config.ts (Dropbox, Loom, TikTok, direct http)
   */
  builtinPlugins: SourcePlugin[];
  /**
   * Extra inversify modules, loaded last: bind more plugins under `TOKENS.SourcePlugin` (tried before the
   * built-ins), or rebind services (`rebindSync(TOKENS.Registry)`, a stage, the HTTP client, the yt-dlp runner).
   */
  modules: ContainerModule[];
  /** The module binding the four ports (`PORTS`). @default the local module (SQLite, files, p-queue, EventEmitter) */
  portsModule?: ContainerModule;
  limits: LimitsConfig;
  network: NetworkConfig;
  retry: RetryConfig;
  concurrency: ConcurrencyConfig;
  thumbnails: ThumbnailConfig;
  /** ffmpeg/ffprobe: which binaries, version floor, per-process limits (see {@link DecoderConfig}). */
  decoder: DecoderConfig;
  /** Deadline of one ffprobe run, ms. @default 30000 */
  probeTimeoutMs: number;
  /** Deadline of one ffmpeg thumbnail run, ms. @default 120000 */
  ffmpegTimeoutMs: number;
  /** Bearer keys of `serve`. Env `MEDIA_INGEST_API_KEYS`. @default [] */
  apiKeys: string[];
  webhooks: WebhookConfig[];
  /** The yt-dlp fallback extractor (see {@link YtDlpConfig}). */
  ytDlp: YtDlpConfig;
  /** pino level. Env `LOG_LEVEL`. @default 'info' */
  logLevel: string;
  /**
   * Cluster mode (PostgreSQL, Redis, S3; see the README's "Scaling out"). Absent: the embedded engine, no services.
   * Env `MEDIA_INGEST_POSTGRES_URL`, `MEDIA_INGEST_REDIS_URL`, `MEDIA_INGEST_S3_*`. @default undefined
   */
  cluster?: ClusterConfig;
  /** `GET /metrics` of the HTTP API (see {@link MetricsConfig}; the library option is `createIngest({ metrics })`). */
  metricsEndpoint: MetricsConfig;
}

/** Deep-partial configuration as written by users. */
export type IngestConfigInput = {
  [K in Exclude<keyof IngestConfig, 'cluster'>]?: IngestConfig[K] extends unknown[]
    ? IngestConfig[K]
    : IngestConfig[K] extends object
      ? Partial<IngestConfig[K]>
      : IngestConfig[K];
} & { cluster?: ClusterConfigInput };

/** Typed helper for `pipeline.config.ts`; returns its argument. */
export function defineConfig(config: IngestConfigInput): IngestConfigInput {
  return config;
}
