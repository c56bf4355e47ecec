/**
 * `media-ingest doctor`: checks what the engine needs on this machine and prints one JSON report on stdout.
 *
 * Checks: ffmpeg and ffprobe (path, where they were found, version against `decoder.minVersion`), the process
 * limits wrapper (`prlimit`), yt-dlp (optional), the data dir (writable) and the registry (opens and answers).
 * Each check is `ok`, `warn` (works, but worth fixing) or `fail`; exit status 1 when a required check fails.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { makeDirs } from '../../store/make-dirs.js';
import path from 'node:path';
import type { Command } from 'commander';
import type { IngestConfig } from '../../config/define-config.js';
import { resolveConfig } from '../../config/load-config.js';
import { toIngestError } from '../../errors.js';
import { describeBinary, resolveDecoder, summary } from '../../media/decoder.js';
import type { DecoderBinary } from '../../media/decoder.js';
import { findPrlimit } from '../../media/run-decoder.js';
import { findYtDlpBinary } from '../../ytdlp/binary.js';
import { configFileFor, openEngine, printJson } from '../shared.js';
import type { GlobalFlags } from '../shared.js';

/** One line of the report. */
export interface DoctorCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  /** A failed required check makes the command exit 1. */
  required: boolean;
  /** What was found, or what is wrong. */
  detail: string;
  [extra: string]: unknown;
}

/** The whole report printed on stdout. */
export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

function decoderCheck(binary: DecoderBinary, config: IngestConfig): DoctorCheck {
  const base = { name: binary.tool, required: true, ...summary(binary) };
  if (binary.error) return { ...base, status: 'fail', detail: binary.error };
  if (!binary.meetsFloor) {
    return {
      ...base, status: config.decoder.requireMinVersion ? 'fail' : 'warn',
      detail: `${describeBinary(binary)} is older than decoder.minVersion ${config.decoder.minVersion}: it decodes untrusted media without current security fixes`,
    };
  }
  return { ...base, status: 'ok', detail: describeBinary(binary) };
}

function versionOf(binary: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: 10_000, maxBuffer: 64 * 1024 }, (error, stdout) => {
      resolve(error ? null : stdout.trim().split('\n')[0] ?? null);
    });
  });
}

async function ytDlpCheck(config: IngestConfig): Promise<DoctorCheck> {
  if (!config.ytDlp.enabled) return { name: 'yt-dlp', status: 'ok', required: false, detail: 'disabled (ytDlp.enabled is false)' };
  const binary = findYtDlpBinary(config.ytDlp.binary);
  if (!binary) {
    return { name: 'yt-dlp', status: 'warn', required: false, path: null, version: null,
      detail: 'not found: the yt-dlp fallback extractor is off (install the yt-dlp package or set ytDlp.binary)' };
  }
  const version = await versionOf(binary, ['--version']);
  return version
    ? { name: 'yt-dlp', status: 'ok', required: false, path: binary, version, detail: `yt-dlp ${version} at ${binary}` }
    : { name: 'yt-dlp', status: 'warn', required: false, path: binary, version: null, detail: `${binary} --version failed` };
}

async function dataDirCheck(config: IngestConfig): Promise<DoctorCheck> {
  const dir = path.resolve(config.dataDir);
  const probe = path.join(dir, `.doctor-${randomBytes(6).toString('hex')}`);
  try {
    await makeDirs(dir);
    await writeFile(probe, 'ok');
    await rm(probe, { force: true });
    return { name: 'data dir', status: 'ok', required: true, path: dir, detail: `${dir} is writable` };
  } catch (error) {
    return { name: 'data dir', status: 'fail', required: true, path: dir,
      detail: `${dir} is not writable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
}

async function registryCheck(flags: GlobalFlags): Promise<DoctorCheck> {
  try {
    const ingest = await openEngine(flags, { recover: false, checkDecoder: false });
    try {
      const files = (await ingest.list({ limit: 1 })).total;
      return { name: 'registry', status: 'ok', required: true, files, detail: `opens; ${files} file(s)` };
    } finally {
      await ingest.close();
    }
  } catch (error) {
    const coded = toIngestError(error);
    return { name: 'registry', status: 'fail', required: true, code: coded.code, detail: `cannot open: ${coded.message}` };
  }
}

/** Runs every check for the configuration the flags select. */
export async function runDoctor(flags: GlobalFlags): Promise<DoctorReport> {
  const configFile = configFileFor(flags);
  const config = await resolveConfig({
    ...(configFile ? { configFile } : {}),
    overrides: flags.dataDir ? { dataDir: flags.dataDir } : {},
  });
  const decoder = await resolveDecoder(config.decoder);
  const prlimit = findPrlimit();
  const checks: DoctorCheck[] = [
    decoderCheck(decoder.ffmpeg, config),
    decoderCheck(decoder.ffprobe, config),
    prlimit
      ? { name: 'process limits', status: 'ok', required: false, path: prlimit,
        detail: `ffmpeg/ffprobe run under ${prlimit}: ${Math.round(config.decoder.processMemoryBytes / 2 ** 20)} MiB address space, ${config.decoder.processCpuSeconds} s CPU, ${Math.round(config.decoder.processOutputBytes / 2 ** 20)} MiB output` }
      : { name: 'process limits', status: 'warn', required: false, path: null,
        detail: 'prlimit (util-linux) not found: ffmpeg/ffprobe run with deadlines only, without memory/CPU/output limits' },
    await ytDlpCheck(config),
    await dataDirCheck(config),
  ];
  // The registry lives in the data dir: only worth opening when the directory is usable.
  if (checks.at(-1)!.status === 'ok') checks.push(await registryCheck(flags));
  return { ok: checks.every((check) => !(check.required && check.status === 'fail')), checks };
}

/** Registers `doctor`. */
export function registerDoctorCommand(program: Command, flags: () => GlobalFlags): void {
  program
    .command('doctor')
    .description('check ffmpeg/ffprobe (versions, paths), process limits, yt-dlp, the data dir and the registry; exit 1 when a required check fails')
    .action(async () => {
      try {
        const report = await runDoctor(flags());
        printJson(report);
        process.exitCode = report.ok ? 0 : 1;
      } catch (thrown) {
        const error = toIngestError(thrown);
        printJson(error.toJSON());
        process.exitCode = error.code === 'invalid_request' ? 2 : 1;
      }
    });
}
