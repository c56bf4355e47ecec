// No leaks (issue 8, item 6), checked on real runs:
// - the logs of the real CLI (`sync`) and the real `serve` at trace level, grepped for planted secrets: query
//   strings (tokens, signatures, `rlkey`), cookies, `Authorization` bearer keys, URL passwords, API keys;
// - the error texts every caller sees (library/File.error, CLI JSON, API body), grepped for private and loopback
//   addresses when a name resolves to one, a routed connection is refused, or TLS fails;
// - an `internal` failure shows a generic message, its detail only in the log;
// - thumbnails behind auth are `Cache-Control: private`, `public` only with `publicThumbnails`.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directHttp } from '../../plugins/direct-http/index.js';
import { INTERNAL_MESSAGE, IngestError } from '../../src/errors.js';
import { createLogger, scrubText, scrubUrl } from '../../src/logging.js';
import { createServer } from '../../src/server/index.js';
import { CERT_FILES, connectToFor, ensureCerts, redirect, sendText, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { startEngine } from '../support/engine.js';

const HOST = 'leak.example.test';
const CLI = path.resolve('dist/src/cli/main.js');
/** Every planted secret: none may ever appear in a log line. */
const SECRET = {
  token: 'PLANTEDtoken1a2b',
  rlkey: 'PLANTEDrlkey3c4d',
  signature: 'PLANTEDsig5e6f',
  cookie: 'PLANTEDcookie7a8b',
  apiKey: 'PLANTEDapikey9c0d',
  wrongKey: 'PLANTEDwrongkey1e2f',
  password: 'PLANTEDpass3a4b',
  query: 'PLANTEDquery5c6d',
  fragment: 'PLANTEDfrag7e8f',
} as const;
const PRIVATE_ADDRESS = /\b127\.0\.0\.1\b|\b10\.9\.8\.7\b|\[?::1\]?|::ffff:|\b(?:\d{1,3}\.){3}\d{1,3}\b/;

let server: FixtureServer;
let closedPort: number;
const routes = (): string[] => [connectToFor(server, [HOST, 'wrongcert.leak.test']), `refused.example.test:443:127.0.0.1:${closedPort}`];

beforeAll(async () => {
  ensureMedia();
  ensureCerts();
  server = await startFixtureServer({ https: true });
  server.route('GET', '/start.wav', (_req, res) => {
    res.setHeader('set-cookie', `session=${SECRET.cookie}; Path=/; HttpOnly`);
    redirect(res, 302, `/media.wav?X-Amz-Signature=${SECRET.signature}&X-Amz-Expires=600`);
  });
  server.route('GET', '/media.wav', (_req, res) => serveFile(res, mediaPath('sample.wav')));
  server.route('GET', '/video.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4')));
  server.route('GET', '/missing.wav', (_req, res) => sendText(res, 404, 'nope'));
  // A port nothing listens on: connections to it are refused.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(async () => {
  await server?.close();
});

