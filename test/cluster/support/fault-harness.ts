// Shared parts of the cluster fault tests: an isolated namespace on the services (Postgres schema, Redis prefix,
// S3 prefix), worker processes (test/cluster/children/fault-worker.ts), an origin whose media responses the test
// holds and releases, generated videos, and checks of what ended in Postgres and S3.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, AbortMultipartUploadCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { createS3Client } from '../../../src/adapters/cluster/s3-client.js';
import type { ClusterConfig } from '../../../src/config/cluster-config.js';
import { connectToFor, startFixtureServer } from '../../support/fixture-server.js';
import type { FixtureServer } from '../../support/fixture-server.js';
import { spawnJsonChild } from './child-process.js';
import type { JsonChild } from './child-process.js';
import { deleteRedisKeys } from './redis-keys.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), '../children/fault-worker.ts');
export const HOST = 'media.example.test';
export const mediaUrl = (n: number): string => `http://${HOST}/v/${n}.mp4`;

/**
 * Distinct 4 s H.264 videos (one per n: a different comment tag), generated once per suite in `dir` (as
 * `v<n>.mp4`). Small 320x240 ones, except the `big` ones: lossless noise, about 10 MiB, stored by multipart upload.
 */
export function makeVideos(count: number, dir: string, big: number[] = []): Buffer[] {
  return Array.from({ length: count }, (_, n) => {
    const file = path.join(dir, `v${n}.mp4`);
    const source = big.includes(n)
      ? ['-f', 'lavfi', '-i', 'nullsrc=s=480x360:r=10,geq=lum=random(1)*255:cb=128:cr=128', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0']
      : ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast'];
    execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...source, '-pix_fmt', 'yuv420p', '-metadata', `comment=fault-${n}`, '-movflags', '+faststart', file]);
    return readFileSync(file);
  });
}

/** One media request the origin holds: headers and the first half sent, the rest when released. */
export interface HeldRequest {
  n: number;
  open: boolean;
  release(): void;
}

/**
 * The origin: `/v/<n>.mp4`. While `hold(n)` is true a request is held (see {@link HeldRequest}); otherwise it is
 * served whole. Counts requests per media and the requests open at once.
 */
export class Origin {
  server!: FixtureServer;
  readonly held: HeldRequest[] = [];
  readonly gets = new Map<number, number>();
  open = 0;
  maxOpen = 0;
  hold: (n: number) => boolean = () => false;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly videos: Buffer[]) {}

  async start(): Promise<void> {
    this.server = await startFixtureServer();
    this.server.route('GET', /^\/v\/\d+\.mp4$/, (req, res: ServerResponse) => {
      const n = Number(/(\d+)\.mp4$/.exec(req.url!)![1]);
      const body = this.videos[n]!;
      this.gets.set(n, (this.gets.get(n) ?? 0) + 1);
      this.open++;
      this.maxOpen = Math.max(this.maxOpen, this.open);
      let closed = false;
      const entry: HeldRequest = { n, open: true, release: () => undefined };
      res.on('close', () => {
        if (closed) return;
        closed = true;
        entry.open = false;
        this.open--;
        this.changed();
      });
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(body.length) });
      if (!this.hold(n)) {
        res.end(body);
        return;
      }
      const half = Math.floor(body.length / 2);
      res.write(body.subarray(0, half));
      entry.release = () => {
        if (!res.destroyed) res.end(body.subarray(half));
      };
      this.held.push(entry);
      this.changed();
    });
  }

  /** Releases every held request. */
  releaseAll(): void {
    for (const entry of this.held.splice(0)) entry.release();
  }

  /** Resolves once `condition` holds (checked now and after every request change). */
  until(condition: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const check = (): void => {
        if (!condition()) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
      check();
    });
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }

  connectTo(): string {
    return connectToFor(this.server, [HOST]);
  }
}

/** With TEST_FAULT_TRACE set, prints `step` and the seconds since `start` on stderr (to see where a slow run goes). */
export function tracer(name: string): (step: string) => void {
  const start = Date.now();
  return (step) => {
    if (process.env.TEST_FAULT_TRACE) process.stderr.write(`[${name}] ${((Date.now() - start) / 1000).toFixed(1)} s: ${step}\n`);
  };
}

