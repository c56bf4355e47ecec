// npm run bench: media-ingest against the pipeline a user would script by hand, on the same files from the same
// loopback server, each pair run in turn, medians of whole-process runs (wall, user+sys CPU, peak RSS from
// `/usr/bin/time -v`). Prints the table of issue 12 (ours / baseline) and the per-stage timings of our runs.
//
// Environment:
//   BENCH_RUNS=3              runs of each side of each pair (start-up uses 4x as many)
//   BENCH_VIDEO_SECONDS=600   length of the large 1280x720 H.264 MP4 (600 s at 7.7 Mb/s ~ 577 MB)
//   BENCH_VIDEO_MBPS=7.7      its constant bitrate
//   BENCH_CLIPS=60            clips in the batch (30 s 640x360 each)
//   BENCH_ONLY=sync,batch,dedup,startup,serve   a subset of the workloads
//   BENCH_QUICK=1             a quick development run: a 60 s video, 12 clips, 1 run, short load tests
//   BENCH_WRK_SECONDS=10      duration of each HTTP load test (wrk 2 threads x 32 connections)
// Media is generated once with Debian's ffmpeg (/usr/bin/ffmpeg) and cached in bench/.work.
import { execFileSync, spawn } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FFMPEG, FFPROBE, makeClips, makeLongVideo } from './media.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(root, 'bench', '.work');
const media = path.join(work, 'media');
mkdirSync(media, { recursive: true });

const quick = process.env.BENCH_QUICK === '1';
const env = process.env;
const RUNS = Number(env.BENCH_RUNS ?? (quick ? 1 : 3));
const VIDEO_SECONDS = Number(env.BENCH_VIDEO_SECONDS ?? (quick ? 60 : 600));
const VIDEO_MBPS = Number(env.BENCH_VIDEO_MBPS ?? 7.7);
const CLIPS = Number(env.BENCH_CLIPS ?? (quick ? 12 : 60));
const WRK_SECONDS = Number(env.BENCH_WRK_SECONDS ?? (quick ? 3 : 10));
const ONLY = new Set((env.BENCH_ONLY ?? 'sync,batch,dedup,startup,serve').split(',').map((s) => s.trim()));
const SEGMENT_SECONDS = 20; // the packaged config's thumbnails.segmentSeconds
const HOST = 'bench.example.test';
const CLI = path.join(root, 'dist', 'src', 'cli', 'main.js');
const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => existsSync(p));
const YTDLP = ['/usr/bin/yt-dlp', '/usr/local/bin/yt-dlp'].find((p) => existsSync(p));

function log(message) {
  process.stderr.write(`bench: ${message}\n`);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Thumbnail times of the hand-written pipeline: the engine's default-thumbnail rule and segment midpoints. */
function thumbnailTimes(duration, withSegments) {
  const t = Math.min(5, Math.max(1, duration * 0.1));
  const times = [t < duration * 0.9 ? t : duration / 2];
  if (!withSegments) return times;
  const count = Math.max(1, Math.ceil(duration / SEGMENT_SECONDS - 1e-6));
  for (let i = 0; i < count; i++) {
    const start = i * SEGMENT_SECONDS;
    const end = i === count - 1 ? duration : start + SEGMENT_SECONDS;
    times.push(Math.round(((start + end) / 2) * 1000) / 1000);
  }
  return times;
}

/**
 * Runs one whole process under `/usr/bin/time -v`: wall ms (measured here), user+sys CPU ms and peak RSS (KiB)
 * of the process tree's largest member, stdout and stderr.
 */
function measure(command, args, { env: extraEnv = {}, cwd = root } = {}) {
  const timeFile = path.join(work, `time-${process.pid}.txt`);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-v', '-o', timeFile, command, ...args], {
      cwd, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const text = readFileSync(timeFile, 'utf8');
      const field = (name) => Number(new RegExp(`${name}: ([\\d.]+)`).exec(text)?.[1] ?? NaN);
      const result = {
        wallMs, cpuMs: (field('User time \\(seconds\\)') + field('System time \\(seconds\\)')) * 1000,
        rssKiB: field('Maximum resident set size \\(kbytes\\)'), stdout, stderr, code,
      };
      if (code !== 0) reject(Object.assign(new Error(`${command} ${args.slice(0, 4).join(' ')} exited ${code}: ${stderr.slice(-2000)}`), { result }));
      else resolve(result);
    });
  });
}

