/**
 * The private working directory of the yt-dlp runner, and how yt-dlp is made to trust an extra CA without ever
 * turning verification off.
 *
 * The directory is made with `mkdtemp` (mode 0700, owned by this process's user) under the OS temp dir: no other
 * local user can create, replace or read anything in it. It holds the CA bundle (mode 0600, created exclusively,
 * so a file planted beforehand makes the creation fail instead of being used), the guarded proxy's Unix sockets
 * and serves as yt-dlp's working and home directory. It is removed when the process exits.
 *
 * yt-dlp runs with `--compat-options no-certifi` (so Python's `ssl.load_default_certs` is used instead of the
 * certifi bundle) and `SSL_CERT_FILE` pointing at a bundle made of Node's own root store (`tls.rootCertificates`,
 * the Mozilla roots) plus the extra CA file. The bundle is checked before every run (a regular file, ours, 0600,
 * the same bytes as written).
 */
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { IngestError } from '../errors.js';

/** Extra yt-dlp arguments and environment for a trust setting. */
export interface YtDlpTrust {
  args: string[];
  env: Record<string, string>;
  /** Throws `internal` when the written bundle is no longer exactly what was written, by us, private. */
  verify(): void;
}

/** True when `file` is a regular file (no symlink) owned by this user with no group/other permission bits. */
function isPrivate(file: string, kind: 'file' | 'dir'): boolean {
  const stat = lstatSync(file);
  const right = kind === 'file' ? stat.isFile() : stat.isDirectory();
  const mine = typeof process.getuid !== 'function' || stat.uid === process.getuid();
  return right && mine && (stat.mode & 0o077) === 0;
}

/** Makes a private directory (0700, ours) under the OS temp dir, removed when the process exits. */
export function makePrivateDir(prefix = 'media-ingest-ytdlp-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o700);
  if (!isPrivate(dir, 'dir')) throw new IngestError('internal', 'The yt-dlp work directory is not private');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Reads and checks `caFile`; throws `invalid_request` when it cannot be read or holds no certificate. */
function readCaFile(caFile: string): string {
  let extra: string;
  try {
    extra = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new IngestError('invalid_request', `ytDlp.caFile ${caFile} cannot be read`, { cause: error });
  }
  if (!extra.includes('-----BEGIN CERTIFICATE-----')) {
    throw new IngestError('invalid_request', `ytDlp.caFile ${caFile} holds no PEM certificate`);
  }
  return extra;
}

/** Checks that `caFile` is usable (see {@link ytDlpTrust}) without writing anything. */
export function checkCaFile(caFile: string): void {
  if (caFile) readCaFile(caFile);
}

/**
 * The arguments/environment that make yt-dlp trust `caFile` in addition to the public roots; none when
 * `caFile` is empty. The bundle is written into `privateDir` (see {@link makePrivateDir}). Throws
 * `invalid_request` when the file cannot be read or holds no certificate.
 */
export function ytDlpTrust(caFile: string, privateDir: string): YtDlpTrust {
  if (!caFile) return { args: [], env: {}, verify: () => undefined };
  const bundle = Buffer.from(`${tls.rootCertificates.join('\n')}\n${readCaFile(caFile)}\n`);
  const digest = createHash('sha256').update(bundle).digest('hex');
  const file = path.join(privateDir, `ca-${digest.slice(0, 16)}.pem`);
  // 'wx': exclusive creation; an existing file (planted or left over) is an error, never reused.
  writeFileSync(file, bundle, { mode: 0o600, flag: 'wx' });
  const verify = (): void => {
    let ok = false;
    try {
      ok = isPrivate(privateDir, 'dir') && isPrivate(file, 'file') &&
        createHash('sha256').update(readFileSync(file)).digest('hex') === digest;
    } catch {
      ok = false;
    }
    if (!ok) throw new IngestError('internal', 'The CA bundle handed to yt-dlp changed or is no longer private; yt-dlp was not run');
  };
  verify();
  return { args: ['--compat-options', 'no-certifi'], env: { SSL_CERT_FILE: file }, verify };
}
