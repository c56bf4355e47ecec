// The shared set-up of the plugin end-to-end tests: a loopback HTTPS fixture server with the plugin's stand-in
// installed, and a real engine with the built-in plugins whose requests to the stand-in's hosts are routed there.
import { afterAll, beforeAll } from 'vitest';
import type { CreateIngestOptions } from '../../src/index.js';
import { builtinPlugins } from '../../pipeline.config.js';
import { connectToFor, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { startEngine } from '../support/engine.js';
import type { TestEngine } from '../support/engine.js';
import { ensureMedia } from '../support/media.js';

/** What {@link pluginE2e} sets up; filled in by its `beforeAll`. */
export interface PluginE2e<Site> {
  server: FixtureServer;
  site: Site;
  engine: TestEngine;
  /** How many files the engine has. */
  fileCount(): Promise<number>;
}

/**
 * Registers `beforeAll`/`afterAll` hooks that start the stand-in (`install` on an HTTPS fixture server answering for
 * `hosts`) and an engine (built-in plugins, one attempt, 160 px thumbnails, plus `engine` options), and stop both.
 */
export function pluginE2e<Site>(options: {
  install: (server: FixtureServer) => Site;
  hosts: string[];
  engine?: CreateIngestOptions;
}): PluginE2e<Site> {
  const harness = {
    async fileCount() {
      return (await harness.engine.ingest.list({ limit: 100 })).total;
    },
  } as PluginE2e<Site>;
  beforeAll(async () => {
    ensureMedia();
    harness.server = await startFixtureServer({ https: true });
    harness.site = options.install(harness.server);
    harness.engine = await startEngine({
      plugins: builtinPlugins(),
      connectTo: [connectToFor(harness.server, options.hosts)],
      retry: { attempts: 1 },
      thumbnails: { width: 160 },
      ...options.engine,
    });
  });
  afterAll(async () => {
    await harness.engine?.close();
    await harness.server?.close();
  });
  return harness;
}
