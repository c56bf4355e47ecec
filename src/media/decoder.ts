/**
 * Which ffmpeg/ffprobe decode untrusted media, and whether they are recent enough.
 *
 * Order, for each binary separately: the configured path (`decoder.ffmpegPath` / `decoder.ffprobePath`, env
 * `MEDIA_INGEST_FFMPEG` / `MEDIA_INGEST_FFPROBE`), else `ffmpeg` / `ffprobe` on PATH or in `/usr/bin` (Debian's
 * security-patched packages), else the npm `@ffmpeg-installer` / `@ffprobe-installer` binaries (a 2018 build: a
 * last resort that logs a loud warning). The version is read from `-version` and compared with a floor
 * (`decoder.minVersion`, default 5.1); below it the engine warns, or refuses to start under
 * `decoder.requireMinVersion`.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { IngestError } from '../errors.js';

/** The decoder part of the configuration (see `DecoderConfig` in define-config.ts for the documented defaults). */
export interface DecoderSettings {
  ffmpegPath: string;
  ffprobePath: string;
  minVersion: string;
  requireMinVersion: boolean;
}

/** Where a binary was found. */
export type DecoderSource = 'configured' | 'system' | 'npm';

/** One resolved binary. */
export interface DecoderBinary {
  /** `ffmpeg` or `ffprobe`. */
  tool: 'ffmpeg' | 'ffprobe';
  path: string;
  source: DecoderSource;
  /** What `-version` printed first, e.g. `5.1.9-0+deb12u1` or `N-47683-g0e8eb07980-static`; null when it did not run. */
  version: string | null;
  /**
   * The FFmpeg release it corresponds to, `major.minor`: from the version when it is a release number, else from
   * the libavcodec version (git snapshots). Null when unknown.
   */
  release: string | null;
  /** True when {@link DecoderBinary.release} is at least the floor. */
  meetsFloor: boolean;
  /** Why it cannot be used, when `-version` failed. */
  error?: string;
}

/** Both binaries and the floor they were checked against. */
export interface DecoderInfo {
  ffmpeg: DecoderBinary;
  ffprobe: DecoderBinary;
  minVersion: string;
}

/** libavcodec (major, minor) of each FFmpeg release, to date git snapshots that print no release number. */
const LIBAVCODEC_RELEASES: ReadonlyArray<readonly [release: string, major: number, minor: number]> = [
  ['3.4', 57, 107], ['4.0', 58, 18], ['4.1', 58, 35], ['4.2', 58, 54], ['4.3', 58, 91], ['4.4', 58, 134],
  ['5.0', 59, 18], ['5.1', 59, 37], ['6.0', 60, 3], ['6.1', 60, 31], ['7.0', 61, 3], ['7.1', 61, 19], ['8.0', 62, 11],
];

/** Parses `ffmpeg -version` / `ffprobe -version` output. Exported for tests. */
export function parseVersionOutput(text: string): { version: string | null; release: string | null } {
  const version = /^\S+ version (\S+)/m.exec(text)?.[1] ?? null;
  const numeric = version ? /^n?(\d+)\.(\d+)(?:\.\d+)?/.exec(version) : null;
  if (numeric) return { version, release: `${Number(numeric[1])}.${Number(numeric[2])}` };
  const codec = /^\s*libavcodec\s+(\d+)\.\s*(\d+)\./m.exec(text);
  if (!codec) return { version, release: null };
  const major = Number(codec[1]);
  const minor = Number(codec[2]);
  let release: string | null = null;
  for (const [name, relMajor, relMinor] of LIBAVCODEC_RELEASES) {
    if (major > relMajor || (major === relMajor && minor >= relMinor)) release = name;
  }
  return { version, release };
}

/** Compares `major.minor[.patch]` strings numerically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `name` on PATH, else in /usr/bin; undefined when neither has it. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function npmBinary(tool: 'ffmpeg' | 'ffprobe'): Promise<string | undefined> {
  try {
    const module = tool === 'ffmpeg'
      ? (await import('@ffmpeg-installer/ffmpeg')).default
      : (await import('@ffprobe-installer/ffprobe')).default;
    return module.path && isExecutable(module.path) ? module.path : undefined;
  } catch {
    return undefined;
  }
}

async function locate(tool: 'ffmpeg' | 'ffprobe', configured: string): Promise<{ path: string; source: DecoderSource } | undefined> {
  const wanted = configured.trim();
  if (wanted) {
    // A configured value is used as given (a bare name is looked up on PATH); it never silently falls back.
    const resolved = wanted.includes(path.sep) ? path.resolve(wanted) : findOnPath(wanted) ?? wanted;
    return { path: resolved, source: 'configured' };
  }
  const system = findOnPath(tool);
  if (system) return { path: system, source: 'system' };
  const npm = await npmBinary(tool);
  return npm ? { path: npm, source: 'npm' } : undefined;
}

/** Runs `<binary> -version` (5 s deadline, 64 KiB of output at most). */
function readVersion(binary: string): Promise<{ text: string } | { error: string }> {
  return new Promise((resolve) => {
    execFile(binary, ['-hide_banner', '-version'], { timeout: 5000, maxBuffer: 64 * 1024, windowsHide: true }, (error, stdout) => {
      if (error && !stdout) resolve({ error: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : error.message.split('\n')[0]! });
      else resolve({ text: stdout });
    });
  });
}

