// Derived work deduplicated by content: files whose bytes are the same blob reuse its probe and its thumbnails
// (hard links in each file's own folder) instead of decoding again. Real loopback HTTP, ffprobe/ffmpeg, SQLite.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, serveFile, startFixtureServer } from './support/fixture-server.js';
import type { FixtureServer } from './support/fixture-server.js';
import { ensureMedia, mediaPath } from './support/media.js';
import { startEngine } from './support/engine.js';
import type { TestEngine } from './support/engine.js';

const HOST = 'copies.example.test';
let server: FixtureServer;
let engine: TestEngine;

beforeAll(async () => {
  ensureMedia();
  server = await startFixtureServer();
  for (const name of ['a.mp4', 'b.mp4', 'c.mp4']) server.route('GET', `/${name}`, (_req, res) => serveFile(res, mediaPath('sample.mp4')));
  server.route('GET', '/other.mov', (_req, res) => serveFile(res, mediaPath('sample.mov')));
  engine = await startEngine({ connectTo: [connectToFor(server, [HOST])], thumbnails: { width: 160 } });
});

afterAll(async () => {
  await engine?.close();
  await server?.close();
});

const images = (id: string): Map<string, { ino: number; time: number; width: number }> => new Map(
  engine.ingest.thumbnails(id).data.map((t) => {
    const file = engine.ingest.thumbnailImagePath(id, t.id);
    return [`${t.type}@${t.time}`, { ino: statSync(file).ino, time: t.time, width: t.width }];
  }),
);

describe('derived work by content', () => {
  it('gives files of one content, even concurrent ones, the same media info and linked thumbnails in their own folders', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => engine.ingest.sync(`http://${HOST}/${n}.mp4`, { wait: true })));
    for (const file of [a!, b!, c!]) expect(file.status).toBe('completed');
    expect(new Set([a!.id, b!.id, c!.id]).size).toBe(3);
    expect(b!.content_sha256).toBe(a!.content_sha256);
    expect(b!.media_info).toEqual(a!.media_info);
    expect(c!.media_info).toEqual(a!.media_info);
    const [ia, ib, ic] = [images(a!.id), images(b!.id), images(c!.id)];
    expect(ia.size).toBe(4); // default + 3 segments of the 45 s sample
    expect([...ib.keys()]).toEqual([...ia.keys()]);
    for (const [key, image] of ia) {
      // One decoded image, linked: the same inode under each file's own path.
      expect(ib.get(key)!.ino).toBe(image.ino);
      expect(ic.get(key)!.ino).toBe(image.ino);
    }
    for (const t of engine.ingest.thumbnails(b!.id).data) expect(engine.ingest.thumbnailImagePath(b!.id, t.id)).toContain(b!.id);
  });

  it('keeps a file working after the file it reused is deleted, and decodes other content itself', async () => {
    const first = await engine.ingest.sync(`http://${HOST}/a.mp4`, { wait: true });
    const second = await engine.ingest.sync(`http://${HOST}/b.mp4`, { wait: true });
    const kept = images(second.id);
    await engine.ingest.delete(first.id);
    for (const t of engine.ingest.thumbnails(second.id).data) {
      expect(statSync(engine.ingest.thumbnailImagePath(second.id, t.id)).size).toBeGreaterThan(0);
    }
    expect(images(second.id)).toEqual(kept);
    const other = await engine.ingest.sync(`http://${HOST}/other.mov`, { wait: true });
    expect(other.status).toBe('completed');
    const otherInodes = new Set([...images(other.id).values()].map((i) => i.ino));
    for (const image of kept.values()) expect(otherInodes.has(image.ino)).toBe(false);
  });
});
