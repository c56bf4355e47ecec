import v8 from 'node:v8';
import vm from 'node:vm';

type Collect = (options: { type: 'minor' }) => void;
let collect: Collect | null | undefined;

/**
 * Scavenges V8's young generation. Each socket read of a download allocates a fresh 64 KiB buffer that dies at
 * once, but V8 only collects them when tens of MiB of such external memory have piled up: that pile was most of a
 * sync's peak RSS beyond start-up. A scavenge of the small young generation costs well under a millisecond, so the
 * download side calls this every few MiB received ({@link PartialWrite}). A no-op where `gc` cannot be exposed.
 */
export function scavengeYoungGeneration(): void {
  if (collect === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as Collect;
    } catch {
      collect = null;
    }
  }
  collect?.({ type: 'minor' });
}
