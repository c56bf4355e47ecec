// The guarded proxy yt-dlp talks through (src/net/guarded-proxy.ts), driven by Node's own HTTP client over real
// sockets: it must route and refuse exactly like the guarded client (MEDIA_INGEST_CONNECT_TO, MEDIA_INGEST_RESOLVE,
// the private-address block), for CONNECT tunnels and absolute-form requests alike.
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load-config.js';
import { IngestError } from '../../src/errors.js';
import { GuardedProxy } from '../../src/net/guarded-proxy.js';
import type { GuardedProxyOptions } from '../../src/net/guarded-proxy.js';
import { sendText, startFixtureServer, testCa } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';

let plain: FixtureServer;
let secure: FixtureServer;
const proxies: GuardedProxy[] = [];

function auth(proxy: GuardedProxy): Record<string, string> {
  const url = new URL(proxy.url);
  return url.password ? { 'proxy-authorization': `Basic ${Buffer.from(`${url.username}:${url.password}`).toString('base64')}` } : {};
}

async function start(network: Partial<GuardedProxyOptions['network']> = {}, extra: Partial<GuardedProxyOptions> = {}): Promise<GuardedProxy> {
  const proxy = await GuardedProxy.start({ network: { ...defaultConfig().network, ...network }, ...extra });
  proxies.push(proxy);
  return proxy;
}

/** An absolute-form request through the proxy; resolves with status, a header and the body. */
function viaProxy(proxy: GuardedProxy, url: string, headers: Record<string, string> = auth(proxy)): Promise<{ status: number; code: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, path: url, headers: { host: new URL(url).host, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: res.headers['x-media-ingest-code'] as string | undefined, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A CONNECT through the proxy; resolves with the answer and, on 200, the tunnel socket. */
function connect(proxy: GuardedProxy, target: string, headers: Record<string, string> = auth(proxy)): Promise<{ res: IncomingMessage; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'CONNECT', path: target, headers });
    req.on('connect', (res: IncomingMessage, socket: Socket) => resolve({ res, socket }));
    req.on('error', reject);
    req.end();
  });
}