/** Starts a Node script that prints its port (or a JSON `{listening}` line) on stdout. */
async function startProcess(args, extraEnv = {}) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', function onData(d) {
      buffered += d;
      if (buffered.includes('\n')) {
        child.stdout.off('data', onData);
        resolve(buffered.split('\n')[0]);
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code} before listening`)));
  });
  const url = line.startsWith('{') ? JSON.parse(line).listening : `http://127.0.0.1:${Number(line)}`;
  return {
    child, url, port: Number(new URL(url).port),
    peakRssKiB: () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
    }),
  };
}

const rows = [];
const stageReports = [];

/** Runs `pairs` in turn (alternating which side goes first) and records a row of medians. */
async function comparePair({ workload, baselineName, baseline, ours, goal, prepare = () => {}, cleanup = () => {} }) {
  const b = [];
  const o = [];
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 === 0 ? ['b', 'o'] : ['o', 'b'];
    for (const side of order) {
      await prepare(side, i);
      const result = side === 'b' ? await baseline(i) : await ours(i);
      (side === 'b' ? b : o).push(result);
      await cleanup(side, i);
      log(`${workload} — ${side === 'b' ? baselineName : 'ours'} run ${i + 1}: ${(result.wallMs / 1000).toFixed(2)} s wall, ${(result.cpuMs / 1000).toFixed(2)} s CPU, ${(result.rssKiB / 1024).toFixed(0)} MiB`);
    }
  }
  const row = {
    workload, baseline: baselineName,
    oursMs: median(o.map((r) => r.wallMs)), baselineMs: median(b.map((r) => r.wallMs)),
    oursCpuMs: median(o.map((r) => r.cpuMs)), baselineCpuMs: median(b.map((r) => r.cpuMs)),
    oursRssMiB: Math.max(...o.map((r) => r.rssKiB)) / 1024, baselineRssMiB: Math.max(...b.map((r) => r.rssKiB)) / 1024,
    goal,
  };
  row.ratio = row.oursMs / row.baselineMs;
  row.cpuRatio = row.oursCpuMs / row.baselineCpuMs;
  rows.push(row);
  return { baselineRuns: b, oursRuns: o, row };
}

/** Collects the per-stage timings our debug log lines carry (`stageMs`), median per stage. */
function recordStages(workload, runs) {
  const perStage = new Map();
  for (const run of runs) {
    for (const line of run.stderr.split('\n')) {
      if (!line.startsWith('{')) continue;
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      if (!entry.stageMs) continue;
      for (const [stage, ms] of Object.entries(entry.stageMs)) {
        if (!perStage.has(stage)) perStage.set(stage, []);
        perStage.get(stage).push(ms);
      }
    }
  }
  if (perStage.size) stageReports.push({ workload, stages: Object.fromEntries([...perStage].map(([s, v]) => [s, Math.round(median(v))])) });
}

const server = ONLY.has('sync') || ONLY.has('batch') || ONLY.has('dedup') || ONLY.has('serve')
  ? await startProcess([path.join(root, 'bench', 'serve-dir.mjs'), media])
  : undefined;
const connectTo = server ? `${HOST}:80:127.0.0.1:${server.port}` : '';
// Debug level so each file's log line with its per-stage timings is there to read.
const oursEnv = { MEDIA_INGEST_CONNECT_TO: connectTo, LOG_LEVEL: 'debug' };
const freshDir = (name) => {
  const dir = path.join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
};
const started = { load: loadavg(), at: new Date().toISOString() };

