// The ffmpeg/ffprobe the tests and the fixture generator use: the same search as the engine (src/media/decoder.ts):
// MEDIA_INGEST_FFMPEG / MEDIA_INGEST_FFPROBE, else on PATH or in /usr/bin (Debian's maintained packages), else the npm
// @ffmpeg-installer / @ffprobe-installer binaries as a last resort.
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

const require = createRequire(import.meta.url);

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function find(tool, envName, npmPackage) {
  if (process.env[envName]) return process.env[envName];
  for (const dir of [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin']) {
    if (executable(join(dir, tool))) return join(dir, tool);
  }
  try {
    return require(npmPackage).path;
  } catch {
    return tool;
  }
}

/** Path of the ffmpeg the tests use. */
export const testFfmpegPath = find('ffmpeg', 'MEDIA_INGEST_FFMPEG', '@ffmpeg-installer/ffmpeg');
/** Path of the ffprobe the tests use. */
export const testFfprobePath = find('ffprobe', 'MEDIA_INGEST_FFPROBE', '@ffprobe-installer/ffprobe');
