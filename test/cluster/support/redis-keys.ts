// Removes what a test left in Redis under its key prefix (BullMQ keeps ids, events and meta keys per queue).
import { Redis } from 'ioredis';

export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) throw new Error(`refusing to delete keys under ${JSON.stringify(prefix)}`);
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
