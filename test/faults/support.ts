// Shared helpers of the fault tests: a big generated media file, a child-process engine runner, process and file
// tree inspection, polling.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { MEDIA_DIR } from '../support/media.js';
import { testFfmpegPath } from '../support/decoder-paths.mjs';

/**
 * A ~200 MB media file (24 s of 640x360 raw video + PCM audio in Matroska): real media that ffprobe reads and
 * ffmpeg thumbnails, generated in about a second and cached under fixtures/media/generated/.
 */
export function ensureBigMedia(): string {
  const target = path.join(MEDIA_DIR, 'big-200mb.mkv');
  if (existsSync(target)) return target;
  mkdirSync(MEDIA_DIR, { recursive: true });
  const temp = path.join(MEDIA_DIR, `.${process.pid}-big-200mb.mkv`);
  try {
    execFileSync(testFfmpegPath, [
      '-hide_banner', '-nostdin', '-v', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=24',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=24',
      '-c:v', 'rawvideo', '-pix_fmt', 'yuv420p', '-c:a', 'pcm_s16le', '-f', 'matroska', temp,
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
    renameSync(temp, target);
  } finally {
    rmSync(temp, { force: true });
  }
  return target;
}

/** Polls `check` until it returns a truthy value (returned) or the time is up (throws). */
export async function waitUntil<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'a condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Child processes of this process whose command name matches `name` (Linux /proc; empty elsewhere). */
export function childProcesses(name: RegExp): number[] {
  if (!existsSync('/proc/self/stat')) return [];
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).flatMap((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const match = /^\d+ \((.*)\) \S+ (\d+)/s.exec(stat);
      if (!match || Number(match[2]) !== process.pid || !name.test(match[1]!)) return [];
      return [Number(pid)];
    } catch {
      return [];
    }
  });
}

/** Every regular file under `dir` (relative paths), or [] when it does not exist. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const walk = (current: string): string[] =>
    readdirSync(current, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(current, entry.name);
      return entry.isDirectory() ? walk(full) : [path.relative(dir, full)];
    });
  return walk(dir);
}

/** Every entry (files and folders) under `dir` with its size, for before/after comparisons. */
export function snapshotTree(dir: string, skip: (relative: string) => boolean = () => false): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const relative = path.relative(dir, full);
      if (skip(relative)) continue;
      if (entry.isDirectory()) {
        out[`${relative}/`] = 0;
        walk(full);
      } else out[relative] = statSync(full).size;
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Rows of the registry of a data dir no engine has open (e.g. after a SIGKILL). */
export function readRegistry<T = Record<string, unknown>>(dataDir: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path.join(dataDir, 'registry.sqlite'));
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

export interface ChildRun {
  /** The exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** JSON lines the child printed. */
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

const CHILD_SCRIPT = fileURLToPath(new URL('./child-engine.ts', import.meta.url));

/** What the child engine does (see child-engine.ts). */
export interface ChildPlan {
  dataDir: string;
  connectTo: string[];
  /** URLs to sync, each waited for. */
  sync?: string[];
  /** File ids to wait for (e.g. files recovery restarted). */
  waitFor?: string[];
  /** Run recovery on start. @default true */
  recover?: boolean;
}

/** Runs an engine in a child process (tsx), optionally with a crash point armed, and collects what it printed. */
export function runChildEngine(plan: ChildPlan, crashAt?: string, timeoutMs = 60_000): Promise<ChildRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, CHILD_ENGINE_PLAN: JSON.stringify(plan) };
  delete env.MEDIA_INGEST_TEST_CRASH_AT;
  if (crashAt) env.MEDIA_INGEST_TEST_CRASH_AT = crashAt;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child engine timed out; stderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter(Boolean).map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return { raw: line };
        }
      });
      resolve({ code, signal, lines, stderr });
    });
  });
}
