// `media-ingest sync` progress on stderr, seen the way a user sees it: the built CLI in a real pseudo-terminal
// (util-linux `script`), downloading from a loopback server that trickles the body in chunks. Each chunk after the
// first is released when the terminal shows the previous one (or after a short pace when the engine's progress
// throttle swallowed it), so the renders follow the body rather than a clock.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, startFixtureServer } from './support/fixture-server.js';
import type { FixtureServer } from './support/fixture-server.js';
import { ensureMedia, mediaPath } from './support/media.js';
import { tempDataDir } from './support/engine.js';
import { requireOptional } from './support/optional.js';
import { progressLine, progressMode } from '../src/cli/progress/index.js';

const MAIN = path.resolve('dist/src/cli/main.js');
const HOST = 'slow.example.test';
const CHUNKS = 8;
const PACE_MS = 300;
const scriptMissing = spawnSync('script', ['--version']).status === 0 ? null : 'util-linux `script` (a pseudo-terminal runner) is not on PATH';

let server: FixtureServer;
let scratch: string;
/** Called with everything the terminal showed so far, after each write. */
let onTerminal: (shown: string) => void = () => undefined;

/** The trickling route: CHUNKS slices of sample.mov, each released by a render of the last one or by the pace. */
function routeSlowFile(routePath: string, watchTerminal: boolean): void {
  const body = readFileSync(mediaPath('sample.mov'));
  server.route('GET', routePath, async (_req, res) => {
    res.writeHead(200, { 'content-type': 'video/quicktime', 'content-length': String(body.length) });
    const size = Math.ceil(body.length / CHUNKS);
    for (let sent = 0; sent < body.length; sent += size) {
      res.write(body.subarray(sent, sent + size));
      const shownKb = ((sent + size) / 1000).toFixed(1);
      await new Promise<void>((release) => {
        const pace = setTimeout(release, PACE_MS);
        if (watchTerminal) {
          onTerminal = (shown) => {
            if (shown.includes(`${shownKb} kB /`)) {
              clearTimeout(pace);
              release();
            }
          };
        }
      });
    }
    res.end();
  });
}

function env(dataDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env, MEDIA_INGEST_DATA_DIR: dataDir, MEDIA_INGEST_CONNECT_TO: connectToFor(server, [HOST]),
    MEDIA_INGEST_CONFIG: undefined, LOG_LEVEL: 'warn', COLUMNS: '120',
  };
}

const quote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;

