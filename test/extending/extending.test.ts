// The extension paths of the engine, as a user or host takes them: a third-party plugin for a refused page host
// added with one config line; a plugin bound through an inversify ContainerModule that wins over direct http; and
// the Registry and BlobStore ports rebound to instrumented adapters through which a whole sync runs.
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ContainerModule } from 'inversify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngest, PORTS, TOKENS } from '../../src/index.js';
import type { CreateIngestOptions, SourcePlugin } from '../../src/index.js';
import { FsBlobStore } from '../../src/adapters/local/fs-blob-store.js';
import { SqliteRegistry } from '../../src/adapters/local/sqlite-registry.js';
import { PQueueWorkQueue } from '../../src/adapters/local/pqueue-work-queue.js';
import { EmitterEventBus } from '../../src/adapters/local/emitter-event-bus.js';
import { directHttp } from '../../plugins/direct-http/index.js';
import { connectToFor, sendJson, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { tempDataDir } from '../support/engine.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { recording } from './instrumented-ports.js';

const HOSTS = ['vimeo.com', 'player.vimeo.com', 'vimeo-cdn.example.test', 'module-media.example.test'];
let server: FixtureServer;
const dirs: string[] = [];

beforeAll(async () => {
  ensureMedia();
  server = await startFixtureServer({ https: true });
  server.route('GET', /^\/video\/(\d+)\/config$/, (_req, res, ctx) => {
    sendJson(res, 200, { title: 'Harbour', progressive: [{ url: `https://vimeo-cdn.example.test/${ctx.match![1]}/720p.mp4` }] });
  }, { host: 'player.vimeo.com' });
  server.route('GET', /\.mp4$/, (_req, res) => serveFile(res, mediaPath('sample.mp4'), { contentType: 'video/mp4' }), { host: 'vimeo-cdn.example.test' });
  server.route('GET', /\.mp4$/, (_req, res) => serveFile(res, mediaPath('sample.mp4'), { contentType: 'video/mp4' }), { host: 'module-media.example.test' });
});

afterAll(async () => {
  await server?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function options(extra: CreateIngestOptions): CreateIngestOptions {
  const dataDir = tempDataDir('mi-extend-');
  dirs.push(dataDir);
  return {
    dataDir,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    network: { connectTo: [connectToFor(server, HOSTS)] },
    retry: { attempts: 1 },
    thumbnails: { width: 160, segmentThumbnailsByDefault: false },
    ...extra,
  };
}

describe('a third-party plugin added with one config line', () => {
  it('takes vimeo.com, a page host refused without it, and syncs it to completed', async () => {
    const plain = await createIngest(options({}));
    try {
      await expect(plain.sync('https://vimeo.com/76979871')).rejects.toMatchObject({ code: 'unsupported_page_host' });
    } finally {
      await plain.close();
    }
    const ingest = await createIngest(options({ configFile: path.resolve('test/extending/vimeo.config.ts') }));
    try {
      expect(ingest.plugins().map((p) => p.id)).toEqual(['vimeo', 'dropbox', 'loom', 'tiktok', 'http']);
      const file = await ingest.sync('https://vimeo.com/76979871', { wait: true });
      expect(file).toMatchObject({
        status: 'completed', source: 'vimeo', canonical_url: 'https://vimeo.com/76979871', filename: 'Harbour.mp4', media_type: 'video',
        source_metadata: { source_type: 'vimeo', video_id: '76979871', title: 'Harbour' },
      });
      // Other page hosts are still refused: only the host a plugin takes is let through.
      await expect(ingest.sync('https://streamable.com/abc')).rejects.toMatchObject({ code: 'unsupported_page_host' });
    } finally {
      await ingest.close();
    }
  });
});

describe('a plugin bound through an inversify ContainerModule', () => {
  it('is tried before the direct-http catch-all, even when direct http is listed in the config', async () => {
    const modulePlugin: SourcePlugin = {
      ...directHttp(),
      id: 'module-media',
      description: 'MP4 files of module-media.example.test (bound by a module)',
      catchAll: false,
      matches: (url) => url.hostname === 'module-media.example.test',
    };
    const module = new ContainerModule(({ bind }) => void bind<SourcePlugin>(TOKENS.SourcePlugin).toConstantValue(modulePlugin));
    const ingest = await createIngest(options({ plugins: [directHttp()], builtinPlugins: [], modules: [module] }));
    try {
      expect(ingest.plugins().map((p) => p.id)).toEqual(['module-media', 'http']);
      const file = await ingest.sync('https://module-media.example.test/clip.mp4', { wait: true });
      expect(file).toMatchObject({ status: 'completed', source: 'module-media' });
    } finally {
      await ingest.close();
    }
  });
});

describe('the ports are the only way to storage', () => {
  it('runs a whole sync through instrumented Registry and BlobStore bindings', async () => {
    const portsDir = tempDataDir('mi-ports-');
    dirs.push(portsDir);
    const registry = recording(new SqliteRegistry(path.join(portsDir, 'registry.sqlite')));
    const blobs = recording(new FsBlobStore(portsDir));
    const module = new ContainerModule(({ rebindSync }) => {
      rebindSync(TOKENS.Registry).toConstantValue(registry);
      rebindSync(TOKENS.BlobStore).toConstantValue(blobs);
    });
    const opts = options({ plugins: [directHttp()], builtinPlugins: [], modules: [module], thumbnails: { width: 160, segmentThumbnailsByDefault: true } });
    const ingest = await createIngest(opts);
    try {
      const file = await ingest.sync('https://module-media.example.test/walk.mp4', { wait: true });
      expect(file).toMatchObject({ status: 'completed', media_type: 'video' });
      expect((await ingest.thumbnails(file.id)).total).toBeGreaterThan(1);
      expect(registry.calls).toEqual(expect.arrayContaining(['open', 'findByAlias', 'insertFileOnce', 'addAlias', 'update', 'replaceRenditions', 'release']));
      expect(blobs.calls).toEqual(expect.arrayContaining(['init', 'putBlob', 'localBlobPath', 'putThumbnails']));
      const image = await ingest.thumbnailImage(file.id, (await ingest.thumbnails(file.id)).data[0]!.id);
      image.body.destroy();
      expect(blobs.calls).toContain('openThumbnail');
    } finally {
      await ingest.close();
    }
    expect(registry.calls).toContain('close');
    // Nothing reached the data dir but the spool: the registry, blobs and thumbnails are where the adapters put them.
    expect(readdirSync(opts.dataDir!).sort()).toEqual(['tmp']);
    expect(readdirSync(path.join(opts.dataDir!, 'tmp'))).toEqual([]);
    expect(readdirSync(portsDir).sort()).toEqual(expect.arrayContaining(['blobs', 'registry.sqlite', 'thumbnails']));
  });
});

describe('a second ports module', () => {
  it('replaces the local one (config.portsModule) without touching the engine', async () => {
    const portsDir = tempDataDir('mi-ports-module-');
    dirs.push(portsDir);
    const bound: string[] = [];
    const portsModule = new ContainerModule(({ bind }) => {
      bind(PORTS.Registry).toDynamicValue(() => (bound.push('Registry'), new SqliteRegistry(path.join(portsDir, 'other.sqlite')))).inSingletonScope();
      bind(PORTS.BlobStore).toDynamicValue(() => (bound.push('BlobStore'), new FsBlobStore(portsDir))).inSingletonScope();
      bind(PORTS.WorkQueue).toDynamicValue(() => (bound.push('WorkQueue'), new PQueueWorkQueue({ network: 2, perHost: 1, cpu: 1 }))).inSingletonScope();
      bind(PORTS.EventBus).toDynamicValue(() => (bound.push('EventBus'), new EmitterEventBus())).inSingletonScope();
    });
    const opts = options({ plugins: [directHttp()], builtinPlugins: [], portsModule });
    const ingest = await createIngest(opts);
    try {
      const file = await ingest.sync('https://module-media.example.test/other.mp4', { wait: true });
      expect(file.status).toBe('completed');
    } finally {
      await ingest.close();
    }
    expect(bound.sort()).toEqual(['BlobStore', 'EventBus', 'Registry', 'WorkQueue']);
    expect(readdirSync(portsDir)).toEqual(expect.arrayContaining(['other.sqlite', 'blobs']));
    expect(readdirSync(opts.dataDir!).sort()).toEqual(['tmp']);
  });
});

