import v8 from 'node:v8';
import vm from 'node:vm';

type Collect = (options: { type: 'minor' }) => void;
let collect: Collect | null = null;

/**
 * Lets {@link scavengeYoungGeneration} work in this process: exposes V8's `gc` (a process-wide V8 flag, so only a
 * process that owns its V8 settings calls this: the `media-ingest` CLI does at start; an embedding application may).
 * Without it, scavenges are left to V8.
 */
export function allowYoungGenerationScavenges(): void {
  if (collect) return;
  try {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as Collect;
  } catch {
    collect = null;
  }
}

/**
 * Scavenges V8's young generation when allowed ({@link allowYoungGenerationScavenges}). Each socket read of a
 * download allocates a fresh 64 KiB buffer that dies at once, but V8 only collects them when tens of MiB of such
 * external memory have piled up: that pile was most of a sync's peak RSS beyond start-up. A scavenge of the small
 * young generation costs well under a millisecond, so the download side calls this every few MiB received
 * ({@link PartialWrite}). A no-op otherwise.
 */
export function scavengeYoungGeneration(): void {
  collect?.({ type: 'minor' });
}
