// The public CLI, run as a user runs it: the built bin through `npx media-ingest`, real servers on loopback.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, serveFile, startFixtureServer } from './support/fixture-server.js';
import type { FixtureServer } from './support/fixture-server.js';
import { ensureMedia, mediaPath } from './support/media.js';
import { tempDataDir } from './support/engine.js';

const run = promisify(execFile);
const HOST = 'cli.example.test';
let server: FixtureServer;
let dataDir: string;

interface CliResult {
  code: number;
  json: Record<string, unknown>;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run('npx', ['--no-install', 'media-ingest', ...args], {
      env: { ...process.env, MEDIA_INGEST_DATA_DIR: dataDir, MEDIA_INGEST_CONNECT_TO: connectToFor(server, [HOST]), ...env },
      timeout: 120_000,
    });
    return { code: 0, json: JSON.parse(stdout) as Record<string, unknown>, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, json: JSON.parse(failure.stdout) as Record<string, unknown>, stderr: failure.stderr };
  }
}

beforeAll(async () => {
  ensureMedia();
  dataDir = tempDataDir('mi-cli-');
  server = await startFixtureServer();
  server.route('GET', '/clip.mp4', (_req, res) => serveFile(res, mediaPath('sample.mov')));
});

afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('media-ingest CLI', () => {
  it('sync prints the completed File as JSON and exits 0; get/list/thumbnails/segments read it back', async () => {
    const synced = await cli(['sync', `http://${HOST}/clip.mp4`, '--metadata', '{"k":1}']);
    expect(synced.code).toBe(0);
    expect(synced.json).toMatchObject({ status: 'completed', media_type: 'video', metadata: { k: 1 }, source: 'http' });
    const id = synced.json.id as string;
    expect((await cli(['get', id])).json).toMatchObject({ id, status: 'completed' });
    const list = await cli(['list', '--status', 'completed']);
    expect(list.json).toMatchObject({ object: 'list', total: 1 });
    const thumbs = await cli(['thumbnails', id]);
    expect((thumbs.json.data as unknown[]).length).toBeGreaterThanOrEqual(1);
    expect((await cli(['segments', id])).json).toMatchObject({ object: 'list' });
    expect((await cli(['delete', id])).json).toEqual({ id, object: 'file' });
    const gone = await cli(['get', id]);
    expect(gone.code).toBe(1);
    expect(gone.json).toMatchObject({ code: 'not_found' });
    // Seven whole CLI processes in a row: on a loaded 2-core machine each start can take seconds.
  }, 240_000);

  it.each([
    ['https://www.youtube.com/watch?v=dQw4w9WgXcQ', 'youtube_not_supported'],
    ['s3://bucket/key.mp4', 'connector_required'],
    ['ftp://example.com/a.mp4', 'unsupported_scheme'],
    ['http://127.0.0.1/a.mp4', 'blocked_address'],
  ])('refuses %s with {"error","code"} and exit 1', async (url, code) => {
    const result = await cli(['sync', url]);
    expect(result.code).toBe(1);
    expect(result.json.code).toBe(code);
    expect(typeof result.json.error).toBe('string');
  });

  it.each([
    [['sync']],
    [['list', '--limit', '0']],
    [['list', '--status', 'bogus']],
    [['sync', 'https://example.com/a.mp4', '--metadata', '[1,2]']],
    [['sync', 'https://example.com/a.mp4', '--metadata', '{not json']],
  ])('answers the usage error %j with {"error","code":"invalid_request"} and exit 2', async (args) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.json.code).toBe('invalid_request');
  });

  it('lists the registered plugins with their URL forms', async () => {
    const result = await cli(['plugins']);
    const ids = (result.json.data as Array<{ id: string; url_forms: string[] }>).map((p) => p.id);
    expect(ids).toContain('http');
    expect(ids[ids.length - 1]).toBe('http');
  });
});
