// Derived work by content, end to end: two URLs serving the same bytes make one probe and one set of thumbnails; the
// second file gets its own copies (hard links in the local store) without starting ffmpeg or ffprobe. Decoder runs
// are counted by wrapper scripts configured as the decoder, which log each invocation and exec the real binaries.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../../src/media/decoder.js';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { startEngine } from '../support/engine.js';
import type { TestEngine } from '../support/engine.js';

const HOST = 'dedup.example.test';
let server: FixtureServer;
let engine: TestEngine;
let wrappers: string;
const log = (tool: string) => path.join(wrappers, `${tool}.log`);

/** Decoding runs logged by a wrapper (its `-version` checks at start-up do not decode). */
function decodeRuns(tool: 'ffmpeg' | 'ffprobe'): string[] {
  if (!existsSync(log(tool))) return [];
  return readFileSync(log(tool), 'utf8').split('\n').filter((line) => line && !line.includes('-version'));
}

function wrapper(tool: 'ffmpeg' | 'ffprobe'): string {
  const real = findOnPath(tool);
  if (!real) throw new Error(`no ${tool} on PATH`);
  const file = path.join(wrappers, tool);
  writeFileSync(file, `#!/bin/sh\necho "$*" >> '${log(tool)}'\nexec '${real}' "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}

beforeAll(async () => {
  ensureMedia();
  wrappers = mkdtempSync(path.join(os.tmpdir(), 'mi-dedup-wrappers-'));
  server = await startFixtureServer();
  for (const name of ['first.mp4', 'second.mp4', 'third.mp4']) server.route('GET', `/${name}`, (_req, res) => serveFile(res, mediaPath('sample.mp4')));
  engine = await startEngine({
    connectTo: [connectToFor(server, [HOST])],
    thumbnails: { width: 160 },
    decoder: { ffmpegPath: wrapper('ffmpeg'), ffprobePath: wrapper('ffprobe') },
  });
});

afterAll(async () => {
  await engine?.close();
  await server?.close();
  if (wrappers) rmSync(wrappers, { recursive: true, force: true });
});

async function imagesOf(fileId: string): Promise<Array<{ time: number; width: number; format?: string; bytes: Buffer }>> {
  const thumbs = (await engine.ingest.thumbnails(fileId)).data;
  return Promise.all(thumbs.map(async (thumb) => {
    const bytes = Buffer.concat(await (await engine.ingest.thumbnailImage(fileId, thumb.id)).body.toArray());
    const meta = await sharp(bytes).metadata();
    return { time: thumb.time, width: meta.width!, format: meta.format, bytes };
  }));
}

describe('derived work reused by content', () => {
  it('a second URL with the same bytes reuses the probe and the thumbnails without starting a decoder', async () => {
    const first = await engine.ingest.sync(`http://${HOST}/first.mp4`, { wait: true });
    expect(first.status).toBe('completed');
    const ffmpegRuns = decodeRuns('ffmpeg').length;
    const ffprobeRuns = decodeRuns('ffprobe').length;
    // The control: the first file did decode (one ffprobe, and ffmpeg for its 4 thumbnails).
    expect(ffmpegRuns).toBeGreaterThanOrEqual(1);
    expect(ffprobeRuns).toBe(1);

    const second = await engine.ingest.sync(`http://${HOST}/second.mp4`, { wait: true });
    expect(second.status).toBe('completed');
    expect(second.id).not.toBe(first.id);
    expect(second.content_sha256).toBe(first.content_sha256);
    expect(decodeRuns('ffmpeg')).toHaveLength(ffmpegRuns);
    expect(decodeRuns('ffprobe')).toHaveLength(ffprobeRuns);
    expect(second.media_info).toEqual(first.media_info);

    // The second file's thumbnails: the same images, readable, at the same times, under its own keys.
    const a = await imagesOf(first.id);
    const b = await imagesOf(second.id);
    expect(b).toHaveLength(4);
    expect(b.map((i) => [i.time, i.width, i.format])).toEqual(a.map((i) => [i.time, i.width, i.format]));
    expect(b.map((i) => i.bytes.equals(a[b.indexOf(i)]!.bytes))).toEqual([true, true, true, true]);
    // The local store links them: same inode, two names, each in its own file's folder.
    const [firstImage, secondImage] = [first.id, second.id].map((id) => statSync(path.join(engine.dataDir, 'thumbnails', id, 'default.jpg')));
    expect(secondImage!.ino).toBe(firstImage!.ino);
    expect(secondImage!.nlink).toBe(2);

    // Independent: deleting the first file keeps the second's thumbnails.
    await engine.ingest.delete(first.id);
    expect(existsSync(path.join(engine.dataDir, 'thumbnails', first.id))).toBe(false);
    const kept = await imagesOf(second.id);
    expect(kept.map((i) => i.bytes.length)).toEqual(b.map((i) => i.bytes.length));

    // A third URL, after the first file's images are gone: copied from the second's, still no decoder.
    const third = await engine.ingest.sync(`http://${HOST}/third.mp4`, { wait: true });
    expect(third.status).toBe('completed');
    expect(decodeRuns('ffmpeg')).toHaveLength(ffmpegRuns);
    expect(await imagesOf(third.id)).toHaveLength(4);
    await engine.ingest.delete(second.id);
    expect((await imagesOf(third.id)).every((i) => i.format === 'jpeg' && i.width === 160)).toBe(true);
  });
});
