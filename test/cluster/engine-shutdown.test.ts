// A cluster worker that closes early hands its unfinished runs back: the syncs other processes made, whose runs it
// had taken, still complete (they used to end `cancelled`), each media once.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { clusterServices } from '../support/cluster-services.js';
import { toneWav } from '../support/tone-wav.js';
import { spawnJsonChild } from './support/child-process.js';
import { deleteRedisKeys } from './support/redis-keys.js';

const cluster = await clusterServices('cluster: engine shutdown');
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), '../support/sync-child.ts');
const HOST = 'media.example.test';
const MEDIA = 24;

describe.skipIf(!cluster)('a cluster worker that closes early', () => {
  let server: FixtureServer;
  let holding = true;
  const held: Array<() => void> = [];
  const heldChanged = new Set<() => void>();
  beforeAll(async () => {
    server = await startFixtureServer();
    server.route('GET', /^\/slow\/\d+\.wav$/, (req, res: ServerResponse) => {
      const n = Number(/(\d+)\.wav$/.exec(req.url!)![1]);
      const answer = (): void => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'audio/wav' });
        res.end(toneWav(n));
      };
      if (!holding) return answer();
      held.push(answer);
      for (const notify of heldChanged) notify();
    });
  });
  afterAll(async () => server?.close());

  it('hands its runs back instead of cancelling the syncs of other processes', async () => {
    const schema = `mi_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const prefix = `test-${randomUUID()}`;
    const config = { ...cluster!, postgresSchema: schema, redisPrefix: prefix, s3: { ...cluster!.s3, prefix: `${prefix}/` } };
    const admin = new pg.Client({ connectionString: cluster!.postgresUrl });
    await admin.connect();
    const [barrierA, barrierB] = [Math.floor(Math.random() * 2 ** 30), 2 ** 30 + Math.floor(Math.random() * 2 ** 30)];
    await admin.query('SELECT pg_advisory_lock($1), pg_advisory_lock($2)', [barrierA, barrierB]);
    const dirs = [0, 1].map(() => mkdtempSync(path.join(os.tmpdir(), 'mi-cluster-shutdown-')));
    try {
      const env = { CHILD_CLUSTER: JSON.stringify(config), CHILD_CONNECT_TO: connectToFor(server, [HOST]), CHILD_GATE: '1' };
      // A only works (it syncs nothing); B syncs every media.
      const a = spawnJsonChild(CHILD, { ...env, CHILD_URLS: '[]', CHILD_DATA_DIR: dirs[0]!, CHILD_BARRIER: String(barrierA) });
      const urls = Array.from({ length: MEDIA }, (_, n) => `http://${HOST}/slow/${n}.wav`);
      const b = spawnJsonChild(CHILD, { ...env, CHILD_URLS: JSON.stringify(urls), CHILD_DATA_DIR: dirs[1]!, CHILD_BARRIER: String(barrierB) });
      await Promise.all([a, b].map((child) => child.next((line) => line.ready === true)));
      for (const child of [a, b]) child.process.stdin.write('go\n');
      // The origin holds the media responses: wait until the per-host limit (4 across the cluster) is taken.
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (held.length < 4) return;
          heldChanged.delete(check);
          resolve();
        };
        heldChanged.add(check);
        check();
      });
      await a.next((line) => 'results' in line);
      await admin.query('SELECT pg_advisory_unlock($1)', [barrierA]); // A closes now, its runs unfinished
      const closing = await a.next((line) => 'closing' in line);
      await a.exited();
      expect((closing.closing as { files: number }).files).toBeGreaterThan(0);
      holding = false;
      for (const answer of held.splice(0)) answer();

      const results = (await b.next((line) => 'results' in line)).results as Array<[string, string | null, string, string | null]>;
      await admin.query('SELECT pg_advisory_unlock($1)', [barrierB]);
      await b.exited();
      expect(results.filter((r) => r[2] !== 'completed')).toEqual([]);
      expect(new Set(results.map((r) => r[1])).size).toBe(MEDIA);
      const rows = await admin.query(`SELECT status, count(*)::int AS n FROM ${schema}.files GROUP BY status`);
      expect(rows.rows).toEqual([{ status: 'completed', n: MEDIA }]);
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      await admin.query('SELECT pg_advisory_unlock_all()');
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
      await deleteRedisKeys(cluster!.redisUrl, prefix);
    }
  }, 300_000);
});
