// npm run bench:cluster: throughput of cluster mode with 1, 2 and 4 worker processes against the embedded engine on
// the same workload — distinct 30 s 640x360 H.264 clips from a loopback origin that paces every response to a
// per-connection rate (so the network is the bottleneck of one process, as with real sources). Each setup runs on
// a fresh Postgres schema, Redis key prefix and S3 prefix, removed afterwards. Prints a table (also written to
// bench/.work/cluster-table.md) with wall time, files/min and MB/s, and where the CPU went: the engine processes
// (their ffmpeg/ffprobe children included), the origin, and the services (Postgres, Redis, Swift: machine-wide, so
// other work on the machine counts too), against the machine's two cores.
//
// Services: PostgreSQL, Redis and an S3 API from the MEDIA_INGEST_* variables, else test/.cluster.env (written by
// `bash scripts/cluster-services.sh`, which starts them). This script starts nothing but the origin and its own
// engine processes: `media-ingest worker` processes, and bench/cluster-node.mjs as the API node that syncs (an engine
// with `role: 'api'`, which never runs a file run) or as the embedded engine.
//
// Environment:
//   BENCH_QUICK=1                  a short development run (16 files, a faster origin)
//   BENCH_CLUSTER_FILES=40         distinct clips per setup (~4.1 MB each)
//   BENCH_CLUSTER_WORKERS=1,2,4    worker counts
//   BENCH_CLUSTER_RATE_KBPS=1000   the origin's rate per connection, kB/s (1000 = 8 Mb/s)
//   BENCH_CLUSTER_NETWORK=4        network slots (downloads at once) per engine process; also its file runs at once
//   BENCH_CLUSTER_CPU=2            CPU slots (ffprobe/ffmpeg at once) per engine process (the engine's default: cores)
//   BENCH_CLUSTER_PER_HOST=64      the per-host limit (across all workers in cluster mode); high, so it is not the cap
//   BENCH_CLUSTER_SKIP_EMBEDDED=1  leave out the embedded baseline
//   BENCH_CLUSTER_DEADLINE_S=300   longest wait for one setup's syncs before the run fails
// A run interrupted with Ctrl-C leaves its setup's schema `bench_<id>`, Redis keys `bench-<id>:*` and S3 prefix
// `bench-<id>/` behind (a failed setup removes them).
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, HeadBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { FFMPEG, makeClips } from './media.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(root, 'bench', '.work');
const media = path.join(work, 'media');
const NODE_SCRIPT = path.join(root, 'bench', 'cluster-node.mjs');
const CLI = path.join(root, 'dist', 'src', 'cli', 'main.js');
/** The workers' config file: the bench's concurrency (the rest is the packaged default). */
const CONFIG_FILE = path.join(work, 'cluster-bench.config.mjs');
mkdirSync(media, { recursive: true });

const env = process.env;
const quick = env.BENCH_QUICK === '1';
const FILES = Number(env.BENCH_CLUSTER_FILES ?? (quick ? 16 : 40));
const WORKERS = (env.BENCH_CLUSTER_WORKERS ?? '1,2,4').split(',').map(Number);
const RATE = Number(env.BENCH_CLUSTER_RATE_KBPS ?? (quick ? 2000 : 1000)) * 1000;
const CONCURRENCY = {
  network: Number(env.BENCH_CLUSTER_NETWORK ?? 4),
  cpu: Number(env.BENCH_CLUSTER_CPU ?? 2),
  perHost: Number(env.BENCH_CLUSTER_PER_HOST ?? 64),
};
const EMBEDDED = env.BENCH_CLUSTER_SKIP_EMBEDDED !== '1';
const RUN_DEADLINE_MS = Number(env.BENCH_CLUSTER_DEADLINE_S ?? 300) * 1000;
const BACKGROUND_SAMPLE_MS = 3000;
const HOST = 'bench.example.test';
const HINT = 'start them with: bash scripts/cluster-services.sh (it writes test/.cluster.env)';
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const log = (message) => process.stderr.write(`bench:cluster: ${message}\n`);
const fail = (message) => {
  process.stderr.write(`bench:cluster: ${message}\n`);
  process.exit(1);
};

// --- The services ------------------------------------------------------------------------------------------------

if (!existsSync(path.join(root, 'dist', 'src', 'index.js'))) fail('dist/ is missing: run `npm run build` (npm run bench:cluster does)');
const { clusterConfigFromEnv, resolveClusterConfig } = await import('../dist/src/config/cluster-config.js');
const { createS3Client } = await import('../dist/src/adapters/cluster/s3-client.js');

