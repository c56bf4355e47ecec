// The engine in cluster mode against the real services: several engine processes share Postgres, Redis and S3.
// Known gap (not asserted here): each process opens a media response before the registry tells it the identity
// exists, so the origin sees up to one download per process and media (8 × 125 syncs over 50 media: 393 GETs).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/adapters/cluster/s3-client.js';
import { connectToFor, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { clusterServices } from '../support/cluster-services.js';
import { spawnJsonChild } from './support/child-process.js';
import { deleteRedisKeys } from './support/redis-keys.js';
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
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'children/engine-child.ts');
const HOST = 'media.example.test';
const PROCESSES = 4;
const SYNCS = 30;
const DISTINCT = 10;

/** A short mono 16-bit WAV whose tone (so its bytes) depends on n. */
function wav(n: number): Buffer {
  const samples = 2000;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * (200 + n * 10) * i) / 8000)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

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
  beforeAll(async () => {
    server = await startFixtureServer();
    server.route('GET', /^\/(m|%6D)\/\d+\.wav$/, (req, res) => {
      const n = Number(/(\d+)\.wav$/.exec(req.url!)![1]);
      downloads.set(n, (downloads.get(n) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'audio/wav' });
      res.end(wav(n));
    });
  });
  afterAll(async () => server?.close());

  it(`${PROCESSES} processes × ${SYNCS} concurrent syncs over ${DISTINCT} media (several spellings) make ${DISTINCT} files and ${DISTINCT} blobs`, async () => {
    const schema = `mi_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const prefix = `test-${randomUUID()}`;
    const config = { ...cluster!, postgresSchema: schema, redisPrefix: prefix, s3: { ...cluster!.s3, prefix: `${prefix}/` } };
    const dirs: string[] = [];
    const admin = new pg.Client({ connectionString: cluster!.postgresUrl });
    await admin.connect();
    const barrier = Math.floor(Math.random() * 2 ** 31);
    await admin.query('SELECT pg_advisory_lock($1)', [barrier]); // released once every process printed its results
    try {
      const children = Array.from({ length: PROCESSES }, (_, c) => {
        const urls = Array.from({ length: SYNCS }, (_, i) => {
          const n = (c * SYNCS + i) % DISTINCT;
          return spellings(n)[(c + i) % 4]!;
        });
        const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mi-cluster-engine-'));
        dirs.push(dataDir);
        return spawnJsonChild(CHILD, { CHILD_CLUSTER: JSON.stringify(config), CHILD_URLS: JSON.stringify(urls), CHILD_DATA_DIR: dataDir, CHILD_CONNECT_TO: connectToFor(server, [HOST]), CHILD_BARRIER: String(barrier) });
      });
      const outputs = await Promise.all(children.map((child) => child.next((line) => 'results' in line)));
      await admin.query('SELECT pg_advisory_unlock($1)', [barrier]);
      await Promise.all(children.map((child) => child.exited()));
      const results = outputs.flatMap((o) => o.results as Array<[string, string | null, string, string | null]>);
      expect(results).toHaveLength(PROCESSES * SYNCS);
      expect(results.filter((r) => r[2] !== 'completed')).toEqual([]);
      const idByMedia = new Map<number, Set<string>>();
      for (const [url, id] of results) {
        const n = Number(/(\d+)\.wav$/.exec(url)![1]);
        idByMedia.set(n, (idByMedia.get(n) ?? new Set()).add(id!));
      }
      expect([...idByMedia.entries()].filter(([, ids]) => ids.size !== 1).map(([n, ids]) => [n, [...ids]])).toEqual([]);
      expect(new Set(results.map((r) => r[1])).size).toBe(DISTINCT);

      const rows = await admin.query(`SELECT status, count(*)::int AS n FROM ${schema}.files GROUP BY status`);
      expect(rows.rows).toEqual([{ status: 'completed', n: DISTINCT }]);

      expect(downloads.size).toBe(DISTINCT); // every media was fetched (each at least once)
      const s3 = createS3Client(config.s3);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: config.s3.bucket, Prefix: `${prefix}/blobs/sha256/` }));
      const thumbnails = await s3.send(new ListObjectsV2Command({ Bucket: config.s3.bucket, Prefix: `${prefix}/files/` }));
      await emptyPrefix(s3, config.s3.bucket, `${prefix}/`);
      s3.destroy();
      expect(listed.KeyCount).toBe(DISTINCT);
      expect(thumbnails.KeyCount ?? 0).toBe(0); // audio: no thumbnails
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      await admin.query('SELECT pg_advisory_unlock_all()');
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
      await deleteRedisKeys(cluster!.redisUrl, prefix);
    }
  }, 300_000);
});
