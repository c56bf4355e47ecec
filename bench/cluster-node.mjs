// The syncing process of `npm run bench:cluster` (bench/cluster.mjs starts it; stdout is JSON lines); the cluster's
// workers are `media-ingest worker` processes.
//   node bench/cluster-node.mjs enqueue    an API node (`createIngest({ cluster, role: 'api' })`): never runs a file
//                                          run; syncs BENCH_URLS and waits for the workers to finish them
//   node bench/cluster-node.mjs embedded   the embedded default (SQLite, local files, in-process queue): syncs
//                                          BENCH_URLS and runs them itself
// It prints {"ready":true} once open; a line `go` on stdin starts the syncs, which end with {"done":{...}}; a line
// `stop` closes the engine and prints {"stats":{...}} (per-stage wall time of the runs this process ran, from the
// engine's `file stage timings` debug lines), then the process exits.
// Environment: BENCH_CLUSTER (the resolved cluster config as JSON; enqueue), BENCH_DATA_DIR, BENCH_CONNECT_TO
// (curl-style routing of the bench host to the loopback origin), BENCH_CONCURRENCY (JSON), BENCH_URLS (JSON array).
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createIngest } from '../dist/src/index.js';

const role = process.argv[2];
if (!['enqueue', 'embedded'].includes(role)) throw new Error(`usage: cluster-node.mjs enqueue|embedded (got ${role})`);
const env = process.env;
const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

// Stage timings of the runs this process ran, summed; warnings and errors go on to stderr.
const stages = {};
let runs = 0;
const logLines = new Writable({
  write(chunk, _encoding, callback) {
    for (const text of chunk.toString('utf8').split('\n')) {
      if (!text) continue;
      let entry;
      try {
        entry = JSON.parse(text);
      } catch {
        continue;
      }
      if (entry.stageMs) {
        runs++;
        for (const [stage, ms] of Object.entries(entry.stageMs)) stages[stage] = (stages[stage] ?? 0) + ms;
      } else if (entry.level >= 40) process.stderr.write(`${role} ${process.pid}: ${text}\n`);
    }
    callback();
  },
});

const overrides = {
  dataDir: env.BENCH_DATA_DIR,
  network: { connectTo: [env.BENCH_CONNECT_TO] },
  concurrency: JSON.parse(env.BENCH_CONCURRENCY),
  ...(role === 'embedded' ? {} : { cluster: JSON.parse(env.BENCH_CLUSTER), role: 'api' }),
};
const logger = pino({ level: 'debug' }, logLines);
const ingest = await createIngest({ ...overrides, logger });
print({ ready: true });

const lines = createInterface({ input: process.stdin });
const next = (word) => new Promise((resolve) => {
  const onLine = (line) => {
    if (line.trim() !== word) return;
    lines.off('line', onLine);
    resolve();
  };
  lines.on('line', onLine);
});

await next('go');
const urls = JSON.parse(env.BENCH_URLS);
const started = performance.now();
const finished = [];
const results = await Promise.all(urls.map((url) => ingest.sync(url, { wait: true }).then(
  (file) => {
    finished.push(performance.now() - started);
    return { status: file.status, bytes: file.bytes ?? 0, error: file.error?.code ?? null };
  },
  (error) => ({ status: 'refused', bytes: 0, error: error.code ?? String(error) }),
)));
const wallMs = performance.now() - started;
const failed = results.filter((r) => r.status !== 'completed');
print({
  done: {
    wallMs, completed: results.length - failed.length, failures: failed.slice(0, 3),
    bytes: results.reduce((sum, r) => sum + r.bytes, 0), finishedMs: finished.sort((a, b) => a - b),
  },
});
await next('stop');
lines.close();
await ingest.close();
print({ stats: { runs, stages, cpu: process.cpuUsage() } });
