// Generated media fixtures for the stage tests (see make-media.mjs, which `npm test` runs as pretest).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where make-media.mjs writes: fixtures/media/generated/ (git-ignored). */
export const MEDIA_DIR = fileURLToPath(new URL('../../fixtures/media/generated/', import.meta.url));
const MAKE_MEDIA = fileURLToPath(new URL('./make-media.mjs', import.meta.url));

/** The generated fixture file called `name` (e.g. `sample.mp4`). */
export function mediaPath(name: string): string {
  return join(MEDIA_DIR, name);
}

/**
 * Generates any missing fixture (idempotent: about 0.1 s when all exist, a few seconds from scratch). Call it in
 * `beforeAll` so a single test file also runs without `npm test`'s pretest step.
 */
export function ensureMedia(): void {
  execFileSync(process.execPath, [MAKE_MEDIA], { stdio: ['ignore', 'ignore', 'inherit'] });
}
