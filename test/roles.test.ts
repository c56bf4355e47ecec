// Roles outside cluster mode: the CLI's role flags are usage errors (one JSON line `{error, code:
// "invalid_request"}`, exit 2) and so is `createIngest({ role })` with a role other than `all`; file events name
// their run. (The roles themselves run against the real services in test/cluster/roles.test.ts.)
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngest } from '../src/index.js';
import { deliveryIdOf } from '../src/server/index.js';
import type { IngestFile } from '../src/index.js';
import type { FileEventContext } from '../src/index.js';
import { startEngine, tempDataDir } from './support/engine.js';
import { connectToFor, serveFile, startFixtureServer } from './support/fixture-server.js';
import { ensureMedia, mediaPath } from './support/media.js';

const run = promisify(execFile);
const MAIN = path.resolve('dist/src/cli/main.js');
let dataDir: string;

/** This environment without any cluster variable: embedded mode. */
function embeddedEnv(): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^MEDIA_INGEST_(POSTGRES|REDIS|S3)_/.test(key))), MEDIA_INGEST_DATA_DIR: dataDir };
}

async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [MAIN, ...args], { env: embeddedEnv(), timeout: 60_000 });
    return { code: 0, stdout };
  } catch (error) {
    const failure = error as { code: number; stdout: string };
    return { code: failure.code, stdout: failure.stdout };
  }
}

beforeAll(() => {
  dataDir = tempDataDir('mi-cli-roles-');
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('role flags without cluster mode', () => {
  it.each([
    [['serve', '--role', 'api', '--port', '0'], /role api needs cluster mode/],
    [['serve', '--role', 'worker', '--port', '0'], /role worker needs cluster mode/],
    [['worker'], /role worker needs cluster mode.*MEDIA_INGEST_POSTGRES_URL/],
    [['batch', '-', '--role', 'api'], /role api needs cluster mode/],
    [['serve', '--role', 'both', '--port', '0'], /--role must be one of api, worker, all/],
    [['batch', '-', '--role', 'worker'], /--role must be one of all, api/],
  ])('%j is a usage error', async (args, message) => {
    const { code, stdout } = await cli(args as string[]);
    expect(code).toBe(2);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const body = JSON.parse(lines[0]!) as { error: string; code: string };
    expect(body.code).toBe('invalid_request');
    expect(body.error).toMatch(message as RegExp);
  });

  it('serve --role all is the embedded default', async () => {
    const help = await cli(['serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--role <role>.*\(default: "all"\)/s);
  });
});

describe('createIngest({ role })', () => {
  it('refuses roles other than all in embedded mode, and unknown roles', async () => {
    await expect(createIngest({ dataDir, role: 'api', configFile: path.resolve('test/support/empty.config.ts') })).rejects.toMatchObject({
      code: 'invalid_request', message: expect.stringMatching(/role api needs cluster mode/),
    });
    await expect(createIngest({ dataDir, role: 'boss' as never })).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('is all by default; the events of one run name the same run', async () => {
    ensureMedia();
    const server = await startFixtureServer();
    server.route('GET', '/tone.mp3', (_req, res) => serveFile(res, mediaPath('sample.mp3')));
    const engine = await startEngine({ connectTo: [connectToFor(server, ['roles.example.test'])] });
    try {
      expect(engine.ingest.role).toBe('all');
      const runs = new Map<string, string | undefined>();
      for (const event of ['file.processing', 'file.completed'] as const) {
        engine.ingest.on(event, (_file: unknown, context?: FileEventContext) => runs.set(event, context?.run));
      }
      const file = await engine.ingest.sync('http://roles.example.test/tone.mp3', { wait: true });
      expect(file.status).toBe('completed');
      expect(runs.get('file.processing')).toMatch(/^[0-9a-f]{32}$/);
      expect(runs.get('file.completed')).toBe(runs.get('file.processing'));
    } finally {
      await engine.close();
      await server.close();
    }
  });
});

describe('cluster webhook delivery ids', () => {
  const file = { id: 'file-1', status: 'completed' } as unknown as IngestFile;
  it('derive from file id, event type and run: equal on every node, distinct per event and run', () => {
    const id = deliveryIdOf('file.job.completed', file, { run: 'r1' });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(deliveryIdOf('file.job.completed', JSON.parse(JSON.stringify(file)) as IngestFile, { run: 'r1' })).toBe(id);
    expect(deliveryIdOf('file.job.processing', file, { run: 'r1' })).not.toBe(id);
    expect(deliveryIdOf('file.job.completed', file, { run: 'r2' })).not.toBe(id);
    expect(deliveryIdOf('file.job.completed', { ...file, id: 'file-2' }, { run: 'r1' })).not.toBe(id);
    // An event of no run: derived from the File it carries.
    expect(deliveryIdOf('file.job.failed', file)).toBe(deliveryIdOf('file.job.failed', { ...file }));
  });
});
