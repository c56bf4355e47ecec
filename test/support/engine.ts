// Builds a real engine for tests: a temp data dir, real SQLite, the given plugins, hosts routed to loopback.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createIngest } from '../../src/index.js';
import type { CreateIngestOptions } from '../../src/index.js';
import type { Ingest } from '../../src/engine/ingest.js';
import { directHttp } from '../../plugins/direct-http/index.js';

export interface TestEngine {
  ingest: Ingest;
  dataDir: string;
  close(): Promise<void>;
}

/** A fresh data dir under the OS temp dir. */
export function tempDataDir(prefix = 'mi-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * An engine over a fresh data dir. `connectTo` routes hosts to fixture servers; every other option passes through.
 * No config file is loaded: the plugins are exactly `options.plugins` (default: direct http only).
 */
export async function startEngine(options: CreateIngestOptions & { connectTo?: string[] } = {}): Promise<TestEngine> {
  const dataDir = options.dataDir ?? tempDataDir();
  const { connectTo = [], ...rest } = options;
  const ingest = await createIngest({
    configFile: path.resolve('test/support/empty.config.ts'),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    plugins: [directHttp()],
    ...rest,
    dataDir,
    network: { ...(rest.network ?? {}), connectTo: [...connectTo, ...(rest.network?.connectTo ?? [])] },
  });
  return {
    ingest,
    dataDir,
    async close() {
      await ingest.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
