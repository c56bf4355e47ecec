// The adversarial corpus: hostile and malformed inputs, each with its expected outcome and code, through the real
// engine over real loopback sockets. After every case: nothing was written outside the data dir (a sandbox around
// it, the process temp dir pointed into the sandbox, is snapshotted), and no request reached the fixture server
// except through the routed names (a direct hit on 127.0.0.1 would show up with another Host).
//
// DNS answers that change between calls are emulated by replacing `dns.lookup` in this test process (the guarded
// client resolves through it at connect time): no DNS server, no production hook. It never answers a public-only
// address, so nothing can leave the machine; names it does not know fail with ENOTFOUND (no real DNS query).
import dns from 'node:dns';
import type { LookupAddress } from 'node:dns';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createIngest } from '../../src/index.js';
import type { Ingest } from '../../src/engine/ingest.js';
import type { IngestFile } from '../../src/engine/file-view.js';
import { directHttp } from '../../plugins/direct-http/index.js';
import { createServer } from '../../src/server/index.js';
import { connectToFor, redirect, sendText, serveBuffer, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { snapshotTree } from '../faults/support.js';

const EVIL = 'evil.example.test';
const IDN = 'xn--exmple-cua.test'; // exämple.test
const ROUTED = new Set([EVIL, IDN]);
const MAX_BYTES = 8 * 1024 * 1024;

let server: FixtureServer;
let ingest: Ingest;
let sandbox: string;
let dataDir: string;
let before: Record<string, number>;
let port: number;
const realLookup = dns.lookup;
const previousTmp = process.env.TMPDIR;

// ------------------------------------------------------------------------------------------------
// Fake DNS: per-name answer sequences (the last one repeats).

type Answer = string[] | 'EAI_AGAIN';
const dnsPlans = new Map<string, Answer[]>();
const dnsCalls: string[] = [];

function fakeLookup(hostname: string, options: unknown, callback?: unknown): void {
  const cb = (typeof options === 'function' ? options : callback) as (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
  const opts = (typeof options === 'object' && options !== null ? options : {}) as dns.LookupOptions;
  if (hostname === 'localhost' || isIP(hostname) !== 0) return void (realLookup as (h: string, o: dns.LookupOptions, c: typeof cb) => void)(hostname, opts, cb);
  dnsCalls.push(hostname);
  const plan = dnsPlans.get(hostname);
  const answer = plan && plan.length > 1 ? plan.shift()! : plan?.[0];
  const fail = (code: string): void => cb(Object.assign(new Error(`${code} ${hostname}`), { code, hostname }), []);
  if (!answer) return void process.nextTick(fail, 'ENOTFOUND');
  if (answer === 'EAI_AGAIN') return void process.nextTick(fail, 'EAI_AGAIN');
  const addresses = answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  process.nextTick(() => (opts.all ? cb(null, addresses) : cb(null, addresses[0]!.address, addresses[0]!.family)));
}

// ------------------------------------------------------------------------------------------------
// The corpus.

type Outcome = 'refused' | 'failed' | 'completed';
interface Case {
  name: string;
  /** The URL to sync (a function: it may need the fixture port). */
  url: () => string;
  outcome: Outcome;
  /** The expected code (refused/failed); one of several when the exact one depends on the bytes. */
  code?: string | string[];
  metadata?: unknown;
  /** Extra checks on a completed file. */
  check?: (file: IngestFile) => void;
  /** Paths on the fixture server that must never be requested. */
  never?: string[];
}

const at = (p: string) => () => `http://${EVIL}${p}`;
const direct = (host: string, p = '/a.mp4') => () => `http://${host}:${port}${p}`;
const SECRET = '/internal/secret.mp4';

const CASES: Case[] = [
  // Private and reserved targets, literal, in odd spellings, and through DNS.
  { name: 'loopback 127.0.0.1', url: direct('127.0.0.1', SECRET), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'loopback 127.1 (short form)', url: direct('127.1', SECRET), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'loopback as a decimal integer 2130706433', url: direct('2130706433', SECRET), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'loopback in hex 0x7f.0x0.0x0.0x1', url: direct('0x7f.0x0.0x0.0x1', SECRET), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'loopback in octal 0177.0.0.01', url: direct('0177.0.0.01', SECRET), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'loopback in full-width digits', url: () => `http://１２７.０.０.１:${port}${SECRET}`, outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: '0.0.0.0 (reaches local listeners on Linux)', url: direct('0.0.0.0', SECRET), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'IPv6 loopback [::1]', url: direct('[::1]'), outcome: 'refused', code: 'blocked_address' },
  { name: 'IPv6 unspecified [::]', url: direct('[::]'), outcome: 'refused', code: 'blocked_address' },
  { name: 'IPv4-mapped [::ffff:127.0.0.1]', url: direct('[::ffff:127.0.0.1]', SECRET), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'IPv4-mapped in hex [::ffff:7f00:1]', url: direct('[::ffff:7f00:1]', SECRET), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'IPv4-compatible [::127.0.0.1]', url: direct('[::127.0.0.1]'), outcome: 'refused', code: 'blocked_address' },
  { name: 'NAT64 [64:ff9b::a9fe:a9fe] (metadata)', url: direct('[64:ff9b::a9fe:a9fe]'), outcome: 'refused', code: 'blocked_address' },
  { name: '6to4 [2002:7f00:1::1]', url: direct('[2002:7f00:1::1]'), outcome: 'refused', code: 'blocked_address' },
  { name: 'Teredo [2001:0:4136:e378:8000:63bf:80ff:fffe]', url: direct('[2001:0:4136:e378:8000:63bf:80ff:fffe]'), outcome: 'refused', code: 'blocked_address' },
  { name: 'IPv6 link-local [fe80::1]', url: direct('[fe80::1]'), outcome: 'refused', code: 'blocked_address' },
  { name: 'IPv6 unique-local [fd00::1]', url: direct('[fd00::1]'), outcome: 'refused', code: 'blocked_address' },
  { name: 'IPv6 multicast [ff02::1]', url: direct('[ff02::1]'), outcome: 'refused', code: 'blocked_address' },
  { name: 'cloud metadata 169.254.169.254', url: () => 'http://169.254.169.254/latest/meta-data/', outcome: 'refused', code: 'blocked_address' },
  { name: 'private 10.0.0.1', url: () => 'http://10.0.0.1/a.mp4', outcome: 'refused', code: 'blocked_address' },
  { name: 'private 172.16.0.1', url: () => 'http://172.16.0.1/a.mp4', outcome: 'refused', code: 'blocked_address' },
  { name: 'private 192.168.1.1', url: () => 'http://192.168.1.1/a.mp4', outcome: 'refused', code: 'blocked_address' },
  { name: 'CGNAT 100.64.0.1', url: () => 'http://100.64.0.1/a.mp4', outcome: 'refused', code: 'blocked_address' },
  { name: 'multicast 224.0.0.1', url: () => 'http://224.0.0.1/a.mp4', outcome: 'refused', code: 'blocked_address' },
  { name: 'broadcast 255.255.255.255', url: () => 'http://255.255.255.255/a.mp4', outcome: 'refused', code: 'blocked_address' },
  { name: 'reserved 240.0.0.1', url: () => 'http://240.0.0.1/a.mp4', outcome: 'refused', code: 'blocked_address' },
  { name: 'benchmarking 198.18.0.1', url: () => 'http://198.18.0.1/a.mp4', outcome: 'refused', code: 'blocked_address' },
  { name: 'documentation 192.0.2.1', url: () => 'http://192.0.2.1/a.mp4', outcome: 'refused', code: 'blocked_address' },
  { name: 'localhost by name', url: direct('localhost', SECRET), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'a public-looking name that resolves to 127.0.0.1', url: direct('127.0.0.1.nip.test', SECRET), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'a DNS answer mixing a public and a private address', url: direct('mixed.test', SECRET), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'a DNS answer that fails, then rebinds to loopback on the retry', url: direct('rebind.test', SECRET), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'a MEDIA_INGEST_RESOLVE override to a private address', url: () => `http://resolved-private.test:${port}${SECRET}`, outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  // Redirects.
  { name: 'a redirect to 127.0.0.1', url: at('/r/loopback'), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'a 3-hop redirect chain ending at [::ffff:127.0.0.1]', url: at('/r/chain/1'), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'a redirect to the metadata address', url: at('/r/metadata'), outcome: 'refused', code: 'blocked_address' },
  { name: 'a redirect to a name that rebinds to loopback', url: at('/r/rebind'), outcome: 'refused', code: 'blocked_address', never: [SECRET] },
  { name: 'a redirect loop', url: at('/r/loop-a'), outcome: 'refused', code: 'too_many_redirects' },
  { name: 'a redirect to itself', url: at('/r/self'), outcome: 'refused', code: 'too_many_redirects' },
  { name: 'Location: file:///etc/passwd', url: at('/r/file'), outcome: 'refused', code: 'unsupported_scheme' },
  { name: 'Location: ftp://', url: at('/r/ftp'), outcome: 'refused', code: 'unsupported_scheme' },
  { name: 'Location: data: (inline media)', url: at('/r/data'), outcome: 'refused', code: 'unsupported_scheme' },
  { name: 'Location: javascript:', url: at('/r/js'), outcome: 'refused', code: 'unsupported_scheme' },
  { name: 'Location with credentials', url: at('/r/creds'), outcome: 'refused', code: 'invalid_url' },
  // Submitted URLs.
  { name: 'a file: URL', url: () => 'file:///etc/passwd', outcome: 'refused', code: 'unsupported_scheme' },
  { name: 'a gopher: URL', url: () => `gopher://${EVIL}/1`, outcome: 'refused', code: 'unsupported_scheme' },
  { name: 'URL credentials', url: () => `http://user:pass@${EVIL}/a.mp4`, outcome: 'refused', code: 'invalid_url' },
  { name: 'an over-long URL (9000 characters)', url: () => `http://${EVIL}/${'a'.repeat(9000)}.mp4`, outcome: 'refused', code: 'invalid_url' },
  { name: 'a huge host name (300 characters)', url: () => `http://${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(55)}.test/a.mp4`, outcome: 'refused', code: 'invalid_url' },
  { name: 'a host label over 63 characters', url: () => `http://${'x'.repeat(64)}.test/a.mp4`, outcome: 'refused', code: 'invalid_url' },
  { name: 'a unicode (IDN) host, fetched by its punycode name', url: () => 'http://exämple.test/idn.mp3', outcome: 'completed', check: (f) => expect(f.source_metadata).toMatchObject({ final_url: `http://${IDN}/idn.mp3` }) },
  { name: 'an unresolvable host', url: () => 'http://no-such-host.test/a.mp4', outcome: 'refused', code: 'upstream_error' },
  // Bodies that are not what their name says.
  { name: 'an HLS playlist named .mp4', url: at('/b/playlist.mp4'), outcome: 'refused', code: 'unsupported_media_type', never: ['/internal.ts'] },
  { name: 'an HLS playlist after a BOM and blank lines', url: at('/b/bom-playlist.mp4'), outcome: 'refused', code: 'unsupported_media_type', never: ['/internal.ts'] },
  { name: 'an ffconcat script named .mp4', url: at('/b/ffconcat.mp4'), outcome: 'refused', code: 'unsupported_media_type' },
  { name: 'a concat-demuxer list named .mp3', url: at('/b/concat.mp3'), outcome: 'refused', code: 'unsupported_media_type' },
  { name: 'a playlist hidden behind an AVI header (CVE-2017-9993 style)', url: at('/b/avi-playlist.avi'), outcome: 'failed', code: ['media_corrupt', 'unsupported_media_type'], never: ['/internal.ts'] },
  { name: 'a DASH manifest named .mp4', url: at('/b/manifest.mp4'), outcome: 'refused', code: 'unsupported_media_type' },
  { name: 'an HTML page named .mp4 with Content-Type video/mp4', url: at('/b/page.mp4'), outcome: 'refused', code: 'unsupported_media_type' },
  { name: 'an HTML page after whitespace', url: at('/b/spaced-page.webm'), outcome: 'refused', code: 'unsupported_media_type' },
  { name: 'a ZIP archive named .mp4', url: at('/b/archive.mp4'), outcome: 'refused', code: 'unsupported_media_type' },
  { name: 'a PNG image named .mp4', url: at('/b/image.mp4'), outcome: 'refused', code: 'unsupported_media_type' },
  { name: 'a PDF named .mp3', url: at('/b/doc.mp3'), outcome: 'refused', code: 'unsupported_media_type' },
  { name: 'JSON named .mp4', url: at('/b/data.mp4'), outcome: 'refused', code: 'unsupported_media_type' },
  { name: 'a zero-byte body', url: at('/b/empty.mp4'), outcome: 'refused', code: 'media_corrupt' },
  { name: 'a truncated MP4', url: at('/b/truncated.mp4'), outcome: 'failed', code: 'media_corrupt' },
  { name: 'random bytes named .mp4', url: at('/b/garbage.mp4'), outcome: 'failed', code: 'media_corrupt' },
  { name: 'a lying Content-Length (shorter than the body)', url: at('/b/short-length.mov'), outcome: 'failed', code: 'media_corrupt' },
  { name: 'a lying Content-Length (longer than the body)', url: at('/b/long-length.mp4'), outcome: 'failed', code: 'upstream_error' },
  { name: 'a gzip body (never decoded: refused)', url: at('/b/gzip-bomb.mp4'), outcome: 'refused', code: 'unsupported_encoding' },
  { name: 'a brotli body (never decoded: refused)', url: at('/b/br-bomb.mp4'), outcome: 'refused', code: 'unsupported_encoding' },
  { name: 'an endless chunked body', url: at('/b/endless.mp4'), outcome: 'failed', code: 'file_too_large' },
  { name: 'a Content-Length over the size limit', url: at('/b/huge-length.mp4'), outcome: 'refused', code: 'file_too_large' },
  // Names.
  {
    name: 'Content-Disposition path traversal', url: at('/b/traversal'), outcome: 'completed',
    check: (f) => expect(f.filename).toBe('escape.mp3'),
  },
  {
    name: 'Content-Disposition control and bidi characters', url: at('/b/control'), outcome: 'completed',
    check: (f) => expect(f.filename).toBe('evilgpj.mp3'),
  },
  {
    name: 'a malformed Content-Disposition', url: at('/b/bad-disposition.mp3'), outcome: 'completed',
    check: (f) => expect(f.filename).not.toMatch(/[/\\\u0000-\u001f]/),
  },
  // Metadata.
  { name: 'metadata that is an array', url: at('/b/ok-meta-1.mp3'), metadata: [1, 2], outcome: 'refused', code: 'invalid_request' },
  { name: 'metadata that is a string', url: at('/b/ok-meta-2.mp3'), metadata: 'x', outcome: 'refused', code: 'invalid_request' },
  { name: 'metadata over the size limit', url: at('/b/ok-meta-3.mp3'), metadata: { blob: 'x'.repeat(70_000) }, outcome: 'refused', code: 'invalid_request' },
  { name: 'metadata with a cycle', url: at('/b/ok-meta-4.mp3'), metadata: cyclic(), outcome: 'refused', code: 'invalid_request' },
];

function cyclic(): Record<string, unknown> {
  const value: Record<string, unknown> = { a: 1 };
  value.self = value;
  return value;
}

// ------------------------------------------------------------------------------------------------
// Fixture routes.

function routes(): void {
  const secret = (): void => void server.route('GET', SECRET, (_req, res) => serveFile(res, mediaPath('sample.mp3')));
  secret();
  server.route('GET', '/a.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp3')));
  server.route('GET', '/internal.ts', (_req, res) => sendText(res, 200, 'secret'));
  server.route('GET', '/idn.mp3', (_req, res) => serveFile(res, mediaPath('sample.mp3')), { host: IDN });
  const r = (p: string, location: string | (() => string), status = 302): void =>
    void server.route('GET', `/r/${p}`, (_req, res) => redirect(res, status, typeof location === 'string' ? location : location()));
  r('loopback', () => `http://127.0.0.1:${port}${SECRET}`);
  r('chain/1', '/r/chain/2', 301);
  r('chain/2', `http://${EVIL}/r/chain/3`, 307);
  r('chain/3', () => `http://[::ffff:127.0.0.1]:${port}${SECRET}`, 308);
  r('metadata', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/');
  r('rebind', () => `http://rebind-redirect.test:${port}${SECRET}`);
  r('loop-a', '/r/loop-b');
  r('loop-b', '/r/loop-a');
  r('self', '/r/self');
  r('file', 'file:///etc/passwd');
  r('ftp', 'ftp://ftp.example.test/video.mp4');
  r('data', 'data:video/mp4;base64,AAAAIGZ0eXBpc29t');
  r('js', 'javascript:alert(1)');
  r('creds', `http://admin:admin@${EVIL}/a.mp4`);

  const b = (p: string, handler: (res: ServerResponse) => unknown): void => void server.route('GET', `/b/${p}`, (_req, res) => handler(res) as Promise<void>);
  const text = (body: string | Buffer, type = 'video/mp4') => (res: ServerResponse) => serveBuffer(res, Buffer.isBuffer(body) ? body : Buffer.from(body), { contentType: type });
  const playlist = `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://${EVIL}/internal.ts\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n`;
  b('playlist.mp4', text(playlist));
  b('bom-playlist.mp4', text(`\uFEFF\n\n  ${playlist}`));
  b('ffconcat.mp4', text(`ffconcat version 1.0\nfile '/etc/passwd'\nfile 'http://${EVIL}/internal.ts'\n`));
  b('concat.mp3', text(`file '/etc/passwd'\nfile 'subfile,,start,0,end,100,,:/etc/shadow'\n`, 'audio/mpeg'));
  const avi = Buffer.concat([Buffer.from('RIFF\u0000\u0010\u0000\u0000AVI LIST', 'latin1'), Buffer.alloc(64), Buffer.from(playlist)]);
  b('avi-playlist.avi', text(avi, 'video/x-msvideo'));
  b('manifest.mp4', text('<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period/></MPD>'));
  b('page.mp4', text('<!doctype html><html><body>Sign in</body></html>'));
  b('spaced-page.webm', text('\n\n   <html><head><title>x</title></head></html>', 'video/webm'));
  b('archive.mp4', text(Buffer.concat([Buffer.from('PK\u0003\u0004', 'latin1'), Buffer.alloc(200, 1)])));
  b('image.mp4', text(Buffer.concat([Buffer.from([0x89]), Buffer.from('PNG\r\n\u001a\n', 'latin1'), Buffer.alloc(200)])));
  b('doc.mp3', text('%PDF-1.7\n%\u00e2\u00e3\n1 0 obj <<>> endobj\n', 'audio/mpeg'));
  b('data.mp4', text('{"video": "http://169.254.169.254/"}'));
  b('empty.mp4', text(Buffer.alloc(0)));
  b('truncated.mp4', (res) => serveFile(res, mediaPath('truncated.mp4')));
  b('garbage.mp4', (res) => serveFile(res, mediaPath('garbage.mp4')));
  b('short-length.mov', (res) => serveFile(res, mediaPath('sample.mov'), { contentLengthOverride: 200_000 }));
  b('long-length.mp4', (res) => serveFile(res, mediaPath('sample.mp3'), { contentLengthOverride: 200_000, contentType: 'video/mp4' }));
  const zeros = Buffer.alloc(32 * 1024 * 1024);
  const gzipBomb = zlib.gzipSync(zeros, { level: 9 });
  const brBomb = zlib.brotliCompressSync(zeros);
  b('gzip-bomb.mp4', (res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-encoding': 'gzip', 'content-length': gzipBomb.length });
    res.end(gzipBomb);
  });
  b('br-bomb.mp4', (res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-encoding': 'br', 'content-length': brBomb.length });
    res.end(brBomb);
  });
  b('endless.mp4', (res) => {
    res.writeHead(200, { 'content-type': 'video/mp4' });
    const head = readFileSync(mediaPath('sample.mp4')).subarray(0, 4096);
    const block = Buffer.alloc(256 * 1024, 0x47);
    const stream = new PassThrough();
    stream.pipe(res);
    stream.write(head);
    const pump = (): void => {
      while (!res.destroyed && stream.write(block)) {
        /* fill until backpressure */
      }
      if (!res.destroyed) stream.once('drain', pump);
    };
    res.on('close', () => stream.destroy());
    pump();
  });
  b('huge-length.mp4', (res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(50 * 1024 ** 3) });
    res.write(Buffer.alloc(1024));
  });
  b('traversal', (res) => serveFile(res, mediaPath('sample.mp3'), {
    headers: { 'content-disposition': `attachment; filename="../../../escape.mp3"` },
  }));
  b('control', (res) => serveFile(res, mediaPath('sample.mp3'), {
    headers: { 'content-disposition': `attachment; filename*=UTF-8''..%5C..%5Cevil%07%1B%E2%80%AEgpj.mp3` },
  }));
  b('bad-disposition.mp3', (res) => serveFile(res, mediaPath('sample.mp3'), {
    headers: { 'content-disposition': `attachment; filename*=UTF-8''%E0%A4%A; filename="a/b\\c.mp3` },
  }));
  for (const n of [1, 2, 3, 4]) b(`ok-meta-${n}.mp3`, (res) => serveFile(res, mediaPath('sample.mp3')));
}

