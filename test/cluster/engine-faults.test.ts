// Faults of cluster mode end to end, several OS processes on the real services: workers SIGKILLed mid-download and
// mid-thumbnails, a worker paused past its lock (fencing), and the per-host limit across workers.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterServices } from '../support/cluster-services.js';
import { spawnJsonChild } from './support/child-process.js';
import { FaultCluster, mediaUrl, makeVideos, nextLine, Origin, poll, tracer } from './support/fault-harness.js';

const cluster = await clusterServices('cluster: fault tests');
const UPLOADER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'children/s3-upload-child.ts');
const MEDIA = 6;
/** 4 s videos with 1 s segments: a default thumbnail and 4 segment thumbnails each. */
const THUMBNAILS = { segmentSeconds: 1 };

describe.skipIf(!cluster)('cluster faults across processes', () => {
  let dir: string;
  let videos: Buffer[];
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mi-faults-'));
    videos = makeVideos(MEDIA, dir, [0]); // media 0 is big enough for a multipart upload
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * An ffmpeg that, for thumbnail runs, records its parent (the worker's pid) and waits for a gate file: the test
   * sees which worker is mid-thumbnails and kills it there.
   */
  function gatedFfmpeg(): { path: string; markers: string; gate: string } {
    const markers = path.join(dir, `ffmpeg-started-${Date.now()}`);
    const gate = path.join(dir, `ffmpeg-gate-${Date.now()}`);
    const script = path.join(dir, `ffmpeg-gated-${Date.now()}.sh`);
    writeFileSync(script, [
      '#!/bin/sh',
      'case " $* " in *" -ss "*)',
      `  echo "$PPID" >> '${markers}'`,
      `  while [ ! -e '${gate}' ]; do sleep 0.05; done ;;`,
      'esac',
      'exec /usr/bin/ffmpeg "$@"',
      '',
    ].join('\n'));
    chmodSync(script, 0o755);
    return { path: script, markers, gate };
  }

  it('workers SIGKILLed mid-upload, mid-download and mid-thumbnails: every file completes, once, with nothing left over', async () => {
    const origin = new Origin(videos);
    await origin.start();
    const faults = new FaultCluster(cluster!);
    await faults.connect();
    const ffmpeg = gatedFfmpeg();
    const trace = tracer('kill');
    try {
      // 0. A process SIGKILLed mid-upload of media 0's blob (the blob store's own multipart upload, 5 MiB parts)
      // leaves an unfinished upload on that blob's key.
      const uploader = spawnJsonChild(UPLOADER, {
        CHILD_S3: JSON.stringify(faults.config.s3), CHILD_FILE: path.join(dir, 'v0.mp4'),
        CHILD_SHA256: createHash('sha256').update(videos[0]!).digest('hex'),
      });
      await uploader.next((line) => typeof line.loaded === 'number' && line.loaded > 0);
      uploader.process.kill('SIGKILL');
      await uploader.exited(true);
      expect(await faults.unfinishedUploads()).toHaveLength(1);
      trace('uploader killed');
      origin.hold = () => true;
      const config = { thumbnails: THUMBNAILS, concurrency: { network: 2, cpu: 1, perHost: 6 }, decoder: { ffmpegPath: ffmpeg.path } };
      const workers = await Promise.all([0, 1, 2].map((w) => faults.worker(origin, { urls: [mediaUrl(2 * w), mediaUrl(2 * w + 1)], config })));
      const pids = new Set(workers.map((w) => w.pid));
      trace('workers ready');
      // 1. Mid-download: a file whose owner's response is held open at the origin.
      const victim = await poll(async () => {
        const files = await faults.files();
        return files.find((f) => f.status === 'processing' && !f.content_sha256 && pids.has(FaultCluster.ownerPid(f.owner)!)
          && origin.held.some((h) => h.open && mediaUrl(h.n) === f.url));
      }, 'a worker mid-download');
      const first = workers.find((w) => w.pid === FaultCluster.ownerPid(victim.owner))!;
      first.child.process.kill('SIGKILL');
      await first.child.exited(true);
      trace('killed mid-download');
      // Everything else downloads now.
      origin.hold = () => false;
      origin.releaseAll();
      // 2. Mid-thumbnails: a surviving worker whose ffmpeg started a thumbnail run.
      const secondPid = await poll(async () => {
        if (!existsSync(ffmpeg.markers)) return undefined;
        const started = readFileSync(ffmpeg.markers, 'utf8').split('\n').map(Number);
        return started.find((pid) => pid !== first.pid && pids.has(pid));
      }, 'a worker mid-thumbnails');
      const second = workers.find((w) => w.pid === secondPid)!;
      second.child.process.kill('SIGKILL');
      await second.child.exited(true);
      trace('killed mid-thumbnails');
      writeFileSync(ffmpeg.gate, '');
      // The survivor takes both runs over once their locks expire (3 s) and finishes every file.
      const files = await poll(async () => {
        const rows = await faults.files();
        return rows.length === MEDIA && rows.every((f) => f.status === 'completed' || f.status === 'failed') && rows;
      }, 'every file to end', 90_000);
      trace('all ended');
      expect(files.find((f) => f.id === victim.id)?.status).toBe('completed');
      await faults.expectCompleteAndClean(MEDIA, expect);
      // The killed download was fetched again by the survivor: at least two GETs of that media.
      expect(origin.gets.get(Number(/(\d+)\.mp4$/.exec(victim.url)![1]))).toBeGreaterThanOrEqual(2);
    } finally {
      writeFileSync(ffmpeg.gate, '');
      await faults.dispose();
      await origin.server.close();
    }
  }, 180_000);

  it('a worker paused (SIGSTOP) past its lock: another completes the file, and its late writes are refused (run_superseded)', async () => {
    const origin = new Origin(videos);
    await origin.start();
    const faults = new FaultCluster(cluster!);
    await faults.connect();
    try {
      origin.hold = () => true;
      const config = { thumbnails: THUMBNAILS, concurrency: { network: 2, cpu: 1, perHost: 4 } };
      const workers = await Promise.all([0, 1].map((w) => faults.worker(origin, { urls: w === 0 ? [mediaUrl(0)] : [], config })));
      const running = await poll(async () => {
        const [file] = await faults.files();
        return file?.status === 'processing' && origin.held.some((h) => h.open) && workers.some((w) => w.pid === FaultCluster.ownerPid(file.owner)) && file;
      }, 'the first run mid-download');
      const paused = workers.find((w) => w.pid === FaultCluster.ownerPid(running.owner))!;
      const other = workers.find((w) => w !== paused)!;
      paused.child.process.kill('SIGSTOP');
      origin.hold = () => false; // the run that takes over downloads at once
      const done = await poll(async () => {
        const [file] = await faults.files();
        return file?.status === 'completed' && file;
      }, 'the second run to complete', 90_000);
      expect(FaultCluster.ownerPid(running.owner)).not.toBe(other.pid);
      const thumbsBefore = await faults.admin.query(`SELECT id, path FROM ${faults.schema}.thumbnails ORDER BY id`);
      // The first worker wakes up: its download finishes and its next write is refused.
      origin.releaseAll();
      paused.child.process.kill('SIGCONT');
      const refusal = await nextLine(paused.child, (line) => typeof line.msg === 'string' && line.msg.startsWith('run superseded'), 'the late write refused');
      expect(refusal.fileId).toBe(running.id);
      const [after] = await faults.files();
      expect(after).toEqual(done); // the second run's record, unchanged (same updated_at)
      const thumbsAfter = await faults.admin.query(`SELECT id, path FROM ${faults.schema}.thumbnails ORDER BY id`);
      expect(thumbsAfter.rows).toEqual(thumbsBefore.rows);
      await faults.expectCompleteAndClean(1, expect);
      expect(origin.gets.get(0)).toBe(2);
    } finally {
      await faults.dispose();
      await origin.server.close();
    }
  }, 180_000);

  it('a per-host limit of 2 holds across 3 worker processes: the origin never sees more than 2 downloads at once', async () => {
    const origin = new Origin(videos);
    await origin.start();
    const faults = new FaultCluster(cluster!);
    await faults.connect();
    try {
      // Each response is held until a second one is open, then the oldest is released: a broken limit would let
      // more requests in while one is held.
      let served = 0;
      origin.hold = () => true;
      const pump = (): boolean => {
        const open = origin.held.filter((h) => h.open);
        if (open.length >= 2 || served + open.length >= MEDIA) {
          const next = open.length >= 2 && served + open.length < MEDIA ? open.slice(0, 1) : open;
          for (const entry of next) {
            origin.held.splice(origin.held.indexOf(entry), 1);
            served++;
            entry.release();
          }
        }
        return served >= MEDIA;
      };
      const pumping = origin.until(pump, 'every media served', 60_000);
      // (a held response may wait long on a loaded machine: no idle or speed deadline gets in the way)
      const config = {
        thumbnails: { segmentThumbnailsByDefault: false }, concurrency: { network: 3, cpu: 1, perHost: 2 },
        network: { idleTimeoutMs: 120_000, minBytesPerSecond: 0 },
      };
      const workers = await Promise.all([0, 1, 2].map((w) => faults.worker(origin, { urls: [mediaUrl(2 * w), mediaUrl(2 * w + 1)], wait: true, config })));
      const results = await Promise.all(workers.map((w) => nextLine(w.child, (line) => 'results' in line, 'sync results', 70_000)));
      await pumping;
      expect(results.flatMap((r) => (r.results as string[][]).map((x) => (x[2] === "completed" ? x[2] : x.join(" "))))).toEqual(Array.from({ length: MEDIA }, () => 'completed'));
      expect(origin.maxOpen).toBe(2);
      expect([...origin.gets.values()]).toEqual(Array.from({ length: MEDIA }, () => 1));
    } finally {
      await faults.dispose();
      await origin.server.close();
    }
  }, 180_000);
});
