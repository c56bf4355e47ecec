// Bounded bytes (issue 8, item 3) and minimum throughput (item 4), through the real engine over real loopback
// sockets. The source is a raw TCP server that writes exactly the bytes of each response, so header tricks
// (odd casing, whitespace, repeated or stacked codings, Transfer-Encoding games) reach the client unmodified.
//
// - Content codings: nothing is ever decoded; an encoded media body fails with `unsupported_encoding` after one
//   request, with (almost) nothing on disk and the process's peak RSS far under 1 GiB, for bombs that would expand
//   to 1 GiB (brotli: about 800 bytes on the wire).
// - Temp disk: a declared length over the budget, a length-less body growing past it, and a second download that
//   waits for the first to finish.
// - A trickling source is cut by the throughput floor with `timeout` and resumed with Range.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine } from '../support/engine.js';
import type { TestEngine } from '../support/engine.js';
import { ensureMedia, mediaPath } from '../support/media.js';

const HOST = 'bytes.example.test';
const GIB = 1024 ** 3;

// ------------------------------------------------------------------------------------------------
// A raw HTTP/1.1 source: handlers get the request head and write whatever they like to the socket.

interface RawRequest {
  path: string;
  headers: Record<string, string>;
}
type RawHandler = (socket: Socket, request: RawRequest, n: number) => void;

const handlers = new Map<string, RawHandler>();
const seen: RawRequest[] = [];
const sockets = new Set<Socket>();
let source: net.Server;
let port: number;

function startRawSource(): Promise<void> {
  source = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const [line, ...rest] = head.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const h of rest) headers[h.slice(0, h.indexOf(':')).trim().toLowerCase()] = h.slice(h.indexOf(':') + 1).trim();
      const request = { path: line!.split(' ')[1]!, headers };
      seen.push(request);
      const handler = handlers.get(request.path);
      if (!handler) return void socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      handler(socket, request, seen.filter((r) => r.path === request.path).length);
    };
    socket.on('data', onData);
  });
  return new Promise((resolve) => source.listen(0, '127.0.0.1', () => {
    port = (source.address() as AddressInfo).port;
    resolve();
  }));
}

/**
 * Syncs and waits: the file's terminal view, or (for a failure before the file is recorded, e.g. while opening
 * the media response) the refusal as a failed outcome with its code.
 */
async function outcome(engine: TestEngine, target: string): Promise<{ status: string; error?: { code: string; message: string }; content_sha256?: string | null; bytes?: number | null }> {
  try {
    return await engine.ingest.sync(target, { wait: true });
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { status: 'refused', error: { code, message } };
  }
}

const requestsTo = (p: string): RawRequest[] => seen.filter((r) => r.path === p);
const url = (p: string): string => `http://${HOST}${p}`;

/** A response head: status line, the given header lines verbatim, `Connection: close`. */
function head(status: string, lines: string[]): string {
  return `HTTP/1.1 ${status}\r\n${[...lines, 'Connection: close'].join('\r\n')}\r\n\r\n`;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Bytes of every file under `dir`. */
function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? treeBytes(full) : statSync(full).size;
  }
  return total;
}

/** Compresses `prefix` then `zeroBytes` zeros, streaming (never 1 GiB in memory). */
function compressBomb(make: () => zlib.BrotliCompress | zlib.Gzip | zlib.Deflate, prefix: Buffer, zeroBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const stream = make();
    const out: Buffer[] = [];
    stream.on('data', (d: Buffer) => out.push(d));
    stream.on('end', () => resolve(Buffer.concat(out)));
    stream.on('error', reject);
    stream.write(prefix);
    const zeros = Buffer.alloc(1 << 20);
    let left = zeroBytes;
    const pump = (): void => {
      while (left > 0) {
        left -= zeros.length;
        if (!stream.write(zeros)) return void stream.once('drain', pump);
      }
      stream.end();
    };
    pump();
  });
}