/** Waits for the next line of `child` that `match`es, failing after `timeoutMs` with what it printed. */
export function nextLine(child: JsonChild, match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs = 90_000): Promise<Record<string, unknown>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; the child printed:\n${child.printed().map((l) => JSON.stringify(l)).join('\n').slice(-4000)}\n${child.stderr().slice(-2000)}`)), timeoutMs);
  });
  return Promise.race([child.next(match), timeout]).finally(() => clearTimeout(timer));
}

/** Polls `read` until it returns something truthy, or fails after `timeoutMs`. */
export async function poll<T>(read: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One test's namespace on the services, its worker processes and their data dirs. */
export class FaultCluster {
  readonly schema = `mi_fault_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  readonly prefix = `fault-${randomUUID()}`;
  readonly config: ClusterConfig;
  /** A pool, so that it outlives a Postgres restart. */
  readonly admin: pg.Pool;
  readonly s3: S3Client;
  readonly workers: JsonChild[] = [];
  private readonly dirs: string[] = [];

  constructor(base: ClusterConfig, queue: Partial<ClusterConfig['queue']> = {}) {
    this.config = {
      ...base, postgresSchema: this.schema, redisPrefix: this.prefix, s3: { ...base.s3, prefix: `${this.prefix}/` },
      queue: { ...base.queue, lockDurationMs: 4_000, stalledIntervalMs: 1_000, reconcileIntervalMs: 1_000, ...queue },
    };
    this.admin = new pg.Pool({ connectionString: this.config.postgresUrl, max: 2 });
    this.admin.on('error', () => undefined);
    this.s3 = createS3Client(this.config.s3);
  }

  async connect(): Promise<void> {
    await this.admin.query('SELECT 1');
  }

  /** Starts a worker process; resolves once its engine is open. */
  async worker(origin: Origin, options: { urls?: string[]; wait?: boolean; config?: Record<string, unknown> } = {}): Promise<{ child: JsonChild; pid: number }> {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mi-fault-'));
    this.dirs.push(dataDir);
    const child = spawnJsonChild(WORKER, {
      CHILD_CLUSTER: JSON.stringify(this.config), CHILD_CONNECT_TO: origin.connectTo(), CHILD_DATA_DIR: dataDir,
      CHILD_URLS: JSON.stringify(options.urls ?? []), CHILD_WAIT: options.wait ? '1' : '0',
      CHILD_CONFIG: JSON.stringify(options.config ?? {}),
    });
    this.workers.push(child);
    const ready = await child.next((line) => line.ready === true);
    return { child, pid: ready.pid as number };
  }

  /** Rows of `files` (status, owner pid, sha). */
  async files(): Promise<Array<{ id: string; url: string; status: string; owner: string | null; content_sha256: string | null; updated_at: number; error_code: string | null }>> {
    const result = await this.admin.query(`SELECT id, url, status, owner, content_sha256, updated_at::text, error_code FROM ${this.schema}.files ORDER BY url`);
    return result.rows.map((row: Record<string, unknown>) => ({ ...row, updated_at: Number(row.updated_at) })) as never;
  }

  /** The pid of a row's owner (`host:pid:random`). */
  static ownerPid(owner: string | null): number | undefined {
    const pid = owner?.split(':')[1];
    return pid ? Number(pid) : undefined;
  }

  async keys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.config.s3.bucket, Prefix: `${this.prefix}/${prefix}`, ContinuationToken: token }));
      for (const object of page.Contents ?? []) keys.push(object.Key!.slice(this.prefix.length + 1));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async unfinishedUploads(): Promise<string[]> {
    const page = await this.s3.send(new ListMultipartUploadsCommand({ Bucket: this.config.s3.bucket, Prefix: `${this.prefix}/` }));
    return (page.Uploads ?? []).map((upload) => upload.Key!);
  }

  /**
   * The end state every fault test checks: `media` files, all completed, one blob per content, thumbnails rows
   * without duplicates (one default, one per segment), exactly the thumbnail objects those rows name, and no
   * multipart upload left open.
   */
  async expectCompleteAndClean(media: number, expect: (value: unknown) => { toEqual(v: unknown): void; toBe(v: unknown): void }): Promise<void> {
    const files = await this.files();
    expect(files.map((f) => [f.status, f.error_code])).toEqual(Array.from({ length: media }, () => ['completed', null]));
    expect(new Set(files.map((f) => f.content_sha256)).size).toBe(media);
    const blobs = await this.keys('blobs/sha256/');
    expect(blobs).toEqual([...new Set(files.map((f) => `blobs/sha256/${f.content_sha256}`))].sort());
    const thumbs = await this.admin.query(`SELECT file_id, path, is_default, type, segment_id FROM ${this.schema}.thumbnails ORDER BY path`);
    const segments = await this.admin.query(`SELECT file_id, idx, thumbnail_id FROM ${this.schema}.segments`);
    const paths = thumbs.rows.map((row: { path: string }) => row.path);
    expect(new Set(paths).size).toBe(paths.length); // no duplicate rows
    for (const file of files) {
      const own = thumbs.rows.filter((row: { file_id: string }) => row.file_id === file.id);
      const ownSegments = segments.rows.filter((row: { file_id: string }) => row.file_id === file.id);
      expect([own.filter((row: { is_default: boolean }) => row.is_default).length, own.length]).toEqual([1, 1 + ownSegments.length]);
      expect(new Set(ownSegments.map((row: { idx: number }) => row.idx)).size).toBe(ownSegments.length);
    }
    expect(await this.keys('files/')).toEqual(paths);
    expect(await this.unfinishedUploads()).toEqual([]);
  }

  /** Closes the workers still alive, then removes the namespace everywhere. */
  async dispose(): Promise<void> {
    for (const child of this.workers) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGCONT');
        child.process.stdin.write('close\n');
      }
    }
    // A worker whose run waits on something the failed test never released is killed after a while.
    await Promise.all(this.workers.map(async (child) => {
      const timer = setTimeout(() => child.process.kill('SIGKILL'), 15_000);
      await child.exited(true);
      clearTimeout(timer);
    }));
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    await this.admin.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`).catch(() => undefined);
    await this.admin.end().catch(() => undefined);
    const bucket = this.config.s3.bucket;
    const uploads = await this.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${this.prefix}/` })).catch(() => undefined);
    for (const upload of uploads?.Uploads ?? []) {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key!, UploadId: upload.UploadId! })).catch(() => undefined);
    }
    for (const key of [...(await this.keys('blobs/')), ...(await this.keys('files/'))]) {
      await this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${this.prefix}/${key}` })).catch(() => undefined);
    }
    this.s3.destroy();
    await deleteRedisKeys(this.config.redisUrl, this.prefix).catch(() => undefined);
  }
}