/** The MEDIA_INGEST_* variables: the environment over test/.cluster.env. */
function clusterEnv() {
  const file = path.join(root, 'test', '.cluster.env');
  const fromFile = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const match = /^(MEDIA_INGEST_[A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (match) fromFile[match[1]] = match[2];
    }
  }
  return { ...fromFile, ...Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith('MEDIA_INGEST_'))) };
}

let cluster;
try {
  cluster = resolveClusterConfig(clusterConfigFromEnv(clusterEnv()));
} catch (error) {
  fail(`the cluster variables are incomplete (${error.message}); ${HINT}`);
}
if (!cluster) fail(`no PostgreSQL/Redis/S3 configured (no MEDIA_INGEST_* variables, no test/.cluster.env); ${HINT}`);

async function probeServices() {
  const problems = [];
  const client = new pg.Client({ connectionString: cluster.postgresUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    problems.push(`PostgreSQL is unreachable (${error.message})`);
  } finally {
    await client.end().catch(() => undefined);
  }
  const redis = new Redis(cluster.redisUrl, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let redisError = '';
  redis.on('error', (error) => (redisError = error.message));
  try {
    await redis.connect();
    const [, policy] = await redis.config('GET', 'maxmemory-policy');
    if (policy !== 'noeviction') problems.push(`Redis maxmemory-policy is ${policy}, not noeviction`);
  } catch (error) {
    problems.push(`Redis is unreachable (${redisError || error.message})`);
  } finally {
    redis.disconnect();
  }
  const s3 = createS3Client(cluster.s3);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: cluster.s3.bucket }), { abortSignal: AbortSignal.timeout(5000) });
  } catch (error) {
    problems.push(`the S3 bucket ${cluster.s3.bucket} at ${cluster.s3.endpoint || 'AWS'} is unreachable (${error.name})`);
  } finally {
    s3.destroy();
  }
  if (problems.length) fail(`${problems.join('; ')}; ${HINT}`);
}
await probeServices();

/** The MEDIA_INGEST_* variables of a cluster config, for `media-ingest worker`. */
function clusterVariables(config) {
  return {
    MEDIA_INGEST_POSTGRES_URL: config.postgresUrl, MEDIA_INGEST_POSTGRES_SCHEMA: config.postgresSchema,
    MEDIA_INGEST_REDIS_URL: config.redisUrl, MEDIA_INGEST_REDIS_PREFIX: config.redisPrefix,
    MEDIA_INGEST_S3_ENDPOINT: config.s3.endpoint, MEDIA_INGEST_S3_REGION: config.s3.region, MEDIA_INGEST_S3_BUCKET: config.s3.bucket,
    MEDIA_INGEST_S3_PREFIX: config.s3.prefix, MEDIA_INGEST_S3_FORCE_PATH_STYLE: String(config.s3.forcePathStyle),
    ...(config.s3.credentials ? {
      MEDIA_INGEST_S3_ACCESS_KEY_ID: config.s3.credentials.accessKeyId, MEDIA_INGEST_S3_SECRET_ACCESS_KEY: config.s3.credentials.secretAccessKey,
    } : {}),
  };
}
writeFileSync(CONFIG_FILE, `// Written by bench/cluster.mjs.\nexport default ${JSON.stringify({ concurrency: CONCURRENCY })};\n`);

// --- Processes ---------------------------------------------------------------------------------------------------

const children = new Set();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});
process.on('SIGINT', () => process.exit(130));

/**
 * Spawns a Node process whose stdout is JSON lines; `next(key)` resolves with the next line holding `key`. Its
 * stderr log lines with `stageMs` (the engine's `file stage timings`, at debug level) are summed in `stages`.
 */
