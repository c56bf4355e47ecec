// `media-ingest serve` as a process: the listening line, key enforcement, request logs on stderr, graceful SIGTERM.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDataDir } from '../support/engine.js';

const MAIN = path.resolve('src/cli/main.ts');
const CONFIG = path.resolve('test/support/empty.config.ts');
let dataDir: string;

interface Served {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function serve(args: string[], env: Record<string, string | undefined>, config = CONFIG): Served {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--config', config, '--data-dir', dataDir, 'serve', '--port', '0', ...args], {
    env: { ...process.env, MEDIA_INGEST_API_KEYS: undefined, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function listening(served: Served): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (!served.stdout().includes('\n')) {
    if (Date.now() > deadline || served.child.exitCode !== null) throw new Error(`serve did not start: ${served.stdout()} ${served.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const line = JSON.parse(served.stdout().trim()) as { listening: string };
  expect(served.stdout().trim().split('\n')).toHaveLength(1);
  return line.listening;
}

beforeAll(() => {
  dataDir = tempDataDir('mi-serve-');
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('media-ingest serve', () => {
  it('prints {"listening"}, enforces keys, logs requests on stderr, and exits 0 on SIGTERM', async () => {
    const served = serve(['--host', '127.0.0.1'], { MEDIA_INGEST_API_KEYS: 'k-one, k-two' });
    try {
      const url = await listening(served);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
      expect((await fetch(`${url}/v1/files`)).status).toBe(401);
      const list = await fetch(`${url}/v1/files`, { headers: { authorization: 'Bearer k-two' } });
      expect(await list.json()).toMatchObject({ object: 'list', total: 0 });
      // The request log line is written as the response finishes: wait for it, not for a fixed time.
      const deadline = Date.now() + 10_000;
      while (!served.stderr().includes('"url":"/v1/files"') && Date.now() < deadline) await new Promise((r) => served.child.stderr!.once('data', r));
      expect(served.stderr()).toContain('"url":"/v1/files"');
    } finally {
      served.child.kill('SIGTERM');
    }
    expect(await served.exit).toBe(0);
  });

  it('fails closed without keys (401 everywhere but /healthz, with a warning) unless --no-auth', async () => {
    const closed = serve([], {});
    try {
      const url = await listening(closed);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const answer = await fetch(`${url}/v1/files`, { headers: { authorization: 'Bearer anything' } });
      expect(answer.status).toBe(401);
      expect(await answer.json()).toMatchObject({ code: 'unauthorized' });
      expect(closed.stderr()).toContain('MEDIA_INGEST_API_KEYS');
    } finally {
      closed.child.kill('SIGTERM');
    }
    expect(await closed.exit).toBe(0);

    const open = serve(['--no-auth'], {});
    try {
      const url = await listening(open);
      expect((await fetch(`${url}/v1/files`)).status).toBe(200);
    } finally {
      open.child.kill('SIGINT');
    }
    expect(await open.exit).toBe(0);
  });

  it('rejects a bad port as a usage error', async () => {
    const bad = serve(['--port', 'http'], { MEDIA_INGEST_API_KEYS: 'k' });
    expect(await bad.exit).toBe(2);
    expect(JSON.parse(bad.stdout())).toMatchObject({ code: 'invalid_request' });
  });
});

describe('a data dir shared with a running server', () => {
  it('a library sync of a URL the server is downloading waits for the server to finish it (no second download)', async () => {
    const { startFixtureServer, serveFile, connectToFor } = await import('../support/fixture-server.js');
    const { ensureMedia, mediaPath } = await import('../support/media.js');
    const { startEngine } = await import('../support/engine.js');
    ensureMedia();
    const fixtures = await startFixtureServer();
    fixtures.route('GET', '/shared.mp3', (_req, res) => serveFile(res, mediaPath('sample.mp3'), { dripBytesPerSecond: 40_000 }));
    const route = connectToFor(fixtures, ['shared.example.test']);
    const served = serve([], { MEDIA_INGEST_API_KEYS: 'k', MEDIA_INGEST_CONNECT_TO: route }, path.resolve('test/support/direct-http.config.ts'));
    try {
      const url = await listening(served);
      const posted = await fetch(`${url}/v1/files/sync`, {
        method: 'POST',
        headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'http://shared.example.test/shared.mp3' }),
      });
      const file = (await posted.json()) as { id: string; status: string };
      expect(file.status).toBe('processing');
      const local = await startEngine({ dataDir, recover: false, connectTo: [route] });
      try {
        const done = await local.ingest.sync('http://shared.example.test/shared.mp3', { wait: true });
        expect(done.id).toBe(file.id);
        expect(done.status).toBe('completed');
        expect(fixtures.count('GET', '/shared.mp3')).toBe(1);
      } finally {
        await local.ingest.close();
      }
    } finally {
      served.child.kill('SIGTERM');
      await served.exit;
      await fixtures.close();
    }
  });
});
