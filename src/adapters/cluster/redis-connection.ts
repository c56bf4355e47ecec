import { Redis } from 'ioredis';
import { IngestError } from '../../errors.js';

/**
 * A Redis connection for the cluster adapters. `blocking` connections (BullMQ workers, subscribers) retry forever
 * (`maxRetriesPerRequest: null`, as BullMQ requires); others fail a command after a few reconnection attempts.
 * Connection errors are kept out of logs (the URL may carry a password); callers see them as rejected commands.
 */
export function createRedis(url: string, options: { blocking?: boolean; name?: string } = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: options.blocking ? null : 3,
    enableReadyCheck: true,
    connectionName: options.name ?? 'media-ingest',
    retryStrategy: (attempt) => Math.min(2000, 50 * 2 ** Math.min(attempt, 6)),
  });
  redis.on('error', () => undefined);
  return redis;
}

/**
 * Refuses a Redis whose `maxmemory-policy` is not `noeviction`: an evicted BullMQ lock or job key loses work
 * silently. Reads it with CONFIG GET, or from INFO where CONFIG is disabled (managed services).
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch {
    const info = await redis.info('memory');
    policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  }
  if (policy !== 'noeviction') {
    throw new IngestError(
      'storage_error',
      `Redis maxmemory-policy is ${policy ?? 'unknown'}; cluster mode needs noeviction (queued jobs and their locks must never be evicted): set maxmemory-policy noeviction`,
    );
  }
}
