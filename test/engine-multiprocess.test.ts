// Several OS processes on one data dir (the embedded default: SQLite + local files) sync the same media at once,
// in different spellings: one file, one blob and one download at the origin per media (the start claim in the
// registry), and a refusal before a file exists still creates no file.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, sendText, startFixtureServer } from './support/fixture-server.js';
import type { FixtureServer } from './support/fixture-server.js';
import { toneWav } from './support/tone-wav.js';
import { spawnJsonChild } from './cluster/support/child-process.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support/sync-child.ts');
const HOST = 'media.example.test';
const PROCESSES = 4;
const SYNCS = 24;
const DISTINCT = 6;
/** Media reached only through short links (two different links each, identity known after resolving). */
const SHORT = 3;
const shortLinks = (k: number): string[] => [`http://short.example.test/s/${k}/a`, `http://short.example.test/s/${k}/b`];

const spellings = (n: number): string[] => [
  `http://${HOST}/m/${n}.wav`,
  `http://${HOST.toUpperCase()}/m/${n}.wav`,
  `http://${HOST}:80/m/${n}.wav`,
  `http://${HOST}/%6D/${n}.wav#t=${n}`,
];

function blobCount(dataDir: string): number {
  const root = path.join(dataDir, 'blobs', 'sha256');
  let n = 0;
  for (const a of readdirSync(root)) for (const b of readdirSync(path.join(root, a))) n += readdirSync(path.join(root, a, b)).length;
  return n;
}

describe('embedded engine, several processes on one data dir', () => {
  let server: FixtureServer;
  const downloads = new Map<number, number>();
  let missing = 0;
  const shortDownloads = new Map<number, number>();
  beforeAll(async () => {
    server = await startFixtureServer();
    server.route('GET', /^\/short\/\d+\.wav$/, (req, res) => {
      const k = Number(/(\d+)\.wav$/.exec(req.url!)![1]);
      shortDownloads.set(k, (shortDownloads.get(k) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'audio/wav' });
      res.end(toneWav(100 + k));
    });
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

  it(`${PROCESSES} processes × ${SYNCS} concurrent syncs over ${DISTINCT} media: ${DISTINCT} files, blobs and downloads`, async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mi-multiprocess-'));
    try {
      const children = Array.from({ length: PROCESSES }, (_, c) => {
        const urls = Array.from({ length: SYNCS }, (_, i) => spellings((c * SYNCS + i) % DISTINCT)[(c + i) % 4]!);
        urls.push(`http://${HOST}/gone.wav`);
        for (let k = 0; k < SHORT; k++) urls.push(...shortLinks(k));
        return spawnJsonChild(CHILD, { CHILD_URLS: JSON.stringify(urls), CHILD_DATA_DIR: dataDir, CHILD_CONNECT_TO: connectToFor(server, [HOST]), CHILD_GATE: '1' });
      });
      await Promise.all(children.map((child) => child.next((line) => line.ready === true)));
      for (const child of children) child.process.stdin.write('go\n');
      const outputs = await Promise.all(children.map((child) => child.next((line) => 'results' in line)));
      await Promise.all(children.map((child) => child.exited()));
      const results = outputs.flatMap((o) => o.results as Array<[string, string | null, string, string | null]>);
      expect(results).toHaveLength(PROCESSES * (SYNCS + 1 + 2 * SHORT));
      const viaShortLinks = results.filter((r) => r[0].includes('short.example.test'));
      expect(viaShortLinks.filter((r) => r[2] !== 'completed')).toEqual([]);
      expect(new Set(viaShortLinks.map((r) => r[1])).size).toBe(SHORT);
      // Different short links of one media resolve apart, and claim the identity before opening: one download.
      expect(Object.fromEntries(shortDownloads)).toEqual(Object.fromEntries(Array.from({ length: SHORT }, (_, k) => [k, 1])));

      const refused = results.filter((r) => r[0].endsWith('/gone.wav'));
      expect(refused.map((r) => [r[2], r[3]])).toEqual(Array.from({ length: PROCESSES }, () => ['refused', 'source_not_found']));
      expect(missing).toBeGreaterThanOrEqual(1);

      const media = results.filter((r) => r[0].includes(HOST) && !r[0].endsWith('/gone.wav'));
      expect(media.filter((r) => r[2] !== 'completed')).toEqual([]);
      const idByMedia = new Map<number, Set<string>>();
      for (const [url, id] of media) {
        const n = Number(/(\d+)\.wav/.exec(url)![1]);
        idByMedia.set(n, (idByMedia.get(n) ?? new Set()).add(id!));
      }
      expect([...idByMedia.values()].map((ids) => ids.size)).toEqual(Array.from({ length: DISTINCT }, () => 1));
      expect(new Set(media.map((r) => r[1])).size).toBe(DISTINCT);

      // One download per media at the origin, whichever process made it.
      expect(Object.fromEntries(downloads)).toEqual(Object.fromEntries(Array.from({ length: DISTINCT }, (_, n) => [n, 1])));
      const db = new Database(path.join(dataDir, 'registry.sqlite'), { readonly: true });
      try {
        expect(db.prepare('SELECT status, count(*) AS n FROM files GROUP BY status').all()).toEqual([{ status: 'completed', n: DISTINCT + SHORT }]);
        expect(db.prepare('SELECT count(*) AS n FROM start_claims').get()).toEqual({ n: 0 });
      } finally {
        db.close();
      }
      expect(blobCount(dataDir)).toBe(DISTINCT + SHORT);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
