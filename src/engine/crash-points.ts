/**
 * Test-controlled crash points. When `MEDIA_INGEST_TEST_CRASH_AT` is set (read here and nowhere else, once, at
 * start), the process SIGKILLs itself at the named points, so tests can prove that the registry and the blob store
 * survive a kill at that moment. Unset (always, outside tests), every call is a no-op.
 *
 * The value is a list of points separated by `|` or `,`:
 * - `download:<n>%` or `download:<bytes>`: while downloading, once that much of the media was received;
 * - `committed`: the blob is in place but the registry does not know it yet;
 * - `probe`: before ffprobe runs;
 * - `thumbnails`: thumbnails are written to disk but not yet recorded;
 * - `completing`: everything is stored, just before the file is marked completed.
 */

/** The stages a crash point can name. */
export type CrashStage = 'download' | 'committed' | 'probe' | 'thumbnails' | 'completing';

interface CrashRule {
  stage: CrashStage;
  /** For `download`: a fraction of the total (0-1) or a byte count. */
  fraction?: number;
  bytes?: number;
}

const STAGES: ReadonlySet<string> = new Set(['download', 'committed', 'probe', 'thumbnails', 'completing']);

/** Parses a `MEDIA_INGEST_TEST_CRASH_AT` value; unknown entries are ignored. */
export function parseCrashSpec(spec: string | undefined): CrashRule[] {
  if (!spec) return [];
  const rules: CrashRule[] = [];
  for (const entry of spec.split(/[|,]/).map((e) => e.trim()).filter(Boolean)) {
    const [stage, arg] = entry.split(':') as [string, string | undefined];
    if (!STAGES.has(stage)) continue;
    const rule: CrashRule = { stage: stage as CrashStage };
    if (arg?.endsWith('%')) rule.fraction = Number(arg.slice(0, -1)) / 100;
    else if (arg) rule.bytes = Number(arg);
    rules.push(rule);
  }
  return rules;
}

const RULES = parseCrashSpec(process.env.MEDIA_INGEST_TEST_CRASH_AT);

/** True when any crash point is armed (lets hot paths skip the call). */
export const crashPointsArmed = RULES.length > 0;

/** SIGKILLs this process when a rule matches `stage` (and, for downloads, the bytes received so far). */
export function crashPoint(stage: CrashStage, progress?: { received: number; total: number | null }): void {
  if (!crashPointsArmed) return;
  for (const rule of RULES) {
    if (rule.stage !== stage) continue;
    if (rule.fraction !== undefined && !(progress && progress.total && progress.received >= progress.total * rule.fraction)) continue;
    if (rule.bytes !== undefined && !(progress && progress.received >= rule.bytes)) continue;
    process.kill(process.pid, 'SIGKILL');
  }
}
