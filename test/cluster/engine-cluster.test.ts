// The engine in cluster mode against the real services: several engine processes share Postgres, Redis and S3.
// One media, in any spelling, from any process: one file, one blob and one download at the origin (start claims).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/adapters/cluster/s3-client.js';
import { connectToFor, sendText, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { clusterServices } from '../support/cluster-services.js';
import { spawnJsonChild } from './support/child-process.js';
import { deleteRedisKeys } from './support/redis-keys.js';
import { toneWav } from '../support/tone-wav.js';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';

async function emptyPrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    if (!page.Contents?.length) return;
    for (const object of page.Contents) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key! }));
  }
}

const cluster = await clusterServices('cluster: engine');
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/sync-child.ts');
const HOST = 'media.example.test';

/** Four spellings of one media URL that normalise to the same identity. */
const spellings = (n: number): string[] => [
  `http://${HOST}/m/${n}.wav`,
  `http://${HOST.toUpperCase()}/m/${n}.wav`,
  `http://${HOST}:80/m/${n}.wav`,
  `http://${HOST}/%6D/${n}.wav`,
];

describe.skipIf(!cluster)('engine in cluster mode', () => {
  let server: FixtureServer;
  const downloads = new Map<number, number>();
  let missing = 0;
  beforeAll(async () => {
    server = await startFixtureServer();
    server.route('GET', /^\/(m|%6D)\/\d+\.wav$/, (req, res) => {
      const n = Number(/(\d+)\.wav$/.exec(req.url!)![1]);
      downloads.set(n, (downloads.get(n) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'audio/wav' });
      res.end(toneWav(n));
    });
    server.route('GET', '/gone.wav', (_req, res) => {
      missing++;
      sendText(res, 404, 'not here');
    });
  });
  afterAll(async () => server?.close());

  /** `processes` engines × `syncs` concurrent syncs over `distinct` media (and one URL the origin refuses), started at once. */
  async function syncEverywhere(processes: number, syncs: number, distinct: number): Promise<void> {
    downloads.clear();
    missing = 0;
    const schema = `mi_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const prefix = `test-${randomUUID()}`;
    const config = { ...cluster!, postgresSchema: schema, redisPrefix: prefix, s3: { ...cluster!.s3, prefix: `${prefix}/` } };
    const dirs: string[] = [];
    const admin = new pg.Client({ connectionString: cluster!.postgresUrl });
    await admin.connect();
    const barrier = Math.floor(Math.random() * 2 ** 31);
    await admin.query('SELECT pg_advisory_lock($1)', [barrier]); // released once every process printed its results
    try {
      const children = Array.from({ length: processes }, (_, c) => {
        const urls = Array.from({ length: syncs }, (_, i) => spellings((c * syncs + i) % distinct)[(c + i) % 4]!);
        urls.push(`http://${HOST}/gone.wav`);
        const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mi-cluster-engine-'));
        dirs.push(dataDir);
        return spawnJsonChild(CHILD, {
          CHILD_CLUSTER: JSON.stringify(config), CHILD_URLS: JSON.stringify(urls), CHILD_DATA_DIR: dataDir,
          CHILD_CONNECT_TO: connectToFor(server, [HOST]), CHILD_BARRIER: String(barrier), CHILD_GATE: '1',
        });
      });
      await Promise.all(children.map((child) => child.next((line) => line.ready === true)));
      for (const child of children) child.process.stdin.write('go\n');
      const outputs = await Promise.all(children.map((child) => child.next((line) => 'results' in line)));
      await admin.query('SELECT pg_advisory_unlock($1)', [barrier]);
      await Promise.all(children.map((child) => child.exited()));
      const results = outputs.flatMap((o) => o.results as Array<[string, string | null, string, string | null]>);
      expect(results).toHaveLength(processes * (syncs + 1));
      // A refusal before a file exists: every process answers with it, and no file is made.
      const refused = results.filter((r) => r[0].endsWith('/gone.wav'));
      expect(refused.map((r) => [r[2], r[3]])).toEqual(Array.from({ length: processes }, () => ['refused', 'source_not_found']));
      expect(missing).toBeGreaterThanOrEqual(1);

      const media = results.filter((r) => !r[0].endsWith('/gone.wav'));
      expect(media.filter((r) => r[2] !== 'completed')).toEqual([]);
      const idByMedia = new Map<number, Set<string>>();
      for (const [url, id] of media) {
        const n = Number(/(\d+)\.wav$/.exec(url)![1]);
        idByMedia.set(n, (idByMedia.get(n) ?? new Set()).add(id!));
      }
      expect([...idByMedia.entries()].filter(([, ids]) => ids.size !== 1).map(([n, ids]) => [n, [...ids]])).toEqual([]);
      expect(new Set(media.map((r) => r[1])).size).toBe(distinct);

      const rows = await admin.query(`SELECT status, count(*)::int AS n FROM ${schema}.files GROUP BY status`);
      expect(rows.rows).toEqual([{ status: 'completed', n: distinct }]);
      const claims = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.start_claims`);
      expect(claims.rows).toEqual([{ n: 0 }]);

      // One download per media at the origin, across every process.
      const counted = [...downloads.entries()].sort((a, b) => a[0] - b[0]);
      expect(counted).toEqual(Array.from({ length: distinct }, (_, n) => [n, 1]));
      const s3 = createS3Client(config.s3);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: config.s3.bucket, Prefix: `${prefix}/blobs/sha256/` }));
      const thumbnails = await s3.send(new ListObjectsV2Command({ Bucket: config.s3.bucket, Prefix: `${prefix}/files/` }));
      await emptyPrefix(s3, config.s3.bucket, `${prefix}/`);
      s3.destroy();
      expect(listed.KeyCount).toBe(distinct);
      expect(thumbnails.KeyCount ?? 0).toBe(0); // audio: no thumbnails
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      await admin.query('SELECT pg_advisory_unlock_all()');
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
      await deleteRedisKeys(cluster!.redisUrl, prefix);
    }
  }

  it('4 processes × 30 concurrent syncs over 10 media (several spellings): 10 files, 10 blobs, 10 downloads', async () => {
    await syncEverywhere(4, 30, 10);
  }, 300_000);

  it('8 processes × 125 concurrent syncs over 50 media (several spellings): 50 files, 50 blobs, 50 downloads', async () => {
    await syncEverywhere(8, 125, 50);
  }, 600_000);
});