/** Runs the CLI with stderr on a pseudo-terminal and stdout redirected to a file. */
async function inTerminal(args: string[], dataDir: string): Promise<{ code: number | null; terminal: string; stdout: string }> {
  const out = path.join(scratch, `stdout-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
  const command = `${[process.execPath, MAIN, ...args].map(quote).join(' ')} > ${quote(out)}`;
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { env: env(dataDir), stdio: ['ignore', 'pipe', 'pipe'] });
  let terminal = '';
  child.stdout.on('data', (chunk: Buffer) => {
    terminal += chunk.toString('utf8');
    onTerminal(terminal);
  });
  child.stderr.on('data', (chunk: Buffer) => (terminal += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, terminal, stdout: readFileSync(out, 'utf8') };
}

/** The distinct texts the live line showed (each render starts with `\r` + erase-line). */
function renders(terminal: string): string[] {
  return terminal
    .split('\r')
    .map((part) => part.replace(/\u001b\[2K/g, '').replace(/\n$/, '').trim())
    .filter(Boolean);
}

beforeAll(async () => {
  ensureMedia();
  scratch = mkdtempSync(path.join(tmpdir(), 'mi-progress-'));
  server = await startFixtureServer();
  expect(statSync(MAIN).isFile()).toBe(true);
});

afterAll(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('sync progress, pure parts', () => {
  it('chooses the mode from --quiet, --progress and the TTY', () => {
    expect(progressMode({}, true)).toBe('line');
    expect(progressMode({}, false)).toBe('none');
    expect(progressMode({ progress: 'json' }, false)).toBe('json');
    expect(progressMode({ progress: 'plain', quiet: true }, true)).toBe('none');
  });

  it('renders stage, percent, bytes/total, rate, ETA and retries', () => {
    const line = progressLine({ stage: 'downloading', bytesReceived: 2_500_000, bytesTotal: 10_000_000, rate: 500_000, retries: 2, lastRetryCode: 'upstream_timeout' });
    expect(line).toBe('downloading   25.0%  2.5 MB / 10.0 MB  at 500.0 kB/s  ETA 0:15  retries 2 (upstream_timeout)');
    expect(progressLine({ stage: 'downloading', bytesReceived: 10, bytesTotal: null, rate: null, retries: 0 })).toBe('downloading  10 B  at ?  ETA --:--');
    expect(progressLine({ stage: 'probing', bytesReceived: 1_000_000, bytesTotal: 1_000_000, rate: null, retries: 0 })).toBe('probing      1.0 MB');
  });
});

describe.skipIf(!requireOptional('sync progress in a terminal', scriptMissing, 'apt-get install util-linux'))('sync progress in a pseudo-terminal', () => {
  it('shows one live line on stderr that updates while the body trickles in; stdout holds only the File', async () => {
    routeSlowFile('/slow.mov', true);
    const dataDir = tempDataDir('mi-progress-');
    try {
      const result = await inTerminal(['sync', `http://${HOST}/slow.mov`], dataDir);
      expect(result.code).toBe(0);
      const file = JSON.parse(result.stdout) as { status: string; bytes: number; progress?: unknown };
      expect(file).toMatchObject({ status: 'completed', bytes: statSync(mediaPath('sample.mov')).size });
      expect(result.terminal).not.toContain('"status"');
      const shown = renders(result.terminal);
      // The fixture's size depends on the ffmpeg that made it: the total is read, not assumed (SI kB, one decimal).
      const total = `${(statSync(mediaPath('sample.mov')).size / 1000).toFixed(1).replace('.', '\\.')} kB`;
      const downloading = [...new Set(shown.filter((line) => new RegExp(`^downloading\\s+\\d+\\.\\d%\\s+[\\d.]+ kB / ${total}\\s+at .+ETA`).test(line)))];
      expect(downloading.length, shown.join('\n')).toBeGreaterThanOrEqual(3);
      expect(shown[0]).toBe('resolving');
      expect(shown.some((line) => line.startsWith('probing') || line.startsWith('thumbnails')), shown.join('\n')).toBe(true);
      expect(shown[shown.length - 1]).toMatch(new RegExp(`^completed\\s+${total} in \\d+:\\d\\d`));
      // One line: every render but the closing summary rewrites the same terminal line.
      expect(result.terminal.trim().split('\n')).toHaveLength(1);
    } finally {
      onTerminal = () => undefined;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a refused URL leaves the terminal line clean; stdout holds the error document', async () => {
    server.route('GET', '/gone.mp4', (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('gone');
    });
    const dataDir = tempDataDir('mi-progress-');
    try {
      const result = await inTerminal(['sync', `http://${HOST}/gone.mp4`], dataDir);
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toMatchObject({ code: 'source_not_found' });
      expect(renders(result.terminal)).toEqual(['resolving']);
      expect(result.terminal.endsWith('\r\u001b[2K')).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('--quiet shows nothing on the terminal', async () => {
    routeSlowFile('/quiet.mov', false);
    const dataDir = tempDataDir('mi-progress-');
    try {
      const result = await inTerminal(['sync', '--quiet', `http://${HOST}/quiet.mov`], dataDir);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ status: 'completed' });
      expect(result.terminal).toBe('');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('sync progress off a terminal', () => {
  const run = promisify(execFile);

  it('prints nothing on stderr unless asked; --progress json gives JSON lines of the File progress', async () => {
    routeSlowFile('/piped.mov', false);
    routeSlowFile('/json.mov', false);
    const dataDir = tempDataDir('mi-progress-');
    try {
      const silent = await run(process.execPath, [MAIN, 'sync', `http://${HOST}/piped.mov`], { env: env(dataDir) });
      expect(JSON.parse(silent.stdout)).toMatchObject({ status: 'completed' });
      expect(silent.stderr).toBe('');

      const json = await run(process.execPath, [MAIN, 'sync', '--progress', 'json', `http://${HOST}/json.mov`], { env: env(dataDir) });
      const file = JSON.parse(json.stdout) as { id: string; status: string };
      expect(file.status).toBe('completed');
      const lines = json.stderr.trim().split('\n').map((line) => JSON.parse(line) as { event: string; id: string; status: string; progress?: { stage: string; bytes_received: number; bytes_total: number | null } });
      expect(lines.every((line) => line.id === file.id)).toBe(true);
      const downloading = lines.filter((line) => line.progress?.stage === 'downloading');
      expect(downloading.length).toBeGreaterThanOrEqual(2);
      expect(downloading.every((line) => line.progress!.bytes_total === statSync(mediaPath('sample.mov')).size)).toBe(true);
      const stages = [...new Set(lines.map((line) => line.progress?.stage).filter(Boolean))];
      expect(stages).toEqual(['downloading', 'probing', 'thumbnails']);
      expect(lines[lines.length - 1]).toMatchObject({ event: 'file.completed', status: 'completed' });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