let media: Buffer;
let mediaHead: Buffer;
let brBomb: Buffer;
let gzipBomb: Buffer;
let deflateBomb: Buffer;

beforeAll(async () => {
  ensureMedia();
  media = readFileSync(mediaPath('sample.wav'));
  mediaHead = readFileSync(mediaPath('sample.mp4')).subarray(0, 8192);
  await startRawSource();
  // Each decodes to 1 GiB that starts like an MP4 (a media sniffer alone would let it through).
  brBomb = await compressBomb(
    () => zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_LGWIN]: 24 } }),
    mediaHead, GIB - mediaHead.length,
  );
  gzipBomb = await compressBomb(() => zlib.createGzip({ level: 9 }), mediaHead, GIB - mediaHead.length);
  deflateBomb = await compressBomb(() => zlib.createDeflate({ level: 9 }), mediaHead, 256 * 1024 ** 2);
}, 120_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => source?.close(resolve));
});

function connectTo(): string[] {
  return [`${HOST}:80:127.0.0.1:${port}`];
}

// ------------------------------------------------------------------------------------------------

describe('content and transfer codings: media bodies are never decoded', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startEngine({
      connectTo: connectTo(),
      retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
      network: { idleTimeoutMs: 5000 },
    });
  });
  afterAll(async () => engine?.close());

  const encoded = (name: string, lines: () => string[], body: () => Buffer, chunked = false): [string, string, RawHandler] => [
    name,
    `/enc/${name.replace(/[^a-z0-9]+/gi, '-')}.mp4`,
    (socket) => {
      const data = body();
      if (chunked) {
        socket.end(Buffer.concat([Buffer.from(head('200 OK', ['Content-Type: video/mp4', ...lines()])), Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n0\r\n\r\n')]));
      } else {
        socket.end(Buffer.concat([Buffer.from(head('200 OK', ['Content-Type: video/mp4', `Content-Length: ${data.length}`, ...lines()])), data]));
      }
    },
  ];

  const refused: Array<[string, string, RawHandler]> = [
    encoded('brotli bomb (1 GiB from ~1 KB)', () => ['Content-Encoding: br'], () => brBomb),
    encoded('gzip bomb (1 GiB)', () => ['Content-Encoding: gzip'], () => gzipBomb),
    encoded('deflate bomb', () => ['Content-Encoding: deflate'], () => deflateBomb),
    encoded('zstd', () => ['Content-Encoding: zstd'], () => Buffer.from('28b52ffd0058610000', 'hex')),
    encoded('x-gzip', () => ['Content-Encoding: x-gzip'], () => gzipBomb),
    encoded('odd casing and whitespace', () => ['Content-Encoding:    GZip   '], () => gzipBomb),
    encoded('uppercase BR', () => ['Content-Encoding: BR'], () => brBomb),
    encoded('stacked gzip, br', () => ['Content-Encoding: gzip, br'], () => zlib.brotliCompressSync(zlib.gzipSync(mediaHead))),
    encoded('identity then gzip', () => ['Content-Encoding: identity, gzip'], () => gzipBomb),
    encoded('two Content-Encoding headers', () => ['Content-Encoding: identity', 'Content-Encoding: gzip'], () => gzipBomb),
    encoded('an unknown coding', () => ['Content-Encoding: compress'], () => mediaHead),
    encoded('gzip inside chunked', () => ['Content-Encoding: gzip', 'Transfer-Encoding: chunked'], () => gzipBomb, true),
    encoded('Transfer-Encoding gzip, chunked', () => ['Transfer-Encoding: gzip, chunked'], () => zlib.gzipSync(mediaHead), true),
    encoded('Transfer-Encoding deflate, chunked', () => ['Transfer-Encoding: deflate, chunked'], () => zlib.deflateSync(mediaHead), true),
  ];

  it.each(refused)('%s: refused with unsupported_encoding after one request, nothing decoded to disk', async (_name, route, handler) => {
    handlers.set(route, handler);
    const rssBefore = process.resourceUsage().maxRSS * 1024;
    const file = await outcome(engine, url(route));
    expect(file.status).toMatch(/^(failed|refused)$/);
    expect(file.error?.code).toBe('unsupported_encoding');
    expect(requestsTo(route)).toHaveLength(1); // not retryable: the source would send the same again
    // No temp or stored bytes remain, and the process never held anything near the decoded size.
    expect(treeBytes(path.join(engine.dataDir, 'tmp'))).toBe(0);
    const peak = process.resourceUsage().maxRSS * 1024;
    expect(peak).toBeLessThan(1 * GIB);
    expect(peak - rssBefore).toBeLessThan(256 * 1024 ** 2);
  });

  it('the data dir holds no decoded bytes after every bomb (far less than the 1 GiB they expand to)', () => {
    expect(treeBytes(engine.dataDir)).toBeLessThan(16 * 1024 ** 2);
  });

  const accepted: Array<[string, string[], boolean]> = [
    ['Content-Encoding: identity', ['Content-Encoding: identity'], false],
    ['Content-Encoding with spaces and casing ( IDENTITY )', ['Content-Encoding:  IDENTITY '], false],
    ['an empty Content-Encoding', ['Content-Encoding:'], false],
    ['Transfer-Encoding: Chunked (any casing)', ['Transfer-Encoding: Chunked'], true],
  ];

  it.each(accepted)('%s: an unencoded body is stored as sent', async (name, lines, chunked) => {
    const route = `/ok/${name.replace(/[^a-z0-9]+/gi, '-')}.wav`;
    handlers.set(route, encoded(name, () => lines.map((l) => l.replace('video/mp4', 'audio/wav')), () => media, chunked)[2]);
    const file = await outcome(engine, url(route));
    expect(file).toMatchObject({ status: 'completed', content_sha256: sha256(media), bytes: media.length });
  });

  it('a Content-Length beside Transfer-Encoding: chunked (a smuggling shape) never stores bytes that were not sent', async () => {
    const route = '/smuggle.wav';
    handlers.set(route, (socket) => {
      socket.end(Buffer.concat([
        Buffer.from(head('200 OK', ['Content-Type: audio/wav', `Content-Length: ${media.length + 1000}`, 'Transfer-Encoding: chunked'])),
        Buffer.from(`${media.length.toString(16)}\r\n`), media, Buffer.from('\r\n0\r\n\r\n'),
      ]));
    });
    const file = await outcome(engine, url(route));
    if (file.status === 'completed') expect(file).toMatchObject({ content_sha256: sha256(media), bytes: media.length });
    else expect(file.error?.code).toMatch(/^(upstream_error|unsupported_encoding)$/);
  });
});

// ------------------------------------------------------------------------------------------------

/** Log lines of an engine, as objects, for waiting on its events. */
function logSink(): { logger: pino.Logger; lines: Array<Record<string, unknown>>; next: (msg: string) => Promise<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ msg: string; resolve: (line: Record<string, unknown>) => void }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        for (const w of [...waiters]) if (line.msg === w.msg) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, stream),
    lines,
    next: (msg) => {
      const found = lines.find((l) => l.msg === msg);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ msg, resolve }));
    },
  };
}

