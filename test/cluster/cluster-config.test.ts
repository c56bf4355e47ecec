// The `cluster` config section (file, environment, validation) and the rule that an embedded engine never loads a
// cluster driver: no static import path from the library or CLI entry points reaches them.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load-config.js';
import { isIngestError } from '../../src/errors.js';

const EMPTY_CONFIG = path.resolve('test/support/empty.config.ts');
const ENV = {
  MEDIA_INGEST_POSTGRES_URL: 'postgres://u:pg-secret@db.internal:5432/ingest',
  MEDIA_INGEST_REDIS_URL: 'redis://cache.internal:6379',
  MEDIA_INGEST_S3_ENDPOINT: 'http://s3.internal:8080',
  MEDIA_INGEST_S3_BUCKET: 'media',
  MEDIA_INGEST_S3_PREFIX: 'ingest',
  MEDIA_INGEST_S3_ACCESS_KEY_ID: 'AKID',
  MEDIA_INGEST_S3_SECRET_ACCESS_KEY: 's3-secret',
  MEDIA_INGEST_S3_FORCE_PATH_STYLE: 'true',
};

async function configError(options: Parameters<typeof resolveConfig>[0]): Promise<{ code: string; message: string }> {
  const error = await resolveConfig(options).then(() => undefined, (e: unknown) => e);
  if (!isIngestError(error)) throw new Error(`expected an IngestError, got ${String(error)}`);
  return error;
}

describe('cluster config', () => {
  it('is absent by default: the embedded engine', async () => {
    const config = await resolveConfig({ configFile: EMPTY_CONFIG, env: {} });
    expect(config.cluster).toBeUndefined();
  });

  it('comes from the environment, with defaults filled and the prefix made a folder', async () => {
    const config = await resolveConfig({ configFile: EMPTY_CONFIG, env: ENV });
    expect(config.cluster).toEqual({
      postgresSchema: 'media_ingest',
      redisPrefix: 'media-ingest',
      queue: { lockDurationMs: 60_000, stalledIntervalMs: 30_000, reconcileIntervalMs: 30_000 },
      postgresUrl: ENV.MEDIA_INGEST_POSTGRES_URL,
      redisUrl: ENV.MEDIA_INGEST_REDIS_URL,
      s3: { endpoint: 'http://s3.internal:8080', region: 'us-east-1', bucket: 'media', prefix: 'ingest/', credentials: { accessKeyId: 'AKID', secretAccessKey: 's3-secret' }, forcePathStyle: true },
    });
  });

  it('merges the environment over the config object key by key, s3 included', async () => {
    const config = await resolveConfig({
      configFile: EMPTY_CONFIG,
      env: { MEDIA_INGEST_S3_BUCKET: 'from-env' },
      overrides: { cluster: { postgresUrl: 'postgres://localhost/x', redisUrl: 'redis://localhost', s3: { region: 'eu-west-1', bucket: 'from-file' } } },
    });
    // overrides win over the environment; s3 fields not overridden keep theirs
    expect(config.cluster?.s3).toMatchObject({ region: 'eu-west-1', bucket: 'from-file', prefix: '', forcePathStyle: false });
    const fromEnv = await resolveConfig({ configFile: EMPTY_CONFIG, env: { ...ENV, MEDIA_INGEST_S3_BUCKET: 'env-bucket' }, overrides: { cluster: { s3: { region: 'eu-west-1' } } } });
    expect(fromEnv.cluster?.s3).toMatchObject({ region: 'eu-west-1', bucket: 'env-bucket', endpoint: 'http://s3.internal:8080' });
  });

  it('takes the queue timing from the environment or the section, and refuses a lock too short to renew', async () => {
    const config = await resolveConfig({
      configFile: EMPTY_CONFIG,
      env: { ...ENV, MEDIA_INGEST_QUEUE_LOCK_MS: '5000', MEDIA_INGEST_QUEUE_RECONCILE_MS: '0' },
      overrides: { cluster: { queue: { stalledIntervalMs: 2000 } } },
    });
    expect(config.cluster?.queue).toEqual({ lockDurationMs: 5000, stalledIntervalMs: 2000, reconcileIntervalMs: 0 });
    const short = await configError({ configFile: EMPTY_CONFIG, env: { ...ENV, MEDIA_INGEST_QUEUE_LOCK_MS: '10' } });
    expect(short).toMatchObject({ code: 'invalid_request', message: 'Cluster config: queue.lockDurationMs must be an integer >= 1000' });
  });

  it('refuses an incomplete or malformed section, naming the option and never a secret', async () => {
    const missing = await configError({ configFile: EMPTY_CONFIG, env: { MEDIA_INGEST_S3_BUCKET: 'b', MEDIA_INGEST_REDIS_URL: 'redis://x' } });
    expect(missing).toMatchObject({ code: 'invalid_request', message: 'Cluster config: postgresUrl is missing' });
    const protocol = await configError({ configFile: EMPTY_CONFIG, env: { ...ENV, MEDIA_INGEST_REDIS_URL: 'http://u:redis-secret@x' } });
    expect(protocol.message).toMatch(/redisUrl must use redis: or rediss:/);
    expect(protocol.message).not.toContain('secret');
    const halfKey = await configError({ configFile: EMPTY_CONFIG, env: { ...ENV, MEDIA_INGEST_S3_SECRET_ACCESS_KEY: '' } });
    expect(halfKey.message).toMatch(/accessKeyId and secretAccessKey/);
    const escape = await configError({ configFile: EMPTY_CONFIG, env: { ...ENV, MEDIA_INGEST_S3_PREFIX: '../x' } });
    expect(escape.message).toMatch(/s3.prefix/);
    const schema = await configError({ configFile: EMPTY_CONFIG, env: { ...ENV, MEDIA_INGEST_POSTGRES_SCHEMA: 'x; DROP TABLE files' } });
    expect(schema.message).toMatch(/postgresSchema/);
  });
});

describe('embedded default loads no cluster driver', () => {
  const DRIVERS = /^(pg|kysely|bullmq|ioredis|redis-semaphore|@aws-sdk\/.*)$/;

  /** Every module reachable by static `import … from` / `export … from` (type-only imports excluded). */
  function staticClosure(entry: string): { files: Set<string>; packages: Set<string> } {
    const files = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (files.has(file)) return;
      files.add(file);
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
        const specifier = match[1]!;
        if (specifier.startsWith('.')) {
          const resolved = path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts'));
          if (existsSync(resolved)) visit(resolved);
        } else {
          packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
        }
      }
    };
    visit(path.resolve(entry));
    return { files, packages };
  }

  it.each(['src/index.ts', 'src/cli/main.ts', 'src/server/index.ts'])('%s', (entry) => {
    const { files, packages } = staticClosure(entry);
    expect(files.size).toBeGreaterThan(5); // the walk really follows imports
    expect([...files].filter((f) => f.includes(`${path.sep}adapters${path.sep}cluster${path.sep}`) && !f.endsWith('load.ts'))).toEqual([]);
    expect([...packages].filter((p) => DRIVERS.test(p))).toEqual([]);
  });

  it('while the cluster module itself does import them (the check can fail)', () => {
    const { packages } = staticClosure('src/adapters/cluster/cluster.module.ts');
    expect([...packages].filter((p) => DRIVERS.test(p)).sort()).toEqual(['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@aws-sdk/s3-request-presigner', 'bullmq', 'ioredis', 'kysely', 'pg', 'redis-semaphore']);
  });
});
