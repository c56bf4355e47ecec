import { copyFile, link, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ProbeResult } from '../stages/probe.js';
import type { ThumbnailResult } from '../stages/thumbnails.js';

/** Distinct blobs (or blob + settings pairs) remembered; older ones are forgotten first. */
const MAX_ENTRIES = 512;

/**
 * Work derived from a blob's bytes, done once per content in this engine: files whose bytes hash to the same blob
 * (a batch with repeated content, the same media under several URLs) reuse its probe and, with the same thumbnail
 * settings, its thumbnails, hard-linked (or copied) into their own folder, instead of decoding again. Concurrent
 * files of one content wait for the first one's work. A failed computation is forgotten, so the next file tries
 * again itself; reused thumbnails whose source files are gone are simply made again.
 */
export class DerivedWork {
  private readonly probes = new Map<string, Promise<ProbeResult>>();
  private readonly thumbnailSets = new Map<string, Promise<ThumbnailResult[]>>();

  /** The probe of the blob at `blobPath` (content-addressed, so the path names the content). */
  probe(blobPath: string, compute: () => Promise<ProbeResult>): Promise<ProbeResult> {
    return this.remember(this.probes, blobPath, compute);
  }

  /**
   * Thumbnails of the blob at `blobPath` with `settings` (anything that changes the images: times, size, format,
   * quality) in `outputDir`: linked from an earlier file's set when there is one, else made by `compute`.
   */
  async thumbnails(
    blobPath: string, settings: unknown, outputDir: string, compute: () => Promise<ThumbnailResult[]>,
  ): Promise<ThumbnailResult[]> {
    const key = `${blobPath}\n${JSON.stringify(settings)}`;
    const earlier = this.thumbnailSets.get(key);
    if (earlier) {
      const reused = await earlier.then((set) => linkSet(set, outputDir)).catch(() => undefined);
      if (reused) return reused;
    }
    const made = compute();
    this.set(this.thumbnailSets, key, made);
    made.catch(() => {
      if (this.thumbnailSets.get(key) === made) this.thumbnailSets.delete(key);
    });
    return made;
  }

  private remember<T>(map: Map<string, Promise<T>>, key: string, compute: () => Promise<T>): Promise<T> {
    const known = map.get(key);
    // An earlier file's failure (its cancellation, its deadline) is not this file's: it then does the work itself.
    if (known) return known.catch(() => compute());
    const pending = compute();
    this.set(map, key, pending);
    pending.catch(() => {
      if (map.get(key) === pending) map.delete(key);
    });
    return pending;
  }

  private set<T>(map: Map<string, Promise<T>>, key: string, value: Promise<T>): void {
    map.delete(key);
    if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value!);
    map.set(key, value);
  }
}

/** Links (else copies) every image of `set` into `outputDir` under the same name; all or nothing. */
async function linkSet(set: ThumbnailResult[], outputDir: string): Promise<ThumbnailResult[] | undefined> {
  const placed: string[] = [];
  try {
    const results: ThumbnailResult[] = [];
    for (const item of set) {
      const target = path.join(outputDir, path.basename(item.path));
      if (target === item.path) return undefined;
      await link(item.path, target).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') throw error;
        await copyFile(item.path, target);
      });
      placed.push(target);
      results.push({ ...item, path: target });
    }
    return results;
  } catch {
    await Promise.all(placed.map((file) => rm(file, { force: true })));
    return undefined;
  }
}