describe('temporary disk budget (limits.maxTempBytes)', () => {
  it('refuses a download whose declared length alone is over the budget, before storing a byte', async () => {
    const engine = await startEngine({ connectTo: connectTo(), limits: { maxTempBytes: media.length - 1 } });
    try {
      handlers.set('/budget/too-big.wav', (socket) => socket.end(Buffer.concat([Buffer.from(head('200 OK', ['Content-Type: audio/wav', `Content-Length: ${media.length}`])), media])));
      const file = await outcome(engine, url('/budget/too-big.wav'));
      expect(file.error?.code).toBe('disk_budget_exceeded');
      expect(treeBytes(path.join(engine.dataDir, 'tmp'))).toBe(0);
      expect(treeBytes(path.join(engine.dataDir, 'blobs'))).toBe(0);
    } finally {
      await engine.close();
    }
  });

  it('counts a body without Content-Length as it grows and stops it at the budget', async () => {
    const budget = 200_000;
    const engine = await startEngine({ connectTo: connectTo(), limits: { maxTempBytes: budget } });
    try {
      handlers.set('/budget/endless.wav', (socket) => {
        // Close-delimited: no length at all, far more than the budget.
        socket.write(Buffer.concat([Buffer.from(head('200 OK', ['Content-Type: audio/wav'])), media]));
        socket.end(media);
      });
      const file = await outcome(engine, url('/budget/endless.wav'));
      expect(file.error?.code).toBe('disk_budget_exceeded');
      expect(treeBytes(path.join(engine.dataDir, 'tmp'))).toBe(0);
    } finally {
      await engine.close();
    }
  });

  it('makes a second download wait (holding no connection) until the first one frees the budget, then both complete', async () => {
    const sink = logSink();
    const engine = await startEngine({ connectTo: connectTo(), logger: sink.logger, limits: { maxTempBytes: Math.floor(media.length * 1.5) } });
    try {
      let releaseFirst!: () => void;
      const firstHeld = new Promise<void>((resolve) => {
        handlers.set('/budget/first.wav', (socket) => {
          // Half the body, then hold until the second download is seen waiting.
          socket.write(Buffer.concat([Buffer.from(head('200 OK', ['Content-Type: audio/wav', `Content-Length: ${media.length}`])), media.subarray(0, media.length / 2)]));
          releaseFirst = () => socket.end(media.subarray(media.length / 2));
          resolve();
        });
      });
      handlers.set('/budget/second.wav', (socket) => socket.end(Buffer.concat([Buffer.from(head('200 OK', ['Content-Type: audio/wav', `Content-Length: ${media.length}`])), media])));
      const first = engine.ingest.sync(url('/budget/first.wav'), { wait: true });
      await firstHeld;
      const second = engine.ingest.sync(url('/budget/second.wav'), { wait: true });
      const waiting = await sink.next('waiting for the temp disk budget (limits.maxTempBytes)');
      expect(waiting).toMatchObject({ bytes: media.length, limit: Math.floor(media.length * 1.5) });
      releaseFirst();
      const [a, b] = await Promise.all([first, second]);
      expect(a).toMatchObject({ status: 'completed', content_sha256: sha256(media) });
      expect(b).toMatchObject({ status: 'completed', content_sha256: sha256(media) });
      // The waiting download let its first response go and asked again once it had its turn.
      expect(requestsTo('/budget/second.wav')).toHaveLength(2);
    } finally {
      await engine.close();
    }
  });
});

