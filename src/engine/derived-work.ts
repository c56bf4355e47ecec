import type { ProbeResult } from '../stages/probe.js';

/** Distinct contents remembered per kind of work; older ones are forgotten first. */
const MAX_ENTRIES = 512;

/**
 * Work derived from a blob's bytes, done once per content in this engine: files whose bytes hash to the same blob
 * (a batch with repeated content, the same media under several URLs) reuse its probe and its thumbnails instead of
 * decoding again; concurrent files of one content share the first one's run. A failure is never handed on: a failed
 * run is forgotten, an earlier file's failure (its cancellation, its deadline) makes a later file compute for itself,
 * and so does a result that cannot be reused any more (the earlier file's thumbnails were deleted meanwhile).
 */
export class DerivedWork {
  private readonly probes = new ContentMemo<ProbeResult>();

  /** The probe of the blob whose SHA-256 is `sha256`. */
  probe(sha256: string, compute: () => Promise<ProbeResult>): Promise<ProbeResult> {
    return this.probes.use(sha256, compute);
  }
}

/**
 * One result per key, computed once. Later callers get `reuse(earlier)` (the result itself when no `reuse` is given):
 * a stored result that is another file's (thumbnails) is turned into this caller's own, which is then remembered in
 * its place. When the earlier run failed, or reusing it fails, the caller computes for itself and its result is
 * remembered instead.
 */
export class ContentMemo<T> {
  private readonly entries = new Map<string, Promise<T>>();

  async use(key: string, compute: () => Promise<T>, reuse?: (earlier: T) => Promise<T>): Promise<T> {
    const known = this.entries.get(key);
    if (known) {
      const earlier = await known.then((value) => ({ value }), () => undefined);
      if (earlier) {
        if (!reuse) return earlier.value;
        const reused = await reuse(earlier.value).then((value) => ({ value }), () => undefined);
        if (reused) {
          // The newest holder is remembered: the one least likely to be deleted before the next file copies it.
          if (this.entries.get(key) === known) this.entries.set(key, Promise.resolve(reused.value));
          return reused.value;
        }
        if (this.entries.get(key) === known) this.entries.delete(key);
      }
    }
    return this.remember(key, compute());
  }

  /** Forgets `key` when what it remembers has settled to a value `stale` says is no longer true. */
  async forget(key: string, stale: (value: T) => boolean): Promise<void> {
    const known = this.entries.get(key);
    if (!known) return;
    const settled = await known.then((value) => ({ value }), () => undefined);
    if (settled && stale(settled.value) && this.entries.get(key) === known) this.entries.delete(key);
  }

  /** Forgets everything (tests; an engine closing). */
  clear(): void {
    this.entries.clear();
  }

  private remember(key: string, pending: Promise<T>): Promise<T> {
    // A concurrent caller may have started its own run meanwhile: the later one is remembered, both are fine.
    this.entries.delete(key);
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, pending);
    pending.catch(() => {
      if (this.entries.get(key) === pending) this.entries.delete(key);
    });
    return pending;
  }
}
