// Contained yt-dlp (issue 8, item 5), with the real yt-dlp (Debian's 2023.03.04 applies --proxy to http(s) only).
// A page yt-dlp reads through the guarded proxy redirects to ftp://, to another scheme, to a raw internal port or to
// an internal name; a loopback listener that plays an internal FTP server with a secret banner must see NO
// connection, and the caller's error must carry none of its text, nor the internal address or port.
// Each containment layer is checked alone where it can be: the in-process sandbox with the network namespace off,
// and both together ('auto'; the namespace is used where the kernel allows it, e.g. root in CI).
import { chmodSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load-config.js';
import { createYtDlpRunner, findYtDlpBinary, makePrivateDir, networkNamespacePrefix, ytDlpLaunch, ytDlpTrust } from '../../src/ytdlp/index.js';
import type { YtDlpRunner } from '../../src/plugin-api.js';
import { CERT_FILES, connectToFor, ensureCerts, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { requireOptional } from '../support/optional.js';

const binary = findYtDlpBinary('');
const BANNER = 'INTERNAL-FTP-BANNER-5f1e';
const PAGE_HOST = 'page.example.test';

/** A loopback listener standing for an internal service: it records every connection and greets with a secret. */
interface Listener {
  port: number;
  connections: number;
  /** Resolves at the first connection. */
  connected: Promise<void>;
  close(): Promise<void>;
}

async function startListener(): Promise<Listener> {
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  let onFirst!: () => void;
  const connected = new Promise<void>((resolve) => (onFirst = resolve));
  const server = net.createServer((socket) => {
    state.connections += 1;
    onFirst();
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.write(`220 ${BANNER} internal.corp ready\r\n`);
    socket.on('data', () => socket.write(`530 ${BANNER} login incorrect\r\n`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connected,
    get connections() {
      return state.connections;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe.skipIf(!requireOptional('yt-dlp containment', binary ? null : 'yt-dlp is not on PATH', 'apt-get install yt-dlp'))('yt-dlp containment', () => {
  let page: FixtureServer;
  let listener: Listener;
  let locations: Map<string, () => string>;

  beforeAll(async () => {
    page = await startFixtureServer();
    listener = await startListener();
    locations = new Map();
    page.route('GET', /^\/r\//, (_req, res, ctx) => {
      res.writeHead(302, { location: locations.get(ctx.path)!() });
      res.end();
    });
  });

  afterAll(async () => {
    await page?.close();
    await listener?.close();
  });

  beforeEach(() => page.clearRequests());

  function runner(networkNamespace: 'auto' | 'off'): YtDlpRunner {
    const base = defaultConfig();
    const made = createYtDlpRunner(
      { ...base.ytDlp, networkNamespace },
      { ...base.network, connectTo: [connectToFor(page, [PAGE_HOST])], resolve: [`internal.corp.test:${listener.port}:127.0.0.1`] },
      pino({ level: 'silent' }),
    );
    if (!made) throw new Error('yt-dlp runner not created');
    return made;
  }

  const targets: Array<[string, () => string]> = [
    ['ftp:// to a loopback port', () => `ftp://127.0.0.1:${listener.port}/video.mp4`],
    ['ftp:// with credentials to a loopback port', () => `ftp://admin:hunter2@127.0.0.1:${listener.port}/video.mp4`],
    ['ftp:// to an internal name', () => `ftp://internal.corp.test:${listener.port}/video.mp4`],
    ['ftp:// to IPv6 loopback', () => `ftp://[::1]:${listener.port}/video.mp4`],
    ['http:// to a raw internal TCP port', () => `http://127.0.0.1:${listener.port}/video.mp4`],
    ['https:// to a raw internal TCP port', () => `https://127.0.0.1:${listener.port}/video.mp4`],
    ['http:// to an IPv4-mapped loopback', () => `http://[::ffff:127.0.0.1]:${listener.port}/`],
    ['file:// of a local file', () => 'file:///etc/hostname'],
    ['an unknown scheme (gopher)', () => `gopher://127.0.0.1:${listener.port}/1`],
  ];

  for (const mode of ['off', 'auto'] as const) {
    describe(`network namespace ${mode}${mode === 'auto' ? (networkNamespacePrefix() ? ' (available here)' : ' (not available here: sandbox only)') : ' (in-process sandbox alone)'}`, () => {
      it.each(targets)('a redirect to %s: the listener sees no connection and the error has no internal text', async (name, target) => {
        const route = `/r/${mode}/${name.replace(/[^a-z0-9]+/gi, '-')}`;
        locations.set(route, target);
        const before = listener.connections;
        let error: { code?: string; message?: string } | undefined;
        try {
          await runner(mode).extract(`http://${PAGE_HOST}${route}`);
        } catch (thrown) {
          error = thrown as { code?: string; message?: string };
        }
        expect(error, 'the extraction must fail').toBeDefined();
        expect(page.count('GET', route)).toBe(1); // yt-dlp did read the page, through the proxy
        expect(listener.connections - before).toBe(0);
        expect(error!.code).toMatch(/^(blocked_address|unsupported_scheme|unsupported_page_host|upstream_error)$/);
        const text = `${error!.message}`;
        expect(text).not.toContain(BANNER);
        expect(text).not.toContain(String(listener.port));
        expect(text).not.toMatch(/127\.0\.0\.1|::1|::ffff|internal\.corp|hunter2|localhost/);
        expect(text).not.toMatch(/urlopen|Errno|Traceback|ERROR:/);
      });
    });
  }
});

describe('the yt-dlp work directory and CA bundle are private and verified', () => {
  beforeAll(() => ensureCerts());

  it('makes a 0700 directory and a 0600 bundle of the public roots plus the extra CA', () => {
    const dir = makePrivateDir('mi-test-private-');
    try {
      expect(lstatSync(dir).mode & 0o777).toBe(0o700);
      const trust = ytDlpTrust(CERT_FILES.ca, dir);
      const file = trust.env.SSL_CERT_FILE!;
      expect(path.dirname(file)).toBe(dir);
      expect(lstatSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toContain(readFileSync(CERT_FILES.ca, 'utf8').trim());
      expect(() => trust.verify()).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bundle that was changed, replaced by a symlink, or made readable by others', () => {
    const dir = makePrivateDir('mi-test-private-');
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'mi-test-planted-'));
    try {
      const trust = ytDlpTrust(CERT_FILES.ca, dir);
      const file = trust.env.SSL_CERT_FILE!;
      const good = readFileSync(file);
      writeFileSync(file, Buffer.concat([good, Buffer.from('-----BEGIN CERTIFICATE-----\nplanted\n-----END CERTIFICATE-----\n')]));
      expect(() => trust.verify()).toThrow(expect.objectContaining({ code: 'internal' }));
      writeFileSync(file, good);
      expect(() => trust.verify()).not.toThrow();
      chmodSync(file, 0o644);
      expect(() => trust.verify()).toThrow(expect.objectContaining({ code: 'internal' }));
      unlinkSync(file);
      writeFileSync(path.join(elsewhere, 'copy.pem'), good, { mode: 0o600 });
      symlinkSync(path.join(elsewhere, 'copy.pem'), file);
      expect(() => trust.verify()).toThrow(expect.objectContaining({ code: 'internal' }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('never reuses a bundle file that already exists (planted before it is written)', () => {
    const dir = makePrivateDir('mi-test-private-');
    try {
      const first = ytDlpTrust(CERT_FILES.ca, dir).env.SSL_CERT_FILE!;
      expect(() => ytDlpTrust(CERT_FILES.ca, dir)).toThrow();
      expect(lstatSync(first).isFile()).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!binary)('runs the installed yt-dlp as a Python module under the bootstrap (not as its own executable)', () => {
    const launch = ytDlpLaunch(binary!);
    expect(launch?.python).toMatch(/python3?[0-9.]*$/);
    expect(ytDlpLaunch(process.execPath)).toBeUndefined(); // not a Python script: cannot be contained, never run
  });
});

describe('the bootstrap sandbox itself (a stand-in yt_dlp module probes what it may do)', () => {
  const python = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => { try { return lstatSync(p).isFile() || true; } catch { return false; } });

  it.skipIf(!python)('refuses every connection but the proxy, every lookup, every datagram, every program and native HTTP modules', async () => {
    const { execFile } = await import('node:child_process');
    const { YTDLP_BOOTSTRAP } = await import('../../src/ytdlp/sandbox.js');
    const fake = mkdtempSync(path.join(os.tmpdir(), 'mi-test-fake-ytdlp-'));
    const probe = await startListener();
    const proxy = await startListener();
    try {
      const pkg = path.join(fake, 'yt_dlp');
      (await import('node:fs')).mkdirSync(pkg);
      writeFileSync(path.join(pkg, '__init__.py'), `
import json, os, socket, subprocess, sys
def attempt(fn):
    try:
        fn(); return 'allowed'
    except BaseException as e:
        return 'refused' if 'MEDIA_INGEST_SANDBOX_REFUSED' in str(e) or isinstance(e, ImportError) else 'error: ' + repr(e)
def tcp(host, port, family=socket.AF_INET):
    def go():
        s = socket.socket(family, socket.SOCK_STREAM); s.settimeout(3); s.connect((host, port)); s.close()
    return go
def main():
    port = int(sys.argv[1]); other = int(sys.argv[2])
    def udp():
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', other))
    def unix():
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect('/run/docker.sock')
    def ex():
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect_ex(('127.0.0.1', other))
    out = {
        'proxy': attempt(tcp('127.0.0.1', port)),
        'other_port': attempt(tcp('127.0.0.1', other)),
        'connect_ex': attempt(ex),
        'ipv6': attempt(tcp('::1', other, socket.AF_INET6)),
        'unix': attempt(unix),
        'udp': attempt(udp),
        'dns': attempt(lambda: socket.getaddrinfo('example.com', 80)),
        'gethostbyname': attempt(lambda: socket.gethostbyname('localhost')),
        'create_connection': attempt(lambda: socket.create_connection(('localhost', other), 3)),
        'subprocess': attempt(lambda: subprocess.run(['true'])),
        'os_system': attempt(lambda: os.system('true')),
        'posix_spawn': attempt(lambda: os.posix_spawn('/bin/true', ['true'], {})),
        'fork': attempt(lambda: os.fork()),
        'curl_cffi': attempt(lambda: __import__('curl_cffi')),
    }
    print(json.dumps(out))
    return 0
`);
      // Asynchronously: the listeners live in this process and must accept while the interpreter runs.
      const run = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
        execFile(python!, ['-E', '-c', YTDLP_BOOTSTRAP, String(proxy.port), '', fake, '--', String(proxy.port), String(probe.port)], { cwd: fake, encoding: 'utf8', timeout: 20_000 },
          (error, stdout, stderr) => resolve({ stdout, stderr, code: error ? Number((error as { code?: number }).code ?? 1) : 0 }));
      });
      expect(run.code, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout) as Record<string, string>;
      await proxy.connected;
      expect(result).toEqual({
        proxy: 'allowed', other_port: 'refused', connect_ex: 'refused', ipv6: 'refused', unix: 'refused', udp: 'refused',
        dns: 'refused', gethostbyname: 'refused', create_connection: 'refused', subprocess: 'refused', os_system: 'refused',
        posix_spawn: 'refused', fork: 'refused', curl_cffi: 'refused',
      });
      expect(probe.connections).toBe(0);
      expect(proxy.connections).toBe(1);
    } finally {
      await probe.close();
      await proxy.close();
      rmSync(fake, { recursive: true, force: true });
    }
  });
});
