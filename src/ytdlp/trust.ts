/**
 * How yt-dlp is made to trust an extra CA without ever turning verification off: it runs with
 * `--compat-options no-certifi` (so Python's `ssl.load_default_certs` is used instead of the certifi bundle) and
 * `SSL_CERT_FILE` pointing at a bundle made of Node's own root store (`tls.rootCertificates`, the Mozilla roots)
 * plus the extra CA file. The bundle is written once per CA file content, under the OS temp dir.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { IngestError } from '../errors.js';

/** Extra yt-dlp arguments and environment for a trust setting. */
export interface YtDlpTrust {
  args: string[];
  env: Record<string, string>;
}

/**
 * The arguments/environment that make yt-dlp trust `caFile` in addition to the public roots; none when
 * `caFile` is empty. Throws `invalid_request` when the file cannot be read or holds no certificate.
 */
export function ytDlpTrust(caFile: string): YtDlpTrust {
  if (!caFile) return { args: [], env: {} };
  let extra: string;
  try {
    extra = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new IngestError('invalid_request', `ytDlp.caFile ${caFile} cannot be read`, { cause: error });
  }
  if (!extra.includes('-----BEGIN CERTIFICATE-----')) {
    throw new IngestError('invalid_request', `ytDlp.caFile ${caFile} holds no PEM certificate`);
  }
  const bundle = `${tls.rootCertificates.join('\n')}\n${extra}\n`;
  const digest = createHash('sha256').update(bundle).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `media-ingest-ytdlp-ca-${digest}.pem`);
  if (!existsSync(file)) {
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, bundle, { mode: 0o644 });
    renameSync(temp, file);
  }
  return { args: ['--compat-options', 'no-certifi'], env: { SSL_CERT_FILE: file } };
}