try {
  // 1. One large file: with default + segment thumbnails, then without segment thumbnails.
  if (ONLY.has('sync')) {
    const video = makeLongVideo(media, VIDEO_SECONDS, VIDEO_MBPS);
    const name = path.basename(video);
    const bytes = statSync(video).size;
    const url = `http://${HOST}/${name}`;
    const mb = (bytes / 1e6).toFixed(0);
    const curlArgs = (out) => `curl -sS -o "${out}" --connect-to ${connectTo} "${url}"`;
    const dlDir = path.join(work, 'download');
    const dataDir = path.join(work, 'data');
    const wipe = () => {
      rmSync(dlDir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(dlDir, { recursive: true });
    };
    const times = thumbnailTimes(VIDEO_SECONDS, true);
    const frames = times.map((t, i) => `${FFMPEG} -v error -y -ss ${t} -i "$f" -frames:v 1 -vf scale=640:-2 "${dlDir}/t${i}.jpg"`).join('\n');
    const full = await comparePair({
      workload: `sync of a ${mb} MB ${VIDEO_SECONDS / 60}-min 720p H.264 MP4, default + ${times.length - 1} segment thumbnails`,
      baselineName: `curl -o + sha256sum + ffprobe + ${times.length} sequential ffmpeg -ss … -frames:v 1`,
      goal: 0.7,
      prepare: wipe, cleanup: wipe,
      baseline: () => measure('sh', ['-ec', `f="${dlDir}/${name}"\n${curlArgs('$f')}\nsha256sum "$f" >/dev/null\n${FFPROBE} -v error -show_format -show_streams -of json "$f" >/dev/null\n${frames}`]),
      ours: () => measure(process.execPath, [CLI, '--data-dir', dataDir, 'sync', url, '--progress', 'none'], { env: oursEnv }),
    });
    recordStages(full.row.workload, full.oursRuns);
    const noSeg = await comparePair({
      workload: 'same file, --no-segment-thumbnails',
      baselineName: 'curl -o + sha256sum',
      goal: 0.8,
      prepare: wipe, cleanup: wipe,
      baseline: () => measure('sh', ['-ec', `f="${dlDir}/${name}"\n${curlArgs('$f')}\nsha256sum "$f" >/dev/null`]),
      ours: () => measure(process.execPath, [CLI, '--data-dir', dataDir, 'sync', url, '--no-segment-thumbnails', '--progress', 'none'], { env: oursEnv }),
    });
    recordStages(noSeg.row.workload, noSeg.oursRuns);
    if (YTDLP) {
      const oursRuns = noSeg.oursRuns;
      // yt-dlp cannot be routed like curl: it fetches the same loopback server by address.
      const direct = `http://127.0.0.1:${server.port}/${name}`;
      const b = [];
      for (let i = 0; i < RUNS; i++) {
        wipe();
        b.push(await measure(YTDLP, ['-q', '--no-cache-dir', '--no-progress', '-o', path.join(dlDir, name), direct]));
        log(`yt-dlp run ${i + 1}: ${(b[i].wallMs / 1000).toFixed(2)} s`);
      }
      wipe();
      const row = {
        workload: 'same', baseline: 'yt-dlp -o (download only)',
        oursMs: median(oursRuns.map((r) => r.wallMs)), baselineMs: median(b.map((r) => r.wallMs)),
        oursCpuMs: median(oursRuns.map((r) => r.cpuMs)), baselineCpuMs: median(b.map((r) => r.cpuMs)),
        oursRssMiB: Math.max(...oursRuns.map((r) => r.rssKiB)) / 1024, baselineRssMiB: Math.max(...b.map((r) => r.rssKiB)) / 1024,
        goal: 1.0,
      };
      row.ratio = row.oursMs / row.baselineMs;
      row.cpuRatio = row.oursCpuMs / row.baselineCpuMs;
      rows.push(row);
    } else {
      log('yt-dlp not found: its comparison is left out');
    }
  }

  // 2. A batch of distinct clips at concurrency 4 against xargs -P4; 3. the same with repeated content.
  for (const kind of ['batch', 'dedup']) {
    if (!ONLY.has(kind)) continue;
    const distinct = kind === 'batch' ? CLIPS : Math.max(1, Math.round(CLIPS / 10));
    const names = makeClips(media, CLIPS, distinct);
    const listFile = path.join(work, `${kind}-urls.txt`);
    // Distinct URLs even for repeated content (a query string would be kept out of logs, so use the path).
    writeFileSync(listFile, names.map((n, i) => `http://${HOST}/${n}?copy=${i}`).join('\n') + '\n');
    const times = thumbnailTimes(30, true);
    const script = path.join(work, 'pipeline-one.sh');
    writeFileSync(script, [
      'set -e',
      'd=$(mktemp -d -p "$BENCH_OUT")',
      'f="$d/media"',
      `curl -sS -o "$f" --connect-to ${connectTo} "$1"`,
      'sha256sum "$f" >/dev/null',
      `${FFPROBE} -v error -show_format -show_streams -of json "$f" >/dev/null`,
      ...times.map((t, i) => `${FFMPEG} -v error -y -ss ${t} -i "$f" -frames:v 1 -vf scale=640:-2 "$d/t${i}.jpg"`),
      '',
    ].join('\n'));
    const outDir = path.join(work, 'xargs-out');
    const dataDir = path.join(work, 'data');
    const wipe = () => {
      rmSync(outDir, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(outDir, { recursive: true });
    };
    const result = await comparePair({
      workload: kind === 'batch'
        ? `batch of ${CLIPS} distinct 30 s 640x360 clips, --concurrency 4`
        : `batch of ${CLIPS} clips, ${distinct} distinct contents, --concurrency 4`,
      baselineName: `xargs -P4: curl + sha256sum + ffprobe + ${times.length} ffmpeg frames per URL`,
      goal: 0.9,
      prepare: wipe, cleanup: wipe,
      baseline: () => measure('sh', ['-ec', `xargs -P4 -n1 sh "${script}" < "${listFile}"`], { env: { BENCH_OUT: outDir } }),
      ours: async () => {
        const r = await measure(process.execPath, [CLI, '--data-dir', dataDir, 'batch', listFile, '--concurrency', '4', '--output', path.join(work, 'batch-out.jsonl')], { env: oursEnv });
        const lines = readFileSync(path.join(work, 'batch-out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
        const done = lines.filter((l) => l.file?.status === 'completed').length;
        if (done !== CLIPS) throw new Error(`batch completed ${done}/${CLIPS}: ${JSON.stringify(lines.find((l) => l.error))}`);
        return r;
      },
    });
    recordStages(result.row.workload, result.oursRuns);
  }

  // 4. Cold start of the read commands against `node -e 0`: `list` and `get` on an empty (missing) data dir, and
  //    `get` on a data dir whose registry exists (SQLite opened read-only).
  if (ONLY.has('startup')) {
    const dataDir = path.join(work, 'empty');
    const withRegistry = freshDir('startup-registry');
    await measure(process.execPath, [CLI, '--data-dir', withRegistry, 'plugins'], { env: { LOG_LEVEL: 'warn' } });
    if (!existsSync(path.join(withRegistry, 'registry.sqlite'))) throw new Error('the startup registry was not created');
    const unknownId = 'file_00000000-0000-0000-0000-000000000000';
    const saved = RUNS;
    const runs = Math.max(5, saved * 4);
    const b = [];
    const o = [];
    const failedToo = (e) => e.result;
    for (let i = 0; i < runs; i++) {
      rmSync(dataDir, { recursive: true, force: true });
      b.push(await measure(process.execPath, ['-e', '0']));
      o.push(await measure(process.execPath, [CLI, '--data-dir', dataDir, 'list'], { env: { LOG_LEVEL: 'warn' } }));
      o.at(-1).get = await measure(process.execPath, [CLI, '--data-dir', dataDir, 'get', unknownId], { env: { LOG_LEVEL: 'warn' } }).catch(failedToo);
      o.at(-1).getStored = await measure(process.execPath, [CLI, '--data-dir', withRegistry, 'get', unknownId], { env: { LOG_LEVEL: 'warn' } }).catch(failedToo);
      if (existsSync(dataDir)) throw new Error(`a read command created the data dir ${dataDir}`);
    }
    for (const [what, runsOurs] of [
      ['`media-ingest list` on an empty data dir', o],
      ['`media-ingest get` of an unknown id', o.map((r) => r.get)],
      ['`media-ingest get` of an unknown id, registry present', o.map((r) => r.getStored)],
    ]) {
      const row = {
        workload: what, baseline: '`node -e 0`',
        oursMs: median(runsOurs.map((r) => r.wallMs)), baselineMs: median(b.map((r) => r.wallMs)),
        oursCpuMs: median(runsOurs.map((r) => r.cpuMs)), baselineCpuMs: median(b.map((r) => r.cpuMs)),
        oursRssMiB: Math.max(...runsOurs.map((r) => r.rssKiB)) / 1024, baselineRssMiB: Math.max(...b.map((r) => r.rssKiB)) / 1024,
        goal: 2.5,
      };
      row.ratio = row.oursMs / row.baselineMs;
      row.cpuRatio = row.oursCpuMs / row.baselineCpuMs;
      rows.push(row);
    }
  }

  // 5. serve: idempotent re-sync POST and GET against a fastify hello-world, wrk 2 threads x 32 connections.
  if (ONLY.has('serve')) {
    if (!WRK) {
      log('wrk not found (apt-get install wrk): the serve comparison is left out');
    } else {
      const [clip] = makeClips(media, 1);
      const dataDir = freshDir('serve-data');
      const key = 'bench-key-0123456789abcdef';
      const api = await startProcess([CLI, '--data-dir', dataDir, 'serve', '--port', '0'], {
        MEDIA_INGEST_CONNECT_TO: connectTo, MEDIA_INGEST_API_KEYS: key, LOG_LEVEL: 'warn',
      });
      const hello = await startProcess([path.join(root, 'bench', 'fastify-hello.mjs')]);
      try {
        const body = JSON.stringify({ url: `http://${HOST}/${clip}` });
        const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
        let file = await (await fetch(`${api.url}/v1/files/sync`, { method: 'POST', headers, body })).json();
        for (let i = 0; i < 600 && file.status !== 'completed' && file.status !== 'failed'; i++) {
          await new Promise((r) => setTimeout(r, 100));
          file = await (await fetch(`${api.url}/v1/files/${file.id}`, { headers })).json();
        }
        if (file.status !== 'completed') throw new Error(`serve: the file ended ${file.status}`);
        const lua = path.join(work, 'post.lua');
        writeFileSync(lua, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer ${key}"\n`);
        const luaGet = path.join(work, 'get.lua');
        writeFileSync(luaGet, `wrk.headers["Authorization"] = "Bearer ${key}"\n`);
        const wrk = (script, url) => {
          const out = execFileSync(WRK, ['-t2', '-c32', `-d${WRK_SECONDS}s`, '-s', script, url], { encoding: 'utf8' });
          const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
          if (non2xx) throw new Error(`wrk against ${url}: ${non2xx} non-2xx answers`);
          return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]);
        };
        for (const [what, ourUrl, helloUrl, script] of [
          ['`serve`: idempotent re-sync `POST /v1/files/sync` of a synced URL', `${api.url}/v1/files/sync`, `${hello.url}/sync`, lua],
          ['`serve`: `GET /v1/files/{id}`', `${api.url}/v1/files/${file.id}`, `${hello.url}/file`, luaGet],
        ]) {
          const ours = [];
          const base = [];
          wrk(script, ourUrl); // warm-up
          for (let i = 0; i < RUNS; i++) {
            base.push(wrk(script, helloUrl));
            ours.push(wrk(script, ourUrl));
            log(`${what} run ${i + 1}: ${ours.at(-1).toFixed(0)} vs ${base.at(-1).toFixed(0)} req/s`);
          }
          rows.push({
            workload: what, baseline: 'a fastify hello-world route, same wrk load', unit: 'req/s',
            oursRps: median(ours), baselineRps: median(base), ratio: median(ours) / median(base), goal: 0.4, higherIsBetter: true,
            oursRssMiB: api.peakRssKiB() / 1024,
          });
        }
      } finally {
        await api.stop();
        await hello.stop();
      }
    }
  }
} finally {
  await server?.stop();
}

// The table.
const ffmpegVersion = /^ffmpeg version (\S+)/.exec(execFileSync(FFMPEG, ['-version'], { encoding: 'utf8' }))?.[1] ?? '?';
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}, ffmpeg ${ffmpegVersion}`;
const load = `load average ${started.load.map((l) => l.toFixed(2)).join(' ')} at start, ${loadavg().map((l) => l.toFixed(2)).join(' ')} at end`;
const fmtS = (ms) => `${(ms / 1000).toFixed(2)} s`;
const lines = [
  `Measured ${started.at} on ${machine}; ${load}; medians of ${RUNS} run(s) per side, pairs in turn.`,
  '',
  '| workload | baseline in the same run | ours | baseline | ours / baseline | goal | met | CPU ours / baseline | peak RSS ours (baseline) |',
  '|---|---|---|---|---|---|---|---|---|',
];
for (const r of rows) {
  const met = r.higherIsBetter ? r.ratio >= r.goal : r.ratio <= r.goal;
  const goal = r.higherIsBetter ? `≥ ${r.goal}×` : `≤ ${r.goal}×`;
  const ours = r.unit ? `${r.oursRps.toFixed(0)} req/s` : fmtS(r.oursMs);
  const base = r.unit ? `${r.baselineRps.toFixed(0)} req/s` : fmtS(r.baselineMs);
  const cpu = r.cpuRatio ? `${r.cpuRatio.toFixed(2)}×` : '';
  const rss = r.baselineRssMiB ? `${r.oursRssMiB.toFixed(0)} MiB (${r.baselineRssMiB.toFixed(0)} MiB)` : `${r.oursRssMiB.toFixed(0)} MiB`;
  lines.push(`| ${r.workload} | ${r.baseline} | ${ours} | ${base} | ${r.ratio.toFixed(2)}× | ${goal} | ${met ? 'yes' : 'no'} | ${cpu} | ${rss} |`);
}
if (stageReports.length) {
  lines.push('', 'Per-stage timings of our runs (median ms, from the debug log line of each file):', '');
  for (const s of stageReports) lines.push(`- ${s.workload}: ${Object.entries(s.stages).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}
const table = lines.join('\n');
process.stdout.write(`${table}\n`);
writeFileSync(path.join(work, 'last-table.md'), `${table}\n`);
writeFileSync(path.join(work, 'last.json'), `${JSON.stringify({ started, machine, load, rows, stageReports }, null, 2)}\n`);
