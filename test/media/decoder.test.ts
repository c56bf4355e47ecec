// The decoder in use: version parsing and the floor, the start-up check (warn or refuse), `media-ingest doctor`,
// and, under CI, that the tests really run against the maintained (system) ffmpeg.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDecoderAtStartup, compareVersions, defaultDecoder, parseVersionOutput, resolveDecoder } from '../../src/media/decoder.js';
import { requireOptional } from '../support/optional.js';

const run = promisify(execFile);
const NPM_FFMPEG = path.resolve('node_modules/@ffmpeg-installer/linux-x64/ffmpeg');

describe('parseVersionOutput and the floor', () => {
  it('reads release numbers, Debian suffixes and dates git snapshots by libavcodec', () => {
    expect(parseVersionOutput('ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026\n')).toEqual({ version: '5.1.9-0+deb12u1', release: '5.1' });
    expect(parseVersionOutput('ffprobe version n7.1 Copyright\n')).toEqual({ version: 'n7.1', release: '7.1' });
    const snapshot = 'ffmpeg version N-47683-g0e8eb07980-static https://johnvansickle.com/ffmpeg/\nlibavutil      56. 24.101\nlibavcodec     58. 42.102 / 58. 42.102\n';
    expect(parseVersionOutput(snapshot)).toEqual({ version: 'N-47683-g0e8eb07980-static', release: '4.1' });
    expect(parseVersionOutput('something else')).toEqual({ version: null, release: null });
    expect(compareVersions('5.1', '5.1')).toBe(0);
    expect(compareVersions('4.4', '5.1')).toBeLessThan(0);
    expect(compareVersions('6.0', '5.1')).toBeGreaterThan(0);
  });
});

describe('the start-up check', () => {
  const settings = (ffmpegPath: string, requireMinVersion: boolean) => ({ ffmpegPath, ffprobePath: '', minVersion: '5.1', requireMinVersion });
  const capture = () => {
    const lines: string[] = [];
    const stream = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    return { lines, logger: pino({ level: 'info' }, stream) };
  };

  it.skipIf(!existsSync(NPM_FFMPEG))('warns loudly about the 2018 npm ffmpeg, and refuses it under requireMinVersion', async () => {
    const { lines, logger } = capture();
    const info = await checkDecoderAtStartup(settings(NPM_FFMPEG, false), logger);
    expect(info.ffmpeg).toMatchObject({ path: NPM_FFMPEG, source: 'configured', release: '4.1', meetsFloor: false });
    expect(lines.join('')).toMatch(/"level":40.*DECODER WARNING: ffmpeg N-47683.*older than the floor 5\.1/);
    await expect(checkDecoderAtStartup(settings(NPM_FFMPEG, true), logger)).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('refuses a configured path that does not exist under requireMinVersion, and names it', async () => {
    const { logger } = capture();
    const missing = path.join(os.tmpdir(), 'no-such-dir', 'ffmpeg');
    await expect(checkDecoderAtStartup(settings(missing, true), logger)).rejects.toThrow(/no-such-dir\/ffmpeg -version failed/);
  });

  it('logs which decoder is in use at info level', async () => {
    const { lines, logger } = capture();
    const info = await checkDecoderAtStartup(settings('', false), logger);
    expect(lines.join('')).toContain(`decoder: ffmpeg ${info.ffmpeg.version}`);
  });
});

// Under CI the maintained decoder is required (CI installs Debian's ffmpeg); elsewhere its absence skips loudly.
const systemMissing = (() => {
  for (const tool of ['ffmpeg', 'ffprobe']) if (!existsSync(`/usr/bin/${tool}`)) return `/usr/bin/${tool} is missing`;
  return null;
})();
describe.skipIf(!requireOptional('maintained decoder', systemMissing, 'apt-get install ffmpeg'))('the maintained decoder', () => {
  it('is what the engine and the tests use by default, at or above the floor', async () => {
    const info = await defaultDecoder();
    expect(info.ffmpeg).toMatchObject({ source: process.env.MEDIA_INGEST_FFMPEG ? 'configured' : 'system', meetsFloor: true });
    expect(info.ffprobe).toMatchObject({ meetsFloor: true });
    expect((await resolveDecoder(settings())).ffmpeg.path).not.toContain('node_modules');
    function settings() {
      return { ffmpegPath: '', ffprobePath: '', minVersion: '5.1', requireMinVersion: false };
    }
  });
});

describe('media-ingest doctor', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'mi-doctor-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  async function doctor(env: Record<string, string>, dir = dataDir): Promise<{ code: number; json: { ok: boolean; checks: Array<Record<string, unknown>> } }> {
    try {
      const { stdout } = await run(process.execPath, ['dist/src/cli/main.js', 'doctor', '--data-dir', dir], { env: { ...process.env, ...env }, timeout: 60_000 });
      return { code: 0, json: JSON.parse(stdout) };
    } catch (error) {
      const failure = error as { code: number; stdout: string };
      return { code: failure.code, json: JSON.parse(failure.stdout) };
    }
  }

  it('reports the decoder versions and paths, process limits, yt-dlp, data dir and registry', async () => {
    const { code, json } = await doctor({});
    expect(code).toBe(0);
    expect(json.ok).toBe(true);
    const byName = Object.fromEntries(json.checks.map((c) => [c.name, c]));
    expect(Object.keys(byName)).toEqual(['ffmpeg', 'ffprobe', 'process limits', 'yt-dlp', 'data dir', 'registry']);
    const decoder = await defaultDecoder();
    expect(byName.ffmpeg).toMatchObject({ status: decoder.ffmpeg.meetsFloor ? 'ok' : 'warn', path: decoder.ffmpeg.path, version: decoder.ffmpeg.version, required: true });
    expect(byName.ffprobe).toMatchObject({ path: decoder.ffprobe.path, version: decoder.ffprobe.version });
    expect(byName['data dir']).toMatchObject({ status: 'ok', path: dataDir });
    expect(byName.registry).toMatchObject({ status: 'ok', files: 0 });
  });

  it('exits 1 when ffmpeg is missing or the data dir is unusable', async () => {
    const missing = await doctor({ MEDIA_INGEST_FFMPEG: path.join(dataDir, 'no-ffmpeg') });
    expect(missing.code).toBe(1);
    expect(missing.json.checks.find((c) => c.name === 'ffmpeg')).toMatchObject({ status: 'fail' });
    const unusable = await doctor({}, '/etc/passwd/data');
    expect(unusable.code).toBe(1);
    expect(unusable.json.checks.find((c) => c.name === 'data dir')).toMatchObject({ status: 'fail' });
  });
});