function spawnJson(args, extraEnv, name) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  const stages = { runs: 0, stages: {} };
  createInterface({ input: child.stderr }).on('line', (text) => {
    if (text.includes('"stageMs"')) {
      try {
        const { stageMs } = JSON.parse(text);
        stages.runs++;
        for (const [stage, ms] of Object.entries(stageMs)) stages.stages[stage] = (stages.stages[stage] ?? 0) + ms;
        return;
      } catch {
        // not a log line
      }
    }
    if (/"level":(20|30)\b/.test(text)) return; // debug and info lines
    stderr += `${text}\n`;
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  const lines = [];
  const waiters = [];
  const exited = new Promise((resolve) => child.on('close', (code) => {
    children.delete(child);
    for (const w of waiters.splice(0)) w.reject(new Error(`${name} exited (${code}) before printing ${w.key}: ${stderr.slice(-2000)}`));
    resolve(code);
  }));
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line;
    try {
      line = JSON.parse(text);
    } catch {
      return;
    }
    const i = waiters.findIndex((w) => w.key in line);
    if (i < 0) return void lines.push(line);
    const waiter = waiters.splice(i, 1)[0];
    waiter.resolve(line[waiter.key]);
  });
  return {
    child, name,
    next(key, timeoutMs = RUN_DEADLINE_MS) {
      const i = lines.findIndex((l) => key in l);
      if (i >= 0) return Promise.resolve(lines.splice(i, 1)[0][key]);
      if (child.exitCode !== null) return Promise.reject(new Error(`${name} has exited: ${stderr.slice(-2000)}`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no ${key} within ${timeoutMs / 1000} s: ${stderr.slice(-2000)}`)), timeoutMs);
        waiters.push({ key, resolve: (v) => (clearTimeout(timer), resolve(v)), reject: (e) => (clearTimeout(timer), reject(e)) });
      });
    },
    send: (word) => child.stdin.write(`${word}\n`),
    exited, stages,
    stderr: () => stderr,
  };
}

/** The origin: bench/serve-dir.mjs over the media dir, paced per connection. */
async function startOrigin() {
  const child = spawn(process.execPath, [path.join(root, 'bench', 'serve-dir.mjs'), media, String(RATE)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`the origin exited (${code})`)));
  });
  return {
    child, port,
    stats: async (reset = false) => (await fetch(`http://127.0.0.1:${port}/__stats${reset ? '?reset=1' : ''}`)).json(),
    stop: () => new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    }),
  };
}

// --- CPU accounting from /proc -----------------------------------------------------------------------------------

/** utime+stime of a process and of its waited-for children (ffmpeg, ffprobe), seconds; 0 when gone. */
function processCpu(pid) {
  const { self, children } = processCpuSplit(pid);
  return self + children;
}

/** utime+stime of a process (`self`) and of its waited-for children (`children`: ffmpeg, ffprobe), seconds. */
function processCpuSplit(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime 14, stime 15, cutime 16, cstime 17.
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]));
    return { self: (utime + stime) / CLK_TCK, children: (cutime + cstime) / CLK_TCK };
  } catch {
    return { self: 0, children: 0 };
  }
}

const SERVICES = { postgres: /^postgres$/, redis: /^redis-server$/, swift: /^swift-/ };

/** CPU seconds used so far by every process of each service (machine-wide: other users of the services count). */
function servicesCpu() {
  const totals = { postgres: 0, redis: 0, swift: 0 };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let comm;
    try {
      comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    for (const [name, pattern] of Object.entries(SERVICES)) if (pattern.test(comm)) totals[name] += processCpu(entry);
  }
  return totals;
}

/** Busy and total CPU time of the whole machine (all cores), seconds. */
function machineCpu() {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: (total - idle - iowait) / CLK_TCK, total: total / CLK_TCK };
}

function snapshot(engines, origin) {
  return {
    engines: engines.map((e) => processCpu(e.child.pid)),
    decoders: engines.map((e) => processCpuSplit(e.child.pid).children),
    origin: processCpu(origin.child.pid),
    services: servicesCpu(),
    machine: machineCpu(),
    load: loadavg(),
  };
}

// --- One setup ---------------------------------------------------------------------------------------------------

async function emptyS3Prefix(prefix) {
  const s3 = createS3Client(cluster.s3);
  let objects = 0;
  try {
    for (;;) {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: cluster.s3.bucket, Prefix: prefix }));
      const keys = (page.Contents ?? []).map((o) => o.Key);
      if (!keys.length) return objects;
      objects += keys.length;
      for (let i = 0; i < keys.length; i += 8) {
        await Promise.all(keys.slice(i, i + 8).map((Key) => s3.send(new DeleteObjectCommand({ Bucket: cluster.s3.bucket, Key }))));
      }
    }
  } finally {
    s3.destroy();
  }
}

