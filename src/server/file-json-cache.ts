/**
 * Serialized answers of the hot read routes, kept per key and view base (thumbnail URLs depend on the request's
 * origin and mount prefix) while the registry is unchanged: `GET /v1/files/{id}` (every answer) and the idempotent
 * re-sync `POST /v1/files/sync` (only answers the route says may be kept). "Unchanged" is the registry's own
 * `Registry.changeVersion`: SQLite's `data_version` (commits of other connections and processes on the data dir)
 * with the adapter's count of its own writes, so any write anywhere empties the cache before the next read. A
 * registry without a change version (Postgres in cluster mode) is never cached.
 */

/** Most entries kept; past it, the oldest go first. */
const MAX_ENTRIES = 1024;

/** A kept answer: its JSON and what the route keeps beside it. */
interface Kept {
  json: string;
  extra?: unknown;
}

export class FileJsonCache {
  private version: string | undefined;
  private readonly entries = new Map<string, Kept>();

  /** `changeVersion`: the registry's (`Ingest.changeVersion`); undefined means read through, cache nothing. */
  constructor(private readonly changeVersion: () => string | undefined) {}

  /**
   * The JSON of file `id` viewed from `base`: cached, or `read()` now (then kept under the version seen before the
   * read, unless the registry changed meanwhile). Failures are not cached.
   */
  async json(id: string, base: string, read: () => Promise<string>): Promise<string> {
    return (await this.answer(`file\n${id}`, base, async () => ({ json: await read(), keep: true }))).json;
  }

  /**
   * Like {@link json} for any answer under `key`: `read()` says whether its answer may be kept (`keep`), and what
   * it carries besides the JSON (`extra`) comes back with a kept one; `hit` tells a kept answer from a fresh one.
   */
  async answer<E>(key: string, base: string, read: () => Promise<{ json: string; keep: boolean; extra?: E }>): Promise<{ json: string; extra?: E; hit: boolean }> {
    const version = this.changeVersion();
    if (version === undefined) return { ...(await read()), hit: false };
    if (version !== this.version) {
      this.entries.clear();
      this.version = version;
    }
    const entryKey = `${base}\n${key}`;
    const kept = this.entries.get(entryKey);
    if (kept !== undefined) return { json: kept.json, extra: kept.extra as E, hit: true };
    const fresh = await read();
    if (fresh.keep && this.version === version && this.changeVersion() === version) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(entryKey, { json: fresh.json, extra: fresh.extra });
    }
    return { json: fresh.json, extra: fresh.extra, hit: false };
  }
}
