/**
 * Finding the yt-dlp binary: the configured path, else `yt-dlp` on PATH. Nothing is ever downloaded
 * (no download helper is used): install the Debian `yt-dlp` package or
 * `pip install yt-dlp`.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The yt-dlp executable to run: `configured` when it is set (a path, or a bare name looked up on PATH), else
 * `yt-dlp` on PATH. Undefined when none is found.
 */
export function findYtDlpBinary(configured: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const wanted = configured.trim() || 'yt-dlp';
  if (wanted.includes(path.sep)) return isExecutable(path.resolve(wanted)) ? path.resolve(wanted) : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, wanted);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}
