// A minimal static file server for benchmarks (a separate process, so it does not share the engine's event loop).
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const dir = process.argv[2];
const server = http.createServer((req, res) => {
  const file = path.join(dir, path.basename(new URL(req.url, 'http://x').pathname));
  let size;
  try {
    size = statSync(file).size;
  } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
