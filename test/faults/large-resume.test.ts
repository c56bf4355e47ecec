// Acceptance: a 200 MB media body dropped after 40 % on the first two attempts still completes, through Range
// resumes, with the right SHA-256; a server that ignores Range still yields a correct file.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { startEngine } from '../support/engine.js';
import type { TestEngine } from '../support/engine.js';
import { ensureBigMedia, filesUnder } from './support.js';

const HOST = 'big.example.test';
let server: FixtureServer;
let engine: TestEngine;
let big: string;
let size: number;
let expectedSha: string;

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

beforeAll(async () => {
  big = ensureBigMedia();
  size = statSync(big).size;
  expectedSha = await sha256Of(big);
  server = await startFixtureServer();
  engine = await startEngine({
    connectTo: [connectToFor(server, [HOST])],
    retry: { baseDelayMs: 50 },
    thumbnails: { width: 160 },
  });
});

afterAll(async () => {
  await engine?.close();
  await server?.close();
});

describe('a 200 MB body cut mid-transfer', () => {
  it('completes through Range resumes when the connection drops after 40 % on the first two attempts', async () => {
    expect(size).toBeGreaterThan(200_000_000);
    let attempt = 0;
    server.route('GET', '/big.mkv', (_req, res) => {
      attempt++;
      return serveFile(res, big, {
        supportRange: true,
        headers: { etag: '"big-1"', 'last-modified': 'Tue, 01 Apr 2025 10:00:00 GMT' },
        ...(attempt <= 2 ? { truncateAfter: Math.floor(size * 0.4) } : {}),
      });
    });
    const file = await engine.ingest.sync(`http://${HOST}/big.mkv`, { wait: true });
    expect(file.error).toBeUndefined();
    expect(file).toMatchObject({ status: 'completed', bytes: size, content_sha256: expectedSha, media_type: 'video' });
    const requests = server.requests.filter((r) => r.path === '/big.mkv');
    expect(requests).toHaveLength(3);
    expect(requests[0]!.headers.range).toBeUndefined();
    const offsets = requests.slice(1).map((r) => Number(/^bytes=(\d+)-$/.exec(String(r.headers.range))![1]));
    expect(offsets[0]).toBeGreaterThan(size * 0.39);
    expect(offsets[0]).toBeLessThanOrEqual(Math.floor(size * 0.4));
    expect(offsets[1]).toBeGreaterThan(size * 0.79);
    expect(offsets[1]).toBeLessThanOrEqual(offsets[0]! + Math.floor(size * 0.4));
    expect((await engine.ingest.thumbnails(file.id)).total).toBeGreaterThan(0);
    expect(filesUnder(path.join(engine.dataDir, 'tmp'))).toEqual([]);
  });

  it('yields a correct file from a server that ignores Range (restart from zero)', async () => {
    let attempt = 0;
    server.route('GET', '/big-norange.mkv', (_req, res) => {
      attempt++;
      return serveFile(res, big, { headers: { etag: '"big-1"' }, ...(attempt === 1 ? { truncateAfter: Math.floor(size * 0.4) } : {}) });
    });
    const file = await engine.ingest.sync(`http://${HOST}/big-norange.mkv`, { wait: true });
    expect(file).toMatchObject({ status: 'completed', bytes: size, content_sha256: expectedSha });
    const requests = server.requests.filter((r) => r.path === '/big-norange.mkv');
    expect(requests).toHaveLength(2);
    expect(requests[1]!.headers.range).toMatch(/^bytes=\d+-$/);
    expect(filesUnder(path.join(engine.dataDir, 'tmp'))).toEqual([]);
  });
});
