// Redis or Postgres restarted while cluster workers (separate OS processes) are mid-run: every file still ends
// `completed`, once. The restarted services are PRIVATE instances started by this suite (the shared ones are never
// restarted): a redis-server without persistence, like production's cache-style Redis, so the restart loses every
// queued job, and a PostgreSQL 15 cluster restarted with `pg_ctl restart -m fast`.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterServices } from '../support/cluster-services.js';
import { requireOptional } from '../support/optional.js';
import { FaultCluster, mediaUrl, makeVideos, nextLine, Origin } from './support/fault-harness.js';
import { startPrivateRedis } from './support/private-redis.js';
import type { PrivateRedis } from './support/private-redis.js';
import { privatePostgresMissing, startPrivatePostgres } from './support/private-postgres.js';
import type { PrivatePostgres } from './support/private-postgres.js';

const cluster = await clusterServices('cluster: service restarts');
const redisMissing = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].some((p) => existsSync(p)) ? null : 'redis-server is not installed';
const runRedis = requireOptional('cluster: Redis restart', redisMissing, 'apt-get install redis-server');
const runPostgres = requireOptional('cluster: Postgres restart', privatePostgresMissing(), 'apt-get install postgresql-15');
const MEDIA = 6;
/** 2 workers × 2 runs at once (network concurrency 2): 4 runs under way at the restart, 2 still queued. */
const CONFIG = { thumbnails: { segmentThumbnailsByDefault: false }, concurrency: { network: 2, cpu: 1, perHost: 6 } };

describe.skipIf(!cluster)('cluster services restarted mid-run', () => {
  let dir: string;
  let videos: Buffer[];
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mi-restarts-'));
    videos = makeVideos(MEDIA, dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Two workers sync 3 media each and wait; `restart` runs while 4 downloads are held at the origin. */
  async function restartMidRun(faults: FaultCluster, restart: () => Promise<void>): Promise<Origin> {
    const origin = new Origin(videos);
    await origin.start();
    try {
      await faults.connect();
      origin.hold = () => true;
      const workers = await Promise.all([0, 1].map((w) => faults.worker(origin, { urls: [0, 1, 2].map((i) => mediaUrl(3 * w + i)), wait: true, config: CONFIG })));
      await origin.until(() => origin.held.filter((h) => h.open).length >= 4, '4 downloads under way');
      await restart();
      origin.hold = () => false;
      origin.releaseAll();
      const results = await Promise.all(workers.map((w) => nextLine(w.child, (line) => 'results' in line, 'sync results', 60_000)));
      const outcomes = results.flatMap((r) => r.results as Array<[string, string, string, string | null]>);
      expect(outcomes.map((r) => (r[2] === 'completed' ? r[2] : r.join(' ')))).toEqual(Array.from({ length: MEDIA }, () => 'completed'));
      expect(new Set(outcomes.map((r) => r[1])).size).toBe(MEDIA);
      await faults.expectCompleteAndClean(MEDIA, expect);
      return origin;
    } finally {
      await origin.server.close();
    }
  }

  it.skipIf(!runRedis)('Redis restarted (empty: every queued job lost): queued runs are queued again, running ones finish; no file lost or doubled', async () => {
    let redis: PrivateRedis | undefined;
    let faults: FaultCluster | undefined;
    try {
      redis = await startPrivateRedis();
      faults = new FaultCluster({ ...cluster!, redisUrl: redis.url });
      await restartMidRun(faults, () => redis!.restart());
    } finally {
      await faults?.dispose();
      await redis?.stop();
    }
  }, 180_000);

  it.skipIf(!runPostgres)('Postgres restarted (pg_ctl restart -m fast): runs wait it out and finish; no file lost or doubled', async () => {
    let postgres: PrivatePostgres | undefined;
    let faults: FaultCluster | undefined;
    try {
      postgres = await startPrivatePostgres();
      faults = new FaultCluster({ ...cluster!, postgresUrl: postgres.url });
      await restartMidRun(faults, () => postgres!.restart());
    } finally {
      await faults?.dispose();
      await postgres?.stop();
    }
  }, 180_000);
});
