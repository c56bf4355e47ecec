// The real services of the cluster suites (PostgreSQL, Redis, an S3 API: Swift s3api on this project's machines).
// `bash scripts/cluster-services.sh` starts them and writes test/.cluster.env; the variables may also come from the
// environment (which wins). A suite calls `await clusterServices('what it covers')` at top level and skips with one
// loud line when something is missing (a failure under CI, see optional.ts).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { clusterConfigFromEnv, resolveClusterConfig } from '../../src/config/cluster-config.js';
import type { ClusterConfig } from '../../src/config/cluster-config.js';
import { createS3Client } from '../../src/adapters/cluster/s3-client.js';
import { requireOptional } from './optional.js';

const ENV_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../.cluster.env');
const HINT = 'start them with: bash scripts/cluster-services.sh';

/** The cluster variables: the process environment over test/.cluster.env (written by scripts/cluster-services.sh). */
export function clusterEnv(): NodeJS.ProcessEnv {
  const fromFile: Record<string, string> = {};
  if (existsSync(ENV_FILE)) {
    for (const line of readFileSync(ENV_FILE, 'utf8').split('\n')) {
      const match = /^(MEDIA_INGEST_[A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (match) fromFile[match[1]!] = match[2]!;
    }
  }
  const fromProcess = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith('MEDIA_INGEST_')));
  return { ...fromFile, ...fromProcess };
}

async function probePostgres(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return `PostgreSQL is unreachable (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function probeRedis(url: string): Promise<string | null> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let lastError = '';
  redis.on('error', (error: Error) => (lastError = error.message));
  try {
    await redis.connect();
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    return policy === 'noeviction' ? null : `Redis maxmemory-policy is ${policy}, not noeviction`;
  } catch (error) {
    return `Redis is unreachable (${lastError || (error as Error).message})`;
  } finally {
    redis.disconnect();
  }
}

async function probeS3(config: ClusterConfig['s3']): Promise<string | null> {
  const s3 = createS3Client(config);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: config.bucket }), { abortSignal: AbortSignal.timeout(5000) });
    return null;
  } catch (error) {
    return `the S3 bucket ${config.bucket} at ${config.endpoint || 'AWS'} is unreachable (${(error as Error).name})`;
  } finally {
    s3.destroy();
  }
}

/** What is missing for the cluster suites (null when all three services answer), and the config when complete. */
export async function probeClusterServices(): Promise<{ missing: string | null; config: ClusterConfig | null }> {
  let config: ClusterConfig | undefined;
  try {
    config = resolveClusterConfig(clusterConfigFromEnv(clusterEnv()));
  } catch (error) {
    return { missing: `the cluster environment is incomplete: ${(error as Error).message}`, config: null };
  }
  if (!config) return { missing: 'no MEDIA_INGEST_POSTGRES_URL / REDIS_URL / S3_* variables and no test/.cluster.env', config: null };
  const problems = (await Promise.all([probePostgres(config.postgresUrl), probeRedis(config.redisUrl), probeS3(config.s3)])).filter(
    (problem): problem is string => problem !== null,
  );
  return { missing: problems.length ? problems.join('; ') : null, config };
}

/**
 * The cluster config of a suite, or null when the services are missing (the suite is then skipped with one loud
 * line outside CI; under CI this throws). Use: `const cluster = await clusterServices('...');
 * describe.skipIf(!cluster)(...)`.
 */
export async function clusterServices(suite: string): Promise<ClusterConfig | null> {
  const { missing, config } = await probeClusterServices();
  return requireOptional(suite, missing, HINT) ? config : null;
}
