// The private-address block, through the real engine and real sockets on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPublicAddress } from '../src/net/address-guard.js';
import { parseRouting } from '../src/net/routing.js';
import { connectToFor, redirect, serveFile, startFixtureServer } from './support/fixture-server.js';
import type { FixtureServer } from './support/fixture-server.js';
import { ensureMedia, mediaPath } from './support/media.js';
import { startEngine } from './support/engine.js';
import type { TestEngine } from './support/engine.js';

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '0.1.2.3', '224.0.0.1', '255.255.255.255', '192.0.2.1', '198.18.0.1', '240.0.0.1',
    '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1',
    '::127.0.0.1', '64:ff9b::7f00:1', '64:ff9b::a00:1', '2002:7f00:1::1', '2001::1', '2001:0:4136:e378::1', '2001:db8::1',
    'fec0::1', '100::1', 'not-an-ip', '',
  ])('blocks %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e'])('allows %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe('routing tables', () => {
  it('parses connect-to and resolve entries, IPv6 in brackets', () => {
    const table = parseRouting(['a.test:443:127.0.0.1:8443,B.test:80:[::1]:8080'], ['c.test:443:[::1]', 'd.test:80:10.0.0.1']);
    expect(table.connectTo.get('a.test:443')).toEqual({ connectHost: '127.0.0.1', connectPort: 8443 });
    expect(table.connectTo.get('b.test:80')).toEqual({ connectHost: '::1', connectPort: 8080 });
    expect(table.resolve.get('c.test:443')).toBe('::1');
    expect(table.resolve.get('d.test:80')).toBe('10.0.0.1');
  });

  it('rejects malformed entries with a clear error', () => {
    expect(() => parseRouting(['nonsense'], [])).toThrow(/CONNECT_TO/);
    expect(() => parseRouting([], ['a.test:99999:1.2.3.4'])).toThrow(/port/);
  });
});

describe('blocked addresses through the engine', () => {
  let server: FixtureServer;
  let engine: TestEngine;

  beforeAll(async () => {
    ensureMedia();
    server = await startFixtureServer();
    server.route('GET', '/a.mp3', (_req, res) => serveFile(res, mediaPath('sample.mp3')));
    server.route('GET', '/to-loopback', (_req, res) => redirect(res, 302, `http://127.0.0.1:${server.port}/a.mp3`));
    engine = await startEngine({
      connectTo: [connectToFor(server, ['allowed.example.test'])],
      network: { resolve: [`rebound.example.test:${server.port}:127.0.0.1`, `mapped.example.test:${server.port}:[::ffff:127.0.0.1]`] },
    });
  });

  afterAll(async () => {
    await engine?.close();
    await server?.close();
  });

  it.each([
    ['a literal loopback URL', () => `http://127.0.0.1:${server.port}/a.mp3`],
    ['a host resolved to 127.0.0.1 (MEDIA_INGEST_RESOLVE)', () => `http://rebound.example.test:${server.port}/a.mp3`],
    ['a host resolved to ::ffff:127.0.0.1', () => `http://mapped.example.test:${server.port}/a.mp3`],
    ['a redirect from an allowed host to 127.0.0.1', () => 'http://allowed.example.test/to-loopback'],
    ['[::ffff:127.0.0.1]', () => `http://[::ffff:127.0.0.1]:${server.port}/a.mp3`],
    ['http://2130706433/', () => `http://2130706433:${server.port}/a.mp3`],
    ['http://0x7f.1/', () => `http://0x7f.1:${server.port}/a.mp3`],
    ['http://127.1/', () => `http://127.1:${server.port}/a.mp3`],
    ['[::1]', () => `http://[::1]:${server.port}/a.mp3`],
    ['localhost (DNS answer)', () => `http://localhost:${server.port}/a.mp3`],
  ])('refuses %s with blocked_address', async (_name, url) => {
    server.clearRequests();
    await expect(engine.ingest.sync(url())).rejects.toMatchObject({ code: 'blocked_address', httpStatus: 400 });
    expect(server.count('GET', '/a.mp3')).toBe(0);
    expect((await engine.ingest.list()).total).toBe(0);
  });

  it('lets the operator route of MEDIA_INGEST_CONNECT_TO through', async () => {
    server.route('GET', '/ok.mp3', (_req, res) => serveFile(res, mediaPath('sample.mp3')));
    const file = await engine.ingest.sync('http://allowed.example.test/ok.mp3', { wait: true });
    expect(file.status).toBe('completed');
  });

  it('allows private targets only when MEDIA_INGEST_ALLOW_PRIVATE_NETWORKS is on', async () => {
    const open = await startEngine({ network: { allowPrivateNetworks: true } });
    try {
      const file = await open.ingest.sync(`http://127.0.0.1:${server.port}/a.mp3`, { wait: true });
      expect(file.status).toBe('completed');
    } finally {
      await open.close();
    }
  });
});