/** Runs the real CLI; resolves with its exit code, stdout and stderr. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: CERT_FILES.ca, MEDIA_INGEST_CONNECT_TO: routes().join(','), ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60_000,
    }, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

function expectNoSecret(text: string, where: string): void {
  for (const [name, value] of Object.entries(SECRET)) expect(text.includes(value), `${name} in ${where}`).toBe(false);
}

describe('logs of real runs never contain secrets (trace level)', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mi-leaks-cli-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('the CLI: a signed redirect with cookies completes; a 404 and a URL with a password fail; no secret is logged', async () => {
    const url = `https://${HOST}/start.wav?token=${SECRET.token}&rlkey=${SECRET.rlkey}&dl=1#${SECRET.fragment}`;
    const ok = await cli(['--data-dir', dataDir, '--log-level', 'trace', 'sync', url]);
    expect(ok.code, ok.stderr.slice(-2000)).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'completed' });
    const missing = await cli(['--data-dir', dataDir, '--log-level', 'trace', 'sync', `https://${HOST}/missing.wav?token=${SECRET.token}`]);
    const withPassword = await cli(['--data-dir', dataDir, '--log-level', 'trace', 'sync', `https://user:${SECRET.password}@${HOST}/media.wav`]);
    const logs = ok.stderr + missing.stderr + withPassword.stderr;
    // The runs did log at trace/debug level, with the URLs in them: redacted, names of the parameters kept.
    expect(logs).toMatch(/"level":(10|20)/);
    expect(logs).toContain(`token=[REDACTED]`);
    expect(logs).toContain('X-Amz-Signature=[REDACTED]');
    expectNoSecret(logs, 'the CLI logs');
  });

  it('serve: bearer keys (right and wrong), query strings and the synced URL never reach its log', async () => {
    const serveDir = mkdtempSync(path.join(os.tmpdir(), 'mi-leaks-serve-'));
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [CLI, '--data-dir', serveDir, '--log-level', 'trace', 'serve', '--port', '0'], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: CERT_FILES.ca, MEDIA_INGEST_CONNECT_TO: routes().join(','), MEDIA_INGEST_API_KEYS: SECRET.apiKey },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const base = await new Promise<string>((resolve, reject) => {
        let out = '';
        child!.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          const line = out.split('\n').find((l) => l.includes('listening'));
          if (line) resolve((JSON.parse(line) as { listening: string }).listening);
        });
        child!.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr.slice(-2000)}`)));
      });
      const auth = { authorization: `Bearer ${SECRET.apiKey}`, 'content-type': 'application/json' };
      const created = await fetch(`${base}/v1/files/sync`, {
        method: 'POST', headers: auth,
        body: JSON.stringify({ url: `https://${HOST}/start.wav?token=${SECRET.token}&rlkey=${SECRET.rlkey}` }),
      });
      expect(created.status).toBeLessThan(300);
      const { id } = (await created.json()) as { id: string };
      const listed = await fetch(`${base}/v1/files?limit=5&api_key=${SECRET.query}`, { headers: auth });
      expect(listed.status).toBe(200);
      const wrong = await fetch(`${base}/v1/files/${id}`, { headers: { authorization: `Bearer ${SECRET.wrongKey}`, cookie: `sid=${SECRET.cookie}` } });
      expect(wrong.status).toBe(401);
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      expect(stderr).toMatch(/"level":(10|20)/);
      expect(stderr).toContain('/v1/files');
      expectNoSecret(stderr, 'the serve logs');
    } finally {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      rmSync(serveDir, { recursive: true, force: true });
    }
  });

  it('the scrubber keeps what helps debugging and removes every secret form', () => {
    expect(scrubText(`GET https://u:${SECRET.password}@h.test/a/b.mp4?sig=${SECRET.signature}&x=1#${SECRET.fragment} done`))
      .toBe('GET https://[REDACTED]@h.test/a/b.mp4?sig=[REDACTED]&x=[REDACTED]#[REDACTED] done');
    expect(scrubText(`Authorization: Bearer ${SECRET.apiKey}`)).not.toContain(SECRET.apiKey);
    expect(scrubText(`curl -H 'Cookie: a=${SECRET.cookie}'`)).not.toContain(SECRET.cookie);
    expect(scrubUrl(`/v1/files?api_key=${SECRET.query}`)).toBe('/v1/files?api_key=[REDACTED]');
  });

  it('a logger from createLogger redacts secret-named fields at any depth, errors and their causes included', () => {
    let out = '';
    const sink = new Writable({ write(chunk: Buffer, _e, done) { out += chunk.toString(); done(); } });
    const logger = createLogger({ level: 'trace', secrets: [SECRET.apiKey], destination: sink });
    logger.child({ url: `https://h.test/x?token=${SECRET.token}` }).trace({
      request: { headers: { authorization: `Bearer ${SECRET.apiKey}`, Cookie: `a=${SECRET.cookie}` } },
      nested: [{ 'set-cookie': [`b=${SECRET.cookie}`] }],
      err: new IngestError('upstream_error', `failed at https://h.test/?rlkey=${SECRET.rlkey}`, { cause: new Error(`key ${SECRET.apiKey}`) }),
    }, `message with https://h.test/?sig=${SECRET.signature}`);
    expect(out).toContain('[REDACTED]');
    expectNoSecret(out, 'a createLogger line');
  });
});

describe('errors shown to callers never contain a resolved or private address', () => {
  const cases: Array<[string, string]> = [
    ['a name resolved to a private address', 'https://private.leak.test/media.wav'],
    ['a routed connection refused', 'https://refused.example.test/media.wav'],
    ['a TLS name mismatch on a routed host', 'https://wrongcert.leak.test/media.wav'],
  ];
  const env = { MEDIA_INGEST_RESOLVE: 'private.leak.test:443:10.9.8.7' };

  it.each(cases)('%s: library, File.error, CLI JSON and API body say what failed, not where', async (_name, url) => {
    // Library.
    const engine = await startEngine({ connectTo: routes(), network: { resolve: [env.MEDIA_INGEST_RESOLVE] }, retry: { attempts: 1 } });
    try {
      let text = '';
      try {
        const file = await engine.ingest.sync(url, { wait: true });
        text = JSON.stringify(file.error ?? file);
      } catch (error) {
        text = JSON.stringify({ message: (error as Error).message, code: (error as IngestError).code });
      }
      expect(text).toMatch(/blocked_address|upstream_error/);
      expect(text).not.toMatch(PRIVATE_ADDRESS);
      // API body.
      const app = createServer({ ingest: engine.ingest, logger: false, allowUnauthenticated: true, webhooks: false });
      const answer = await app.inject({ method: 'POST', url: '/v1/files/sync', payload: { url } });
      expect(answer.body).toMatch(/blocked_address|upstream_error/);
      expect(answer.body).not.toMatch(PRIVATE_ADDRESS);
      await app.close();
    } finally {
      await engine.close();
    }
    // CLI JSON.
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mi-leaks-err-'));
    try {
      const run = await cli(['--data-dir', dataDir, 'sync', url], env);
      expect(run.code).not.toBe(0);
      expect(run.stdout).toMatch(/blocked_address|upstream_error/);
      expect(run.stdout).not.toMatch(PRIVATE_ADDRESS);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('internal failures are generic for callers, detailed in the log', () => {
  it('an internal IngestError keeps its detail for the log only', () => {
    const error = new IngestError('internal', 'EACCES /srv/media/secret-volume at 10.9.8.7');
    expect(error.message).toBe(INTERNAL_MESSAGE);
    expect(error.toJSON()).toEqual({ error: INTERNAL_MESSAGE, code: 'internal' });
    expect(error.detail).toContain('/srv/media/secret-volume');
  });

  it('a file that fails with internal in a real run shows the generic message; the log has the detail', async () => {
    let out = '';
    const sink = new Writable({ write(chunk: Buffer, _e, done) { out += chunk.toString(); done(); } });
    // An impossible thumbnail width is caught inside the thumbnail stage as an internal error.
    const engine = await startEngine({ connectTo: routes(), logger: createLogger({ level: 'debug', destination: sink }), thumbnails: { width: 1 } });
    try {
      const file = await engine.ingest.sync(`https://${HOST}/video.mp4`, { wait: true });
      expect(file.status).toBe('failed');
      expect(file.error).toEqual({ code: 'internal', message: INTERNAL_MESSAGE });
      expect(out).toContain('invalid thumbnail width');
    } finally {
      await engine.close();
    }
  });
});

describe('thumbnail caching', () => {
  it('is private behind auth and public only with publicThumbnails', async () => {
    const engine = await startEngine({ connectTo: routes(), plugins: [directHttp()], thumbnails: { width: 160 } });
    try {
      const file = await engine.ingest.sync(`https://${HOST}/video.mp4`, { wait: true, enableSegmentThumbnails: false });
      expect(file.status).toBe('completed');
      const thumbnail = (await engine.ingest.thumbnails(file.id)).data[0]!;
      const imagePath = new URL(thumbnail.url, 'http://x').pathname;
      const key = 'k-0123456789';
      const behindAuth = createServer({ ingest: engine.ingest, logger: false, apiKeys: [key], webhooks: false });
      const privateAnswer = await behindAuth.inject({ method: 'GET', url: imagePath, headers: { authorization: `Bearer ${key}` } });
      expect(privateAnswer.statusCode).toBe(200);
      expect(privateAnswer.headers['cache-control']).toMatch(/^private\b/);
      await behindAuth.close();
      const open = createServer({ ingest: engine.ingest, logger: false, apiKeys: [key], publicThumbnails: true, webhooks: false });
      const publicAnswer = await open.inject({ method: 'GET', url: imagePath });
      expect(publicAnswer.statusCode).toBe(200);
      expect(publicAnswer.headers['cache-control']).toMatch(/^public\b/);
      await open.close();
    } finally {
      await engine.close();
    }
  });
});