async function deleteRedisKeys(prefix) {
  const redis = new Redis(cluster.redisUrl, { lazyConnect: true });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** What one setup stored, checked against the workload: files in Postgres and blobs in S3 (cluster), then removed. */
async function checkAndClean(run) {
  const admin = new pg.Client({ connectionString: cluster.postgresUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${run.schema}.files WHERE status = 'completed'`);
    const s3 = createS3Client(cluster.s3);
    const blobs = await s3.send(new ListObjectsV2Command({ Bucket: cluster.s3.bucket, Prefix: `${run.prefix}/blobs/` }));
    s3.destroy();
    return { filesInPostgres: rows[0].n, blobsInS3: blobs.KeyCount ?? 0 };
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${run.schema} CASCADE`).catch(() => undefined);
    await admin.end();
    await deleteRedisKeys(run.prefix);
    await emptyS3Prefix(`${run.prefix}/`);
  }
}

/**
 * Runs the workload once: `workers` worker processes and one enqueue-only node (cluster), or one embedded engine
 * (`workers` 0). Returns a row of the table.
 */
async function runSetup(workers, urls, origin) {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  const run = { schema: `bench_${id}`, prefix: `bench-${id}` };
  const config = { ...cluster, postgresSchema: run.schema, redisPrefix: run.prefix, s3: { ...cluster.s3, prefix: `${run.prefix}/` } };
  const dirs = [];
  const dataDir = (name) => {
    const dir = path.join(work, `cluster-${name}-${id}`);
    mkdirSync(dir, { recursive: true });
    dirs.push(dir);
    return dir;
  };
  const connectTo = `${HOST}:80:127.0.0.1:${origin.port}`;
  /** A `media-ingest worker` process on this setup's schema and prefixes, logging its stage timings. */
  const worker = (i) => spawnJson([CLI, '--data-dir', dataDir(`worker${i}`), '--config', CONFIG_FILE, '--log-level', 'debug', 'worker'], {
    ...clusterVariables(config), MEDIA_INGEST_CONNECT_TO: connectTo,
  }, `worker ${i + 1}`);
  const common = (name) => {
    const dir = dataDir(name);
    return {
      BENCH_DATA_DIR: dir, BENCH_CONNECT_TO: connectTo, BENCH_CONCURRENCY: JSON.stringify(CONCURRENCY),
      BENCH_URLS: JSON.stringify(urls), BENCH_CLUSTER: JSON.stringify(config),
    };
  };
  const label = workers === 0 ? 'embedded engine' : `${workers} worker${workers > 1 ? 's' : ''}`;
  // How busy the machine is without this setup (other work sharing it): a short sample before it starts.
  const idleBefore = machineCpu();
  await new Promise((resolve) => setTimeout(resolve, BACKGROUND_SAMPLE_MS));
  const idleAfter = machineCpu();
  const backgroundBusy = (idleAfter.busy - idleBefore.busy) / (idleAfter.total - idleBefore.total);
  const engines = [];
  let driver;
  try {
    if (workers === 0) {
      driver = spawnJson([NODE_SCRIPT, 'embedded'], common('embedded'), 'embedded');
      engines.push(driver);
    } else {
      for (let i = 0; i < workers; i++) engines.push(worker(i));
      driver = spawnJson([NODE_SCRIPT, 'enqueue'], common('enqueue'), 'enqueuer');
    }
    const all = workers === 0 ? engines : [...engines, driver];
    await Promise.all(all.map((p) => p.next('ready', 120_000)));
    await origin.stats(true);
    const before = snapshot(all, origin);
    driver.send('go');
    const done = await driver.next('done');
    const after = snapshot(all, origin);
    const served = await origin.stats();
    // Workers stop on SIGTERM (gracefully: nothing is in flight now); the syncing process on a line `stop`.
    for (const p of engines) if (p !== driver) p.child.kill('SIGTERM');
    driver.send('stop');
    const driverStats = await driver.next('stats', 120_000);
    const codes = await Promise.all(all.map((p) => p.exited));
    if (codes.some((code) => code !== 0)) throw new Error(`${label}: exit statuses ${codes.join(', ')}: ${all.map((p) => p.stderr()).join('\n').slice(-2000)}`);
    const stats = workers === 0 ? [driverStats] : engines.map((p) => p.stages);
    if (done.completed !== urls.length) throw new Error(`${label}: ${done.completed}/${urls.length} completed: ${JSON.stringify(done.failures)}`);
    const stored = workers === 0 ? undefined : await checkAndClean(run);
    run.cleaned = true;
    if (stored && (stored.filesInPostgres !== urls.length || stored.blobsInS3 !== urls.length)) {
      throw new Error(`${label}: ${stored.filesInPostgres} files in Postgres and ${stored.blobsInS3} blobs in S3 for ${urls.length} URLs`);
    }
    const cpu = (i) => after.engines[i] - before.engines[i];
    const workerStats = workers === 0 ? stats : stats.slice(0, workers);
    const runsTotal = workerStats.reduce((s, st) => s + st.runs, 0);
    const stageMean = {};
    for (const st of workerStats) for (const [stage, ms] of Object.entries(st.stages)) stageMean[stage] = (stageMean[stage] ?? 0) + ms;
    for (const stage of Object.keys(stageMean)) stageMean[stage] = Math.round(stageMean[stage] / Math.max(1, runsTotal));
    const wallS = done.wallMs / 1000;
    const row = {
      label, workers, files: done.completed, wallS,
      filesPerMin: (done.completed / wallS) * 60, mbPerS: done.bytes / 1e6 / wallS,
      workerCpuS: Array.from({ length: workers === 0 ? 1 : workers }, (_, i) => cpu(i)),
      decoderCpuS: Array.from({ length: workers === 0 ? 1 : workers }, (_, i) => after.decoders[i] - before.decoders[i]).reduce((a, b) => a + b, 0),
      enqueuerCpuS: workers === 0 ? 0 : cpu(workers),
      originCpuS: after.origin - before.origin,
      servicesCpuS: Object.fromEntries(Object.keys(SERVICES).map((k) => [k, after.services[k] - before.services[k]])),
      machineBusyS: after.machine.busy - before.machine.busy,
      machineTotalS: after.machine.total - before.machine.total,
      runsPerWorker: workerStats.map((st) => st.runs),
      stageMean, originMaxActive: served.maxActive, originRequests: served.requests,
      loadStart: before.load, loadEnd: after.load, stored, backgroundBusy,
      // The most the origin can serve these processes: their network slots × the per-connection rate.
      networkCeilingFilesPerMin: ((workers || 1) * Math.min(CONCURRENCY.network, CONCURRENCY.perHost) * RATE * 60) / (done.bytes / done.completed),
    };
    log(`${label}: ${done.completed} files in ${wallS.toFixed(1)} s = ${row.filesPerMin.toFixed(1)} files/min, ${row.mbPerS.toFixed(2)} MB/s; runs per worker ${row.runsPerWorker.join('/')}; CPU workers ${row.workerCpuS.map((c) => c.toFixed(1)).join('+')} s, machine busy ${(100 * row.machineBusyS / row.machineTotalS).toFixed(0)} %`);
    return row;
  } finally {
    for (const p of [...engines, driver]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    if (workers > 0 && !run.cleaned) await checkAndClean(run).catch((error) => log(`cleanup of ${run.schema}: ${error.message}`));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

// --- Main --------------------------------------------------------------------------------------------------------

const names = makeClips(media, FILES);
const urls = names.map((name) => `http://${HOST}/${name}`);
const origin = await startOrigin();
const started = { at: new Date().toISOString(), load: loadavg() };
const rows = [];
try {
  if (EMBEDDED) rows.push(await runSetup(0, urls, origin));
  for (const workers of WORKERS) rows.push(await runSetup(workers, urls, origin));
} finally {
  await origin.stop();
}

// --- The table ---------------------------------------------------------------------------------------------------

const ffmpegVersion = /^ffmpeg version (\S+)/.exec(execFileSync(FFMPEG, ['-version'], { encoding: 'utf8' }))?.[1] ?? '?';
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}, ffmpeg ${ffmpegVersion}`;
const one = rows.find((r) => r.workers === 1);
const embedded = rows.find((r) => r.workers === 0);
const cores = cpus().length;
const f1 = (n) => n.toFixed(1);
/** CPU seconds per file of the engine processes, the API node and the services (all our work needs; the embedded engine uses no service). */
const servicesOf = (r) => (r.workers ? r.servicesCpuS.postgres + r.servicesCpuS.redis + r.servicesCpuS.swift : 0);
const cpuPerFile = (r) => (r.workerCpuS.reduce((a, b) => a + b, 0) + r.enqueuerCpuS + servicesOf(r)) / r.files;
/** Files/min the machine's cores could do at that CPU cost per file if nothing else ran. */
const cpuCeiling = (r) => (cores * 60) / cpuPerFile(r);
const pct = (r) => `${((100 * r.machineBusyS) / r.machineTotalS).toFixed(0)} %`;
const lines = [
  `Measured ${started.at} on ${machine}. Workload: ${FILES} distinct 30 s 640x360 H.264 clips (${f1(rows[0].mbPerS * rows[0].wallS / FILES)} MB each; ` +
    `default + 2 segment thumbnails each) from a loopback origin paced to ${RATE / 1000} kB/s per connection; every engine process ` +
    `${CONCURRENCY.network} network slots (= file runs at once), ${CONCURRENCY.cpu} CPU slots, per-host limit ${CONCURRENCY.perHost}. ` +
    'Cluster: `media-ingest worker` processes; one API node (`createIngest({ cluster, role: \'api\' })`) syncs every URL at once and waits; all share Postgres, Redis and Swift s3api on this machine.',
  '',
  '| setup | files | wall | files/min | MB/s | vs 1 worker | vs embedded | network ceiling (files/min) | CPU ceiling (files/min) | runs per worker | origin: most connections at once | machine busy before the run (other work) | load average (1 min) start → end |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const r of rows) {
  const vsOne = one ? `${(r.filesPerMin / one.filesPerMin).toFixed(2)}×` : '';
  const vsEmbedded = embedded ? `${(r.filesPerMin / embedded.filesPerMin).toFixed(2)}×` : '';
  lines.push(`| ${r.label} | ${r.files} | ${f1(r.wallS)} s | ${f1(r.filesPerMin)} | ${r.mbPerS.toFixed(2)} | ${vsOne} | ${vsEmbedded} | ${f1(r.networkCeilingFilesPerMin)} | ${f1(cpuCeiling(r))} | ${r.workers ? r.runsPerWorker.join(' / ') : '—'} | ${r.originMaxActive} | ${(100 * r.backgroundBusy).toFixed(0)} % | ${r.loadStart[0].toFixed(2)} → ${r.loadEnd[0].toFixed(2)} |`);
}
lines.push(
  '',
  `Where the CPU went during each run (user+sys seconds; the machine has ${cores} cores, so ${cores} CPU-s per second of wall time):`,
  '',
  '| setup | engine processes (incl. ffmpeg/ffprobe) | of which ffmpeg/ffprobe | per file | API node | origin | Postgres | Redis | Swift | engines + API node + services per file | cores this workload used | machine busy (all processes) | mean ms per file: download / store / probe / thumbnails / commit |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
);
/** A service's CPU in a row; in the embedded row it is other work's (the embedded engine uses none). */
const service = (r, name) => (r.workers ? `${f1(r.servicesCpuS[name])} s` : `(${f1(r.servicesCpuS[name])} s, not ours)`);
for (const r of rows) {
  const engine = r.workerCpuS.reduce((a, b) => a + b, 0);
  const st = r.stageMean;
  lines.push(`| ${r.label} | ${f1(engine)} s (${r.workerCpuS.map(f1).join(' + ')}) | ${f1(r.decoderCpuS)} s | ${(engine / r.files).toFixed(2)} s | ${r.workers ? `${f1(r.enqueuerCpuS)} s` : '—'} | ${f1(r.originCpuS)} s | ${service(r, 'postgres')} | ${service(r, 'redis')} | ${service(r, 'swift')} | ${cpuPerFile(r).toFixed(2)} s | ${((cpuPerFile(r) * r.files + r.originCpuS) / r.wallS).toFixed(2)} | ${pct(r)} of ${f1(r.machineTotalS)} CPU-s | ${[st.download, st.store, st.probe, st.thumbnails, st.commit].map((v) => v ?? '?').join(' / ')} |`);
}
lines.push(
  '',
  'Network ceiling: engine processes × network slots × the per-connection rate ÷ the mean file size. CPU ceiling: ' +
    `${cores} cores ÷ the CPU seconds per file of the engines, the API node and the services (second table), i.e. what ` +
    'this machine could do at that cost if nothing else ran on it. ' +
    'Service CPU is that of every Postgres, Redis and Swift process on the machine during the run (other users of the ' +
    'services count too); "machine busy" counts every process, including other work sharing the machine. ' +
    'Per-stage means come from the engine\'s `file stage timings` debug line: download includes the start claim and ' +
    'the wait for a network slot (the embedded engine starts every run at once, so its runs wait there; cluster ' +
    'runs wait in the queue, before they start), store is the blob upload (S3) or placement (local), probe and thumbnails include the ' +
    'wait for a CPU slot.',
);
const table = lines.join('\n');
process.stdout.write(`${table}\n`);
writeFileSync(path.join(work, 'cluster-table.md'), `${table}\n`);
writeFileSync(path.join(work, 'cluster-last.json'), `${JSON.stringify({ started, machine, concurrency: CONCURRENCY, rate: RATE, rows }, null, 2)}\n`);
