/**
 * The `cluster` section of the configuration: the services cluster mode runs on (PostgreSQL, Redis, an S3 API).
 * Absent (the default), the engine is the embedded one: SQLite, local files, in-process queues, no services.
 * Nothing here imports a cluster driver; the adapters are loaded by `src/adapters/cluster/load.ts` only when set.
 */
import { IngestError } from '../errors.js';

/** Where blobs and thumbnails go in cluster mode: any S3 API (AWS S3, Swift s3api, Ceph RGW ...). */
export interface ClusterS3Config {
  /** Endpoint URL, e.g. `http://127.0.0.1:8080`; empty uses AWS's endpoint for `region`. Env `MEDIA_INGEST_S3_ENDPOINT`. */
  endpoint: string;
  /** Region the requests are signed for. Env `MEDIA_INGEST_S3_REGION`. @default 'us-east-1' */
  region: string;
  /** Bucket (must exist). Env `MEDIA_INGEST_S3_BUCKET`. */
  bucket: string;
  /** Key prefix of every object, e.g. `media-ingest/` (empty for none). Env `MEDIA_INGEST_S3_PREFIX`. @default '' */
  prefix: string;
  /**
   * Static credentials; absent uses the AWS SDK's default chain (env, profile, instance role).
   * Env `MEDIA_INGEST_S3_ACCESS_KEY_ID`, `MEDIA_INGEST_S3_SECRET_ACCESS_KEY`.
   */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Path-style URLs (`endpoint/bucket/key`), needed by most non-AWS servers. Env `MEDIA_INGEST_S3_FORCE_PATH_STYLE`. @default false */
  forcePathStyle: boolean;
}

/**
 * Timing of the work queue (BullMQ). A worker holds each job by a lock it renews every half `lockDurationMs` while
 * its event loop is free; when it dies (or stops, SIGSTOP, a frozen VM) the lock expires and, at the next stalled
 * check (every `stalledIntervalMs`), another worker takes the run over: a dead worker's files resume after at most
 * `lockDurationMs + stalledIntervalMs`. `reconcileIntervalMs` is how often one worker compares the registry with the
 * queue and queues again the runs of files in flight whose job is gone (a Redis restart lost it).
 */
export interface ClusterQueueConfig {
  /** Lock of a running job, ms. Env `MEDIA_INGEST_QUEUE_LOCK_MS`. @default 60000 */
  lockDurationMs: number;
  /** Stalled-job check, ms. Env `MEDIA_INGEST_QUEUE_STALLED_MS`. @default 30000 */
  stalledIntervalMs: number;
  /** Registry/queue reconcile pass, ms (0: off). Env `MEDIA_INGEST_QUEUE_RECONCILE_MS`. @default 30000 */
  reconcileIntervalMs: number;
}

/** Cluster mode: with all three services set, the cluster adapters replace the local ones. */
export interface ClusterConfig {
  /** `postgres://user@host:port/db`. Env `MEDIA_INGEST_POSTGRES_URL`. */
  postgresUrl: string;
  /** `redis://host:port`. Env `MEDIA_INGEST_REDIS_URL`. */
  redisUrl: string;
  s3: ClusterS3Config;
  /** Postgres schema of the registry's tables (created when missing). Env `MEDIA_INGEST_POSTGRES_SCHEMA`. @default 'media_ingest' */
  postgresSchema: string;
  /** Prefix of every Redis key and channel (queues, locks, events). Env `MEDIA_INGEST_REDIS_PREFIX`. @default 'media-ingest' */
  redisPrefix: string;
  /** Work queue timing (see {@link ClusterQueueConfig}). */
  queue: ClusterQueueConfig;
}

/** A cluster section as written by users: any part may come from the environment instead. */
export interface ClusterConfigInput {
  postgresUrl?: string;
  redisUrl?: string;
  s3?: Partial<ClusterS3Config>;
  postgresSchema?: string;
  redisPrefix?: string;
  queue?: Partial<ClusterQueueConfig>;
}

const TRUE_WORDS = ['1', 'true', 'yes'];

