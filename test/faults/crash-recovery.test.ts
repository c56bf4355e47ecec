// Crash safety: an engine in a child process is SIGKILLed at test-controlled points (MEDIA_INGEST_TEST_CRASH_AT),
// then a new process recovers the data dir. Real sockets, real SQLite, real ffmpeg.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, sendText, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { tempDataDir } from '../support/engine.js';
import { filesUnder, readRegistry, runChildEngine } from './support.js';

const HOST = 'crash.example.test';
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const VALIDATORS = { etag: '"sample-v1"', 'last-modified': 'Tue, 01 Apr 2025 10:00:00 GMT' };

interface Row {
  id: string;
  status: string;
  content_sha256: string | null;
  resume_state: string | null;
  error_code: string | null;
  media_type: string | null;
}

let server: FixtureServer;
let dataDir: string;
const size = (): number => statSync(mediaPath('sample.mp4')).size;

beforeAll(async () => {
  ensureMedia();
  server = await startFixtureServer();
  // About 2.5 s for the whole body: the download is still running at 50 %, after at least one checkpoint.
  const drip = Math.round(size() / 2.5);
  server.route('GET', '/slow.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4'), { supportRange: true, dripBytesPerSecond: drip, headers: VALIDATORS }));
  server.route('GET', '/quick.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4'), { supportRange: true, headers: VALIDATORS }));
  server.route('GET', '/vanishing.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4'), { supportRange: true, dripBytesPerSecond: drip, headers: VALIDATORS }));
  dataDir = tempDataDir('mi-crash-');
});

afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const plan = (extra: { sync?: string[]; waitFor?: string[]; recover?: boolean }) => ({
  dataDir, connectTo: [connectToFor(server, [HOST])], ...extra,
});