async function inspect(tool: 'ffmpeg' | 'ffprobe', configured: string, minVersion: string): Promise<DecoderBinary> {
  const found = await locate(tool, configured);
  if (!found) {
    return { tool, path: tool, source: 'system', version: null, release: null, meetsFloor: false,
      error: `no ${tool} found (set decoder.${tool}Path, or install the ffmpeg package)` };
  }
  const answer = await readVersion(found.path);
  if ('error' in answer) {
    return { tool, ...found, version: null, release: null, meetsFloor: false, error: `${found.path} -version failed: ${answer.error}` };
  }
  const { version, release } = parseVersionOutput(answer.text);
  return { tool, ...found, version, release, meetsFloor: release !== null && compareVersions(release, minVersion) >= 0 };
}

const cache = new Map<string, Promise<DecoderInfo>>();

/** Finds and version-checks ffmpeg and ffprobe for these settings; memoised per process. */
export function resolveDecoder(settings: DecoderSettings): Promise<DecoderInfo> {
  const key = JSON.stringify([settings.ffmpegPath, settings.ffprobePath, settings.minVersion]);
  let pending = cache.get(key);
  if (!pending) {
    pending = Promise.all([
      inspect('ffmpeg', settings.ffmpegPath, settings.minVersion),
      inspect('ffprobe', settings.ffprobePath, settings.minVersion),
    ]).then(([ffmpeg, ffprobe]) => ({ ffmpeg, ffprobe, minVersion: settings.minVersion }));
    cache.set(key, pending);
  }
  return pending;
}

/** The default settings (nothing configured, floor 5.1). */
export const DEFAULT_DECODER_SETTINGS: Readonly<DecoderSettings> = { ffmpegPath: '', ffprobePath: '', minVersion: '5.1', requireMinVersion: false };

/** The decoder a stage uses when its caller names no binary: the environment's, else the default search. */
export function defaultDecoder(env: NodeJS.ProcessEnv = process.env): Promise<DecoderInfo> {
  return resolveDecoder({
    ...DEFAULT_DECODER_SETTINGS,
    ffmpegPath: env.MEDIA_INGEST_FFMPEG ?? '',
    ffprobePath: env.MEDIA_INGEST_FFPROBE ?? '',
  });
}

/** A one-line description for logs and errors: `ffmpeg 5.1.9-0+deb12u1 (release 5.1) at /usr/bin/ffmpeg [system]`. */
export function describeBinary(binary: DecoderBinary): string {
  if (binary.error) return `${binary.tool}: ${binary.error}`;
  return `${binary.tool} ${binary.version ?? '(unknown version)'} (release ${binary.release ?? 'unknown'}) at ${binary.path} [${binary.source}]`;
}

/** The problems of a resolved decoder: missing binaries and versions under the floor. Empty when all is well. */
export function decoderProblems(info: DecoderInfo): string[] {
  const problems: string[] = [];
  for (const binary of [info.ffmpeg, info.ffprobe]) {
    if (binary.error) problems.push(binary.error);
    else if (!binary.meetsFloor) {
      problems.push(`${describeBinary(binary)} is older than the floor ${info.minVersion}: it decodes untrusted media ` +
        'without years of security fixes; install a current ffmpeg (e.g. Debian\'s) or set decoder.ffmpegPath/ffprobePath');
    }
  }
  return problems;
}

const logged = new Set<string>();

/**
 * The start-up check: logs which decoder is in use (info) and every problem (warn, loudly). With
 * `requireMinVersion`, a decoder under the floor or missing makes it throw `invalid_request` (a configuration
 * problem), so the engine does not start.
 */
export async function checkDecoderAtStartup(settings: DecoderSettings, logger: Logger): Promise<DecoderInfo> {
  const info = await resolveDecoder(settings);
  const problems = decoderProblems(info);
  const key = JSON.stringify(info);
  if (!logged.has(key)) {
    logged.add(key);
    logger.info({ ffmpeg: summary(info.ffmpeg), ffprobe: summary(info.ffprobe), minVersion: info.minVersion },
      `decoder: ${describeBinary(info.ffmpeg)}; ${describeBinary(info.ffprobe)}`);
    for (const problem of problems) logger.warn(`DECODER WARNING: ${problem}`);
  }
  if (settings.requireMinVersion && problems.length > 0) {
    throw new IngestError('invalid_request', `decoder.requireMinVersion is set and the decoder is not acceptable: ${problems.join('; ')}`);
  }
  return info;
}

/** The fields of a binary worth printing (doctor, logs). */
export function summary(binary: DecoderBinary): Record<string, unknown> {
  return {
    path: binary.path, source: binary.source, version: binary.version, release: binary.release,
    meets_floor: binary.meetsFloor, ...(binary.error ? { error: binary.error } : {}),
  };
}
