import type { ProbeResult } from '../stages/probe.js';

/** Distinct blobs remembered; older ones are forgotten first. */
const MAX_ENTRIES = 512;

/**
 * Work derived from a blob's bytes, done once per content in this engine: files whose bytes hash to the same blob
 * (a batch with repeated content, the same media under several URLs) reuse its probe instead of running ffprobe
 * again; concurrent files of one content share the first one's run. A failed probe is forgotten, and an earlier
 * file's failure (its cancellation, its deadline) makes a later file probe for itself.
 */
export class DerivedWork {
  private readonly probes = new Map<string, Promise<ProbeResult>>();

  /** The probe of the blob at `blobPath` (content-addressed, so the path names the content). */
  probe(blobPath: string, compute: () => Promise<ProbeResult>): Promise<ProbeResult> {
    const known = this.probes.get(blobPath);
    if (known) return known.catch(() => compute());
    const pending = compute();
    if (this.probes.size >= MAX_ENTRIES) this.probes.delete(this.probes.keys().next().value!);
    this.probes.set(blobPath, pending);
    pending.catch(() => {
      if (this.probes.get(blobPath) === pending) this.probes.delete(blobPath);
    });
    return pending;
  }
}
