// Role flags of the CLI outside cluster mode: usage errors, one JSON line `{error, code: "invalid_request"}`, exit 2.
// (The roles themselves run against the real services in test/cluster/roles.test.ts.)
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDataDir } from './support/engine.js';

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