// ------------------------------------------------------------------------------------------------

describe('minimum throughput (network.minBytesPerSecond over network.minSpeedWindowMs)', () => {
  /** Sends the head and the first `firstBytes`, then one byte every `everyMs` (never ends by itself). */
  function trickle(socket: Socket, status: string, lines: string[], body: Buffer, firstBytes: number, everyMs: number): void {
    socket.write(Buffer.concat([Buffer.from(head(status, lines)), body.subarray(0, firstBytes)]));
    let at = firstBytes;
    const timer = setInterval(() => {
      if (socket.destroyed || at >= body.length) return void clearInterval(timer);
      socket.write(body.subarray(at, at + 1));
      at += 1;
    }, everyMs);
    socket.on('close', () => clearInterval(timer));
  }

  it('cuts a trickling body with timeout and resumes it with Range', async () => {
    const engine = await startEngine({
      connectTo: connectTo(),
      retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
      network: { idleTimeoutMs: 10_000, minBytesPerSecond: 2000, minSpeedWindowMs: 400 },
    });
    try {
      const first = 64 * 1024;
      handlers.set('/slow/resume.wav', (socket, request) => {
        const range = /bytes=(\d+)-/.exec(request.headers.range ?? '');
        const validators = ['Content-Type: audio/wav', 'ETag: "slow-1"', 'Accept-Ranges: bytes'];
        if (!range) return trickle(socket, '200 OK', [...validators, `Content-Length: ${media.length}`], media, first, 40);
        const start = Number(range[1]);
        socket.end(Buffer.concat([
          Buffer.from(head('206 Partial Content', [...validators, `Content-Range: bytes ${start}-${media.length - 1}/${media.length}`, `Content-Length: ${media.length - start}`])),
          media.subarray(start),
        ]));
      });
      const file = await engine.ingest.sync(url('/slow/resume.wav'), { wait: true });
      expect(file).toMatchObject({ status: 'completed', content_sha256: sha256(media), bytes: media.length });
      const requests = requestsTo('/slow/resume.wav');
      expect(requests).toHaveLength(2);
      expect(Number(/bytes=(\d+)-/.exec(requests[1]!.headers.range ?? '')?.[1])).toBeGreaterThanOrEqual(first);
    } finally {
      await engine.close();
    }
  });

  it('fails a source that only ever trickles with timeout once the retry budget is spent', async () => {
    const engine = await startEngine({
      connectTo: connectTo(),
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
      network: { idleTimeoutMs: 10_000, minBytesPerSecond: 2000, minSpeedWindowMs: 300 },
    });
    try {
      handlers.set('/slow/always.wav', (socket) => trickle(socket, '200 OK', ['Content-Type: audio/wav', `Content-Length: ${media.length}`], media, 8192, 40));
      const file = await outcome(engine, url('/slow/always.wav'));
      expect(file.status).toMatch(/^(failed|refused)$/);
      expect(file.error?.code).toBe('timeout');
      expect(file.error?.message).toMatch(/under the floor of 2000 B\/s/);
      expect(requestsTo('/slow/always.wav')).toHaveLength(2);
    } finally {
      await engine.close();
    }
  });
});

