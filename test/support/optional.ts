// Optional test dependencies (an external tool, a mount, a service): one rule for every suite that needs one.
// Outside CI a missing dependency skips the suite with one loud line on stderr saying what is missing and how to
// get it; with `CI` set it is a failure, so CI can never hide a suite.

/** True when the `CI` environment variable is set to anything but an empty string, `0` or `false`. */
export const IN_CI = !!process.env.CI && process.env.CI !== '0' && process.env.CI.toLowerCase() !== 'false';

/**
 * Decides whether an optional suite runs. Use as `describe.skipIf(!requireOptional(...))(...)`.
 *
 * @param suite what the suite covers, e.g. `"yt-dlp fallback"`.
 * @param missing `null` when the dependency is there; otherwise what is missing, e.g. `"yt-dlp is not on PATH"`.
 * @param hint how to get it, e.g. `"apt-get install yt-dlp"`.
 * @returns `true` when the suite can run, `false` when it is skipped (outside CI only).
 * @throws Error under CI when the dependency is missing.
 */
export function requireOptional(suite: string, missing: string | null, hint: string): boolean {
  if (missing === null) return true;
  const line = `${suite}: ${missing} (${hint})`;
  if (IN_CI) throw new Error(`REQUIRED under CI, missing: ${line}`);
  process.stderr.write(`\n*** SKIPPED SUITE — ${line}\n`);
  return false;
}
