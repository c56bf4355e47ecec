// A minimal static file server for benchmarks (a separate process, so it does not share the engine's event loop).
//   node bench/serve-dir.mjs DIR [BYTES_PER_SECOND]
// With BYTES_PER_SECOND, every response is paced to that rate (a per-connection limit, like a real source's), and
// `GET /__stats` answers {requests, bytes, active, maxActive} (media requests only; `?reset=1` zeroes them).
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const dir = process.argv[2];
const rate = Number(process.argv[3] ?? 0);
const stats = { requests: 0, bytes: 0, active: 0, maxActive: 0 };

/** Writes `stream` to `res` at most `bytesPerSecond` (chunks of 64 KiB, each sent when the schedule allows it). */
function paced(stream, res, bytesPerSecond) {
  const started = performance.now();
  let sent = 0;
  let timer;
  let ended = false;
  let pending = false;
  stream.on('data', (chunk) => {
    stream.pause();
    pending = true;
    const due = started + ((sent + chunk.length) / bytesPerSecond) * 1000;
    timer = setTimeout(() => {
      sent += chunk.length;
      stats.bytes += chunk.length;
      pending = false;
      if (ended) res.end(chunk);
      else if (res.write(chunk)) stream.resume();
      else res.once('drain', () => stream.resume());
    }, Math.max(0, due - performance.now()));
  });
  stream.on('end', () => {
    ended = true;
    if (!pending) res.end();
  });
  stream.on('error', () => res.destroy());
  res.on('close', () => {
    clearTimeout(timer);
    stream.destroy();
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    if (url.searchParams.get('reset')) Object.assign(stats, { requests: 0, bytes: 0, maxActive: stats.active });
    return;
  }
  const file = path.join(dir, path.basename(url.pathname));
  let size;
  try {
    size = statSync(file).size;
  } catch {
    res.writeHead(404).end();
    return;
  }
  stats.requests++;
  stats.active++;
  stats.maxActive = Math.max(stats.maxActive, stats.active);
  res.on('close', () => stats.active--);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  if (rate > 0) paced(createReadStream(file, { highWaterMark: 64 * 1024 }), res, rate);
  else {
    const stream = createReadStream(file, { highWaterMark: 1 << 20 });
    stream.on('data', (chunk) => (stats.bytes += chunk.length));
    stream.pipe(res);
  }
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