describe('TempDiskBudget (the accounting behind limits.maxTempBytes)', () => {
  it('grants in order, never over the limit, grows length-less bodies in steps and frees on release', async () => {
    const { TempDiskBudget } = await import('../../src/store/temp-disk-budget.js');
    const budget = new TempDiskBudget(100);
    const a = budget.tryReserve(60)!;
    expect(budget.reserved).toBe(60);
    expect(budget.tryReserve(50)).toBeUndefined();
    expect(() => budget.tryReserve(101)).toThrow(expect.objectContaining({ code: 'disk_budget_exceeded' }));
    const controller = new AbortController();
    const order: string[] = [];
    const b = budget.reserve(50, controller.signal).then((r) => (order.push('b'), r));
    const c = budget.reserve(10, controller.signal).then((r) => (order.push('c'), r)); // would fit, but waits its turn
    expect(budget.tryReserve(1)).toBeUndefined(); // nobody jumps the queue
    a.release();
    const [rb, rc] = await Promise.all([b, c]);
    expect(order).toEqual(['b', 'c']);
    expect(budget.reserved).toBe(60);
    expect(() => rb.ensure(91)).toThrow(expect.objectContaining({ code: 'disk_budget_exceeded' }));
    rb.ensure(55);
    expect(budget.reserved).toBeLessThanOrEqual(100);
    rb.release();
    rb.release();
    rc.release();
    expect(budget.reserved).toBe(0);
  });

  it('a waiting reservation is dropped when its signal aborts', async () => {
    const { TempDiskBudget } = await import('../../src/store/temp-disk-budget.js');
    const budget = new TempDiskBudget(10);
    const held = budget.tryReserve(10)!;
    const controller = new AbortController();
    const waiting = budget.reserve(5, controller.signal);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    held.release();
    expect(budget.reserved).toBe(0);
    expect(budget.tryReserve(10)).toBeDefined();
  });
});
