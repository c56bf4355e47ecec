// The third-party plugin example (examples/third-party-plugin/) loaded the way a user loads it: through its own
// pipeline.config.ts given to createIngest({ configFile }), with no change to src/. It must sync a URL of its own
// to completed, and still leave the built-ins working.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngest } from '../../src/index.js';
import type { Ingest } from '../../src/engine/ingest.js';
import { connectToFor, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia } from '../support/media.js';
import { REPO_ROOT } from './contract.js';
import { EXAMPLE_VOD_HOSTS, EXAMPLE_VOD_VIDEOS, installExampleVod } from '../../examples/third-party-plugin/test/site.js';

const CONFIG = path.join(REPO_ROOT, 'examples/third-party-plugin/pipeline.config.ts');
let server: FixtureServer;
let ingest: Ingest;
let dataDir: string;

beforeAll(async () => {
  ensureMedia();
  server = await startFixtureServer({ https: true });
  installExampleVod(server);
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'mi-example-'));
  ingest = await createIngest({
    configFile: CONFIG,
    dataDir,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    network: { connectTo: [connectToFor(server, EXAMPLE_VOD_HOSTS)] },
    retry: { attempts: 1 },
    thumbnails: { width: 160 },
  });
});

afterAll(async () => {
  await ingest?.close();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('third-party plugin example', () => {
  it('is registered from its config file, before the built-ins', () => {
    const plugins = ingest.plugins();
    expect(plugins.map((p) => p.id)).toEqual(['example-vod', 'dropbox', 'loom', 'tiktok', 'http']);
    expect(plugins[0]!.url_forms.length).toBeGreaterThan(0);
  });

  it('syncs a URL of its own to completed', async () => {
    const url = `https://vod.example.test/watch/${EXAMPLE_VOD_VIDEOS.ready.id}`;
    const file = await ingest.sync(url, { wait: true });
    expect(file).toMatchObject({
      status: 'completed', source: 'example-vod', media_type: 'video', canonical_url: url, filename: 'Harbour timelapse.mp4',
      source_metadata: { source_type: 'example-vod', video_id: 'ev12345', title: 'Harbour timelapse', channel: 'Example Channel', duration_seconds: 45 },
    });
    expect(file.media_info).toMatchObject({ width: 320, height: 240, has_audio: true });
    const again = await ingest.sync(`https://vod.example.test/embed/${EXAMPLE_VOD_VIDEOS.ready.id}?autoplay=1`);
    expect(again.id).toBe(file.id);
    expect(server.count('GET', /\.m3u8$/)).toBe(0);
  });

  it.each([
    ['a private video', EXAMPLE_VOD_VIDEOS.private.id, 'source_forbidden'],
    ['an unknown video', EXAMPLE_VOD_VIDEOS.missing.id, 'source_not_found'],
    ['an HLS-only video', EXAMPLE_VOD_VIDEOS.hlsOnly.id, 'unsupported_media_type'],
    ['a video still processing', EXAMPLE_VOD_VIDEOS.processing.id, 'upstream_error'],
  ])('maps %s to %s with no file', async (_name, id, code) => {
    const before = (await ingest.list({ limit: 100 })).total;
    await expect(ingest.sync(`https://vod.example.test/watch/${id}`)).rejects.toMatchObject({ code });
    expect((await ingest.list({ limit: 100 })).total).toBe(before);
  });

  it('type-checks on its own (the documented example cannot rot)', () => {
    const tsc = path.join(REPO_ROOT, 'node_modules/.bin/tsc');
    expect(() => execFileSync(tsc, ['-p', path.join(REPO_ROOT, 'examples/third-party-plugin/tsconfig.json')], { stdio: 'pipe' })).not.toThrow();
  });
});