describe('SIGKILL during download and during thumbnailing', () => {
  it('recovers both files to completed, resuming the download with Range, leaving no temp files', async () => {
    // 1. Killed half-way through a download.
    const first = await runChildEngine(plan({ sync: [`http://${HOST}/slow.mp4`] }), 'download:50%');
    expect(first.signal).toBe('SIGKILL');
    const a = first.lines.find((l) => l.event === 'synced')!.file as { id: string };
    const [rowA] = readRegistry<Row>(dataDir, 'SELECT * FROM files WHERE id = ?', a.id);
    expect(rowA!.status).toBe('processing');
    const resumeA = JSON.parse(rowA!.resume_state!) as { bytes: number; etag: string; total: number };
    expect(resumeA).toMatchObject({ etag: VALIDATORS.etag, total: size() });
    expect(resumeA.bytes).toBeGreaterThan(0);
    expect(statSync(path.join(dataDir, 'tmp', `${a.id}.part`)).size).toBeGreaterThanOrEqual(resumeA.bytes);

    // 2. Another file, killed after its thumbnails were written but before they were recorded (no recovery yet).
    const second = await runChildEngine(plan({ sync: [`http://${HOST}/quick.mp4`], recover: false }), 'thumbnails');
    expect(second.signal).toBe('SIGKILL');
    const b = second.lines.find((l) => l.event === 'synced')!.file as { id: string };
    const [rowB] = readRegistry<Row>(dataDir, 'SELECT * FROM files WHERE id = ?', b.id);
    expect(rowB!.status).toBe('processing');
    expect(rowB!.content_sha256).toBe(sha256(mediaPath('sample.mp4')));
    expect(filesUnder(path.join(dataDir, 'thumbnails', b.id)).length).toBeGreaterThan(0);
    expect(readRegistry(dataDir, 'SELECT * FROM thumbnails WHERE file_id = ?', b.id)).toHaveLength(0);

    // 3. A clean start recovers both.
    server.clearRequests();
    const third = await runChildEngine(plan({ waitFor: [a.id, b.id] }));
    expect(third.code, third.stderr).toBe(0);
    const done = third.lines.filter((l) => l.event === 'done').map((l) => l.file as { id: string; status: string; content_sha256: string });
    expect(done.map((f) => [f.id, f.status])).toEqual([[a.id, 'completed'], [b.id, 'completed']]);
    for (const file of done) expect(file.content_sha256).toBe(sha256(mediaPath('sample.mp4')));
    // A resumed with Range from its last durable checkpoint; B needed no network at all.
    const ranged = server.requests.filter((r) => r.path === '/slow.mp4');
    expect(ranged).toHaveLength(1);
    expect(ranged[0]!.headers.range).toBe(`bytes=${resumeA.bytes}-`);
    expect(server.count('GET', '/quick.mp4')).toBe(0);
    assertConsistent();
  });

  it('fails a file whose source is gone after the crash, with the source code, and removes its partial', async () => {
    const first = await runChildEngine(plan({ sync: [`http://${HOST}/vanishing.mp4`] }), 'download:40%');
    expect(first.signal).toBe('SIGKILL');
    const c = first.lines.find((l) => l.event === 'synced')!.file as { id: string };
    expect(existsSync(path.join(dataDir, 'tmp', `${c.id}.part`))).toBe(true);
    server.route('GET', '/vanishing.mp4', (_req, res) => sendText(res, 404, 'gone'));
    const second = await runChildEngine(plan({ waitFor: [c.id] }));
    expect(second.code, second.stderr).toBe(0);
    const done = second.lines.find((l) => l.event === 'done')!.file as { status: string; error: { code: string } };
    expect(done).toMatchObject({ status: 'failed', error: { code: 'source_not_found' } });
    assertConsistent();
  });

  it('recovers a kill between the blob commit and the registry update, and just before completion', async () => {
    server.route('GET', '/commit.mp4', (_req, res) => serveFile(res, mediaPath('sample.mov'), { headers: VALIDATORS }));
    const first = await runChildEngine(plan({ sync: [`http://${HOST}/commit.mp4`] }), 'committed');
    expect(first.signal).toBe('SIGKILL');
    const d = first.lines.find((l) => l.event === 'synced')!.file as { id: string };
    const second = await runChildEngine(plan({ waitFor: [d.id] }), 'completing');
    expect(second.signal).toBe('SIGKILL');
    const third = await runChildEngine(plan({ waitFor: [d.id] }));
    expect(third.code, third.stderr).toBe(0);
    const done = third.lines.find((l) => l.event === 'done')!.file as { status: string; content_sha256: string };
    expect(done).toMatchObject({ status: 'completed', content_sha256: sha256(mediaPath('sample.mov')) });
    assertConsistent();
  });

  it('reprocesses a completed file whose thumbnails or blob went missing', async () => {
    const rows = readRegistry<Row>(dataDir, "SELECT * FROM files WHERE status = 'completed' AND media_type = 'video'");
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const [lostThumbs, lostBlob] = rows as [Row, Row];
    const thumb = readRegistry<{ path: string }>(dataDir, 'SELECT path FROM thumbnails WHERE file_id = ? LIMIT 1', lostThumbs.id)[0]!;
    rmSync(path.join(dataDir, thumb.path));
    const blob = lostBlob.content_sha256!;
    rmSync(path.join(dataDir, 'blobs', 'sha256', blob.slice(0, 2), blob.slice(2, 4), blob));
    const run = await runChildEngine(plan({ waitFor: [lostThumbs.id, lostBlob.id] }));
    expect(run.code, run.stderr).toBe(0);
    const done = run.lines.filter((l) => l.event === 'done').map((l) => (l.file as { status: string }).status);
    expect(done).toEqual(['completed', 'completed']);
    assertConsistent();
  });
});

/** No temp files; every completed file has its blob, and every thumbnail it lists exists. */
function assertConsistent(): void {
  expect(filesUnder(path.join(dataDir, 'tmp'))).toEqual([]);
  const completed = readRegistry<Row>(dataDir, "SELECT * FROM files WHERE status = 'completed'");
  for (const row of completed) {
    const blob = row.content_sha256!;
    expect(existsSync(path.join(dataDir, 'blobs', 'sha256', blob.slice(0, 2), blob.slice(2, 4), blob))).toBe(true);
    const thumbs = readRegistry<{ path: string }>(dataDir, 'SELECT path FROM thumbnails WHERE file_id = ?', row.id);
    if (row.media_type === 'video') expect(thumbs.length).toBeGreaterThan(0);
    for (const t of thumbs) expect(existsSync(path.join(dataDir, t.path))).toBe(true);
  }
  const inFlight = readRegistry<Row>(dataDir, "SELECT * FROM files WHERE status IN ('pending', 'processing')");
  expect(inFlight).toEqual([]);
}
