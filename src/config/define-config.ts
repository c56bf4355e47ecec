import type { ContainerModule } from 'inversify';
import type { SourcePlugin } from '../plugin-api.js';

/** Limits applied to every file. */
export interface LimitsConfig {
  /** Largest body accepted, counted on bytes actually received. @default 10 GiB */
  maxBytes: number;
  /** Longest media accepted, in seconds. @default 14400 (4 h) */
  maxDurationSeconds: number;
  /** Largest width or height accepted before decoding. @default 8192 */
  maxPixelDimension: number;
  /** Most streams a container may declare. @default 16 */
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

/** Retry policy for retryable failures (connection errors, 5xx, 429, 408). */
export interface RetryConfig {
  /** Attempts in all, the first included. @default 4 */
  attempts: number;
  /** First backoff, ms (doubles each time, with jitter). @default 500 */
  baseDelayMs: number;
  /** Longest single wait, ms, also the cap on Retry-After. @default 30000 */
  maxDelayMs: number;
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

/** Thumbnail options. */
export interface ThumbnailConfig {
  /** Width of every thumbnail in px (height keeps the aspect ratio). @default 640 */
  width: number;
  /** `jpeg` or `webp`. @default 'jpeg' */
  format: 'jpeg' | 'webp';
  /** Encoder quality 1-100. @default 80 */
  quality: number;
  /** Length of a uniform segment, seconds. @default 20 */
  segmentSeconds: number;
  /** Segment thumbnails when the caller does not say. @default true */
  segmentThumbnailsByDefault: boolean;
}

/** A webhook receiver (used by `serve`). */
export interface WebhookConfig {
  url: string;
  /** HMAC-SHA256 key for the `X-Media-Ingest-Signature` header. */
  secret: string;
  /** Event names to send. @default all */
  events?: string[];
}

/** The whole configuration; `pipeline.config.ts` exports a partial one through {@link defineConfig}. */
export interface IngestConfig {
  /** Registry, blobs, thumbnails and temp files live here. Env `MEDIA_INGEST_DATA_DIR`. @default './.media-ingest' */
  dataDir: string;
  /** Prefix of File.uri. @default 'media-ingest://files/' */
  uriPrefix: string;
  /** Base of thumbnail URLs (e.g. `https://ingest.example.com`); empty gives `/v1/files/...` paths. @default '' */
  publicBaseUrl: string;
  /** Source plugins in match order; the first whose `matches` accepts a URL handles it. */
  plugins: SourcePlugin[];
  /** Extra inversify modules (advanced: bind more plugins under `SOURCE_PLUGIN`, or replace services). */
  modules: ContainerModule[];
  limits: LimitsConfig;
  network: NetworkConfig;
  retry: RetryConfig;
  concurrency: ConcurrencyConfig;
  thumbnails: ThumbnailConfig;
  /** Deadline of one ffprobe run, ms. @default 30000 */
  probeTimeoutMs: number;
  /** Deadline of one ffmpeg thumbnail run, ms. @default 120000 */
  ffmpegTimeoutMs: number;
  /** Bearer keys of `serve`. Env `MEDIA_INGEST_API_KEYS`. @default [] */
  apiKeys: string[];
  webhooks: WebhookConfig[];
  /** pino level. Env `LOG_LEVEL`. @default 'info' */
  logLevel: string;
}

/** Deep-partial configuration as written by users. */
export type IngestConfigInput = {
  [K in keyof IngestConfig]?: IngestConfig[K] extends unknown[]
    ? IngestConfig[K]
    : IngestConfig[K] extends object
      ? Partial<IngestConfig[K]>
      : IngestConfig[K];
};

/** Typed helper for `pipeline.config.ts`; returns its argument. */
export function defineConfig(config: IngestConfigInput): IngestConfigInput {
  return config;
}