/** The cluster options the environment sets, or undefined when it sets none. */
export function clusterConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ClusterConfigInput | undefined {
  const s3: Partial<ClusterS3Config> = {};
  if (env.MEDIA_INGEST_S3_ENDPOINT !== undefined) s3.endpoint = env.MEDIA_INGEST_S3_ENDPOINT;
  if (env.MEDIA_INGEST_S3_REGION) s3.region = env.MEDIA_INGEST_S3_REGION;
  if (env.MEDIA_INGEST_S3_BUCKET) s3.bucket = env.MEDIA_INGEST_S3_BUCKET;
  if (env.MEDIA_INGEST_S3_PREFIX !== undefined) s3.prefix = env.MEDIA_INGEST_S3_PREFIX;
  if (env.MEDIA_INGEST_S3_FORCE_PATH_STYLE !== undefined) {
    s3.forcePathStyle = TRUE_WORDS.includes(env.MEDIA_INGEST_S3_FORCE_PATH_STYLE.toLowerCase());
  }
  if (env.MEDIA_INGEST_S3_ACCESS_KEY_ID || env.MEDIA_INGEST_S3_SECRET_ACCESS_KEY) {
    s3.credentials = {
      accessKeyId: env.MEDIA_INGEST_S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: env.MEDIA_INGEST_S3_SECRET_ACCESS_KEY ?? '',
    };
  }
  const input: ClusterConfigInput = {};
  if (env.MEDIA_INGEST_POSTGRES_URL) input.postgresUrl = env.MEDIA_INGEST_POSTGRES_URL;
  if (env.MEDIA_INGEST_REDIS_URL) input.redisUrl = env.MEDIA_INGEST_REDIS_URL;
  if (env.MEDIA_INGEST_POSTGRES_SCHEMA) input.postgresSchema = env.MEDIA_INGEST_POSTGRES_SCHEMA;
  if (env.MEDIA_INGEST_REDIS_PREFIX) input.redisPrefix = env.MEDIA_INGEST_REDIS_PREFIX;
  const queue: Partial<ClusterQueueConfig> = {};
  if (env.MEDIA_INGEST_QUEUE_LOCK_MS) queue.lockDurationMs = Number(env.MEDIA_INGEST_QUEUE_LOCK_MS);
  if (env.MEDIA_INGEST_QUEUE_STALLED_MS) queue.stalledIntervalMs = Number(env.MEDIA_INGEST_QUEUE_STALLED_MS);
  if (env.MEDIA_INGEST_QUEUE_RECONCILE_MS) queue.reconcileIntervalMs = Number(env.MEDIA_INGEST_QUEUE_RECONCILE_MS);
  if (Object.keys(queue).length > 0) input.queue = queue;
  if (Object.keys(s3).length > 0) input.s3 = s3;
  return Object.keys(input).length > 0 ? input : undefined;
}

/** Merges two cluster inputs (`over` wins, `s3` merged key by key). */
export function mergeClusterInput(base: ClusterConfigInput | undefined, over: ClusterConfigInput | undefined): ClusterConfigInput | undefined {
  if (!base) return over;
  if (!over) return base;
  const merged: ClusterConfigInput = { ...base, ...over };
  if (base.s3 || over.s3) merged.s3 = { ...base.s3, ...over.s3 };
  if (base.queue || over.queue) merged.queue = { ...base.queue, ...over.queue };
  return merged;
}

function checkUrl(value: string | undefined, what: string, protocols: string[]): string {
  if (!value) throw new IngestError('invalid_request', `Cluster config: ${what} is missing`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new IngestError('invalid_request', `Cluster config: ${what} is not a URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new IngestError('invalid_request', `Cluster config: ${what} must use ${protocols.join(' or ')} (got ${url.protocol})`);
  }
  return value;
}

/**
 * Validates a cluster section: undefined stays undefined (embedded mode); anything set must be complete.
 * Error messages name the option, never its value (URLs and keys may carry secrets).
 */
export function resolveClusterConfig(input: ClusterConfigInput | undefined): ClusterConfig | undefined {
  if (!input) return undefined;
  const s3 = input.s3 ?? {};
  if (!s3.bucket) throw new IngestError('invalid_request', 'Cluster config: s3.bucket is missing');
  if (s3.endpoint) checkUrl(s3.endpoint, 's3.endpoint', ['http:', 'https:']);
  if (s3.credentials && (!s3.credentials.accessKeyId || !s3.credentials.secretAccessKey)) {
    throw new IngestError('invalid_request', 'Cluster config: s3.credentials needs both accessKeyId and secretAccessKey');
  }
  const prefix = s3.prefix ?? '';
  if (prefix.startsWith('/') || prefix.includes('..')) {
    throw new IngestError('invalid_request', 'Cluster config: s3.prefix must be relative and must not contain ".."');
  }
  const postgresSchema = input.postgresSchema ?? 'media_ingest';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(postgresSchema)) throw new IngestError('invalid_request', 'Cluster config: postgresSchema must be a lowercase SQL identifier');
  const redisPrefix = input.redisPrefix ?? 'media-ingest';
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(redisPrefix)) throw new IngestError('invalid_request', 'Cluster config: redisPrefix must be letters, digits, ".", "_" or "-"');
  return {
    postgresSchema,
    redisPrefix,
    queue: resolveQueueConfig(input.queue ?? {}),
    postgresUrl: checkUrl(input.postgresUrl, 'postgresUrl', ['postgres:', 'postgresql:']),
    redisUrl: checkUrl(input.redisUrl, 'redisUrl', ['redis:', 'rediss:']),
    s3: {
      endpoint: s3.endpoint ?? '',
      region: s3.region || 'us-east-1',
      bucket: s3.bucket,
      prefix: prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix,
      ...(s3.credentials ? { credentials: { ...s3.credentials } } : {}),
      forcePathStyle: s3.forcePathStyle ?? false,
    },
  };
}

function whole(value: number | undefined, fallback: number, what: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new IngestError('invalid_request', `Cluster config: queue.${what} must be an integer >= ${min}`);
  return value;
}

/** Queue timing with its defaults; the lock must outlive a few renewals, the stalled check must run. */
function resolveQueueConfig(input: Partial<ClusterQueueConfig>): ClusterQueueConfig {
  return {
    lockDurationMs: whole(input.lockDurationMs, 60_000, 'lockDurationMs', 1_000),
    stalledIntervalMs: whole(input.stalledIntervalMs, 30_000, 'stalledIntervalMs', 500),
    reconcileIntervalMs: whole(input.reconcileIntervalMs, 30_000, 'reconcileIntervalMs', 0),
  };
}