// ------------------------------------------------------------------------------------------------

beforeAll(async () => {
  ensureMedia();
  sandbox = mkdtempSync(path.join(os.tmpdir(), 'mi-adversarial-'));
  // The data dir sits two levels deep so a `../../x` that escaped it would still land inside the sandbox.
  dataDir = path.join(sandbox, 'a', 'b', 'data');
  mkdirSync(path.join(sandbox, 'os-tmp'), { recursive: true });
  process.env.TMPDIR = path.join(sandbox, 'os-tmp');
  (dns as { lookup: unknown }).lookup = fakeLookup;
  server = await startFixtureServer();
  port = server.port;
  routes();
  ingest = await createIngest({
    configFile: path.resolve('test/support/empty.config.ts'),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    plugins: [directHttp()],
    dataDir,
    limits: { maxBytes: MAX_BYTES },
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    network: {
      connectTo: [connectToFor(server, [EVIL, IDN])],
      resolve: [`resolved-private.test:${port}:10.1.2.3`],
      maxRedirects: 5, idleTimeoutMs: 3000, totalTimeoutMs: 15_000,
    },
    thumbnails: { width: 160 },
  });
  before = snapshotTree(sandbox, (p) => p.startsWith(path.join('a', 'b', 'data')));
});

afterAll(async () => {
  await ingest?.close();
  await server?.close();
  (dns as { lookup: unknown }).lookup = realLookup;
  if (previousTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmp;
  rmSync(sandbox, { recursive: true, force: true });
});

afterEach(() => {
  // Nothing outside the data dir, no direct (unrouted) request to the loopback fixture.
  expect(snapshotTree(sandbox, (p) => p.startsWith(path.join('a', 'b', 'data')))).toEqual(before);
  const direct = server.requests.filter((r) => !ROUTED.has(r.host));
  expect(direct.map((r) => `${r.host} ${r.url}`)).toEqual([]);
});

describe('adversarial corpus', () => {
  it('has at least 40 cases with unique names', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, testCase) => {
    dnsPlans.clear();
    dnsPlans.set('127.0.0.1.nip.test', [['127.0.0.1']]);
    dnsPlans.set('mixed.test', [['93.184.216.34', '127.0.0.1']]);
    dnsPlans.set('rebind.test', ['EAI_AGAIN', ['127.0.0.1']]);
    dnsPlans.set('rebind-redirect.test', ['EAI_AGAIN', ['::ffff:127.0.0.1']]);
    const filesBefore = (await ingest.list({ limit: 100 })).total;
    let outcome: { status: Outcome | 'pending' | 'processing' | 'not_applicable'; code?: string; file?: IngestFile };
    try {
      const file = await ingest.sync(testCase.url(), { wait: true, ...(testCase.metadata !== undefined ? { metadata: testCase.metadata as Record<string, unknown> } : {}) });
      outcome = { status: file.status, ...(file.error ? { code: file.error.code } : {}), file };
    } catch (error) {
      outcome = { status: 'refused', code: (error as { code?: string }).code ?? `not an IngestError: ${String(error)}` };
    }
    expect(outcome.status, JSON.stringify(outcome)).toBe(testCase.outcome);
    if (testCase.code) {
      const codes = Array.isArray(testCase.code) ? testCase.code : [testCase.code];
      expect(codes, JSON.stringify(outcome)).toContain(outcome.code);
    }
    if (testCase.outcome === 'refused') expect((await ingest.list({ limit: 100 })).total).toBe(filesBefore);
    if (testCase.outcome === 'completed') testCase.check?.(outcome.file!);
    for (const p of testCase.never ?? []) expect(server.count('*', p)).toBe(0);
  });

  it('DNS was asked again on every attempt (the rebinding name was looked up twice)', async () => {
    dnsPlans.set('rebind.test', ['EAI_AGAIN', ['127.0.0.1']]);
    dnsCalls.length = 0;
    await expect(ingest.sync(direct('rebind.test', '/again.mp4')())).rejects.toMatchObject({ code: 'blocked_address' });
    expect(dnsCalls.filter((h) => h === 'rebind.test')).toHaveLength(2);
  });
});

describe('malformed requests to the HTTP API', () => {
  it.each([
    ['truncated JSON', '{"url": "http://evil.example.test/a.mp4"', 'application/json'],
    ['a JSON array', '["http://evil.example.test/a.mp4"]', 'application/json'],
    ['metadata that is not an object', '{"url": "http://evil.example.test/a.mp4", "metadata": "x"}', 'application/json'],
    ['an empty JSON body', '', 'application/json'],
  ])('%s → 400 invalid_request', async (_name, payload, type) => {
    const app = await createServer({ ingest, apiKeys: ['k'], logger: false, webhooks: false });
    try {
      const res = await app.inject({ method: 'POST', url: '/v1/files/sync', payload, headers: { 'content-type': type, authorization: 'Bearer k' } });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_request' });
    } finally {
      await app.close();
    }
  });
});