/** GET over TLS inside a tunnel, verifying `servername` against the test CA. */
function getOverTunnel(socket: Socket, servername: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const secureSocket = tls.connect({ socket, servername, ca: testCa() });
    const req = http.request({ createConnection: () => secureSocket, path, headers: { host: servername } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  plain = await startFixtureServer();
  secure = await startFixtureServer({ https: true });
  for (const server of [plain, secure]) {
    server.route('GET', '/hello', (req, res) => sendText(res, 200, `hello ${req.headers.host} auth=${req.headers['proxy-authorization'] ?? 'none'}`));
  }
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await plain?.close();
  await secure?.close();
});

beforeEach(() => {
  plain.clearRequests();
  secure.clearRequests();
});

describe('guarded proxy', () => {
  it('forwards an absolute-form http request along an operator route, without the proxy credentials', async () => {
    const proxy = await start({ connectTo: [`routed.example.test:80:127.0.0.1:${plain.port}`] });
    const answer = await viaProxy(proxy, 'http://routed.example.test/hello');
    expect(answer).toMatchObject({ status: 200, body: 'hello routed.example.test auth=none' });
    expect(proxy.events).toEqual([{ method: 'GET', target: 'routed.example.test:80', outcome: 'forwarded' }]);
  });

  it('tunnels CONNECT along an operator route, TLS end to end with the real host name', async () => {
    const proxy = await start({ connectTo: [`www.tiktok.com:443:127.0.0.1:${secure.port}`] });
    const { res, socket } = await connect(proxy, 'www.tiktok.com:443');
    expect(res.statusCode).toBe(200);
    const answer = await getOverTunnel(socket, 'www.tiktok.com', '/hello');
    expect(answer).toEqual({ status: 200, body: 'hello www.tiktok.com auth=none' });
    socket.destroy();
    expect(proxy.events[0]).toMatchObject({ method: 'CONNECT', target: 'www.tiktok.com:443', outcome: 'tunnel' });
  });

  it.each([
    ['a loopback literal', () => `127.0.0.1:${plain.port}`],
    ['an IPv4-mapped IPv6 literal', () => `[::ffff:127.0.0.1]:${plain.port}`],
    ['a host resolved to 127.0.0.1 (MEDIA_INGEST_RESOLVE)', () => `rebound.example.test:${plain.port}`],
    ['localhost (DNS answer)', () => `localhost:${plain.port}`],
    ['the cloud metadata address', () => '169.254.169.254:80'],
  ])('refuses CONNECT to %s with 403 blocked_address, and nothing reaches the target', async (_name, target) => {
    const proxy = await start({ resolve: [`rebound.example.test:${plain.port}:127.0.0.1`] });
    const { res, socket } = await connect(proxy, target());
    socket.destroy();
    expect(res.statusCode).toBe(403);
    expect(res.headers['x-media-ingest-code']).toBe('blocked_address');
    expect(proxy.refusals()).toEqual([expect.objectContaining({ method: 'CONNECT', target: target(), code: 'blocked_address' })]);
    expect(plain.requests).toHaveLength(0);
  });

  it.each([
    ['a loopback literal', () => `http://127.0.0.1:${plain.port}/hello`],
    ['a host resolved to 127.0.0.1', () => `http://rebound.example.test:${plain.port}/hello`],
    ['0x7f.1 (normalised by the URL parser)', () => `http://0x7f.1:${plain.port}/hello`],
  ])('refuses an absolute-form request to %s with 403 blocked_address', async (_name, url) => {
    const proxy = await start({ resolve: [`rebound.example.test:${plain.port}:127.0.0.1`] });
    const answer = await viaProxy(proxy, url());
    expect(answer).toMatchObject({ status: 403, code: 'blocked_address' });
    expect(plain.requests).toHaveLength(0);
  });

  it('lets private targets through only when private networks are allowed', async () => {
    const proxy = await start({ allowPrivateNetworks: true });
    const answer = await viaProxy(proxy, `http://127.0.0.1:${plain.port}/hello`);
    expect(answer.status).toBe(200);
  });

  it('requires its token (407) so no other local process can use it', async () => {
    const proxy = await start({ connectTo: [`routed.example.test:80:127.0.0.1:${plain.port}`] });
    expect((await viaProxy(proxy, 'http://routed.example.test/hello', {})).status).toBe(407);
    expect((await viaProxy(proxy, 'http://routed.example.test/hello', { 'proxy-authorization': 'Basic cHJveHk6d3Jvbmc=' })).status).toBe(407);
    const { res, socket } = await connect(proxy, 'routed.example.test:80', {});
    socket.destroy();
    expect(res.statusCode).toBe(407);
    expect(plain.requests).toHaveLength(0);
  });

  it('refuses hosts the caller rules out (YouTube for yt-dlp) before any lookup', async () => {
    const proxy = await start({}, { refuseHost: (host) => (host.endsWith('youtube.com') ? new IngestError('youtube_not_supported', 'no YouTube') : undefined) });
    const { res, socket } = await connect(proxy, 'www.YouTube.com.:443');
    socket.destroy();
    expect(res.statusCode).toBe(403);
    expect(res.headers['x-media-ingest-code']).toBe('youtube_not_supported');
  });

  it('refuses https in absolute form and malformed CONNECT targets', async () => {
    const proxy = await start();
    expect((await viaProxy(proxy, 'https://www.tiktok.com/')).status).toBe(400);
    const { res, socket } = await connect(proxy, 'no-port');
    socket.destroy();
    expect(res.statusCode).toBe(400);
  });

  it('answers 502 when the target refuses the connection, and ends tunnels on close', async () => {
    const proxy = await start({ connectTo: [`down.example.test:443:127.0.0.1:1`, `www.tiktok.com:443:127.0.0.1:${secure.port}`] });
    const down = await connect(proxy, 'down.example.test:443');
    down.socket.destroy();
    expect(down.res.statusCode).toBe(502);
    const open = await connect(proxy, 'www.tiktok.com:443');
    const closed = new Promise<void>((resolve) => open.socket.once('close', () => resolve()));
    await proxy.close();
    await closed;
  });
});
