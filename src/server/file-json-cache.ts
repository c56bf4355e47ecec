/**
 * The serialized File JSON of `GET /v1/files/{id}`, kept per file id and view base (thumbnail URLs depend on the
 * request's origin and mount prefix) while the registry is unchanged. "Unchanged" is the registry's own
 * `Registry.changeVersion`: SQLite's `data_version` (commits of other connections and processes on the data
 * dir) with the adapter's count of its own writes, so any write anywhere empties the cache before the next read.
 * A registry without a change version (Postgres in cluster mode) is never cached.
 */

/** Most entries kept; past it, the oldest go first. */
const MAX_ENTRIES = 1024;

export class FileJsonCache {
  private version: string | undefined;
  private readonly entries = new Map<string, string>();

  /** `changeVersion`: the registry's (`Ingest.changeVersion`); undefined means read through, cache nothing. */
  constructor(private readonly changeVersion: () => string | undefined) {}

  /**
   * The JSON of file `id` viewed from `base`: cached, or `read()` now (then kept under the version seen before the
   * read, unless the registry changed meanwhile). Failures are not cached.
   */
  async json(id: string, base: string, read: () => Promise<string>): Promise<string> {
    const version = this.changeVersion();
    if (version === undefined) return read();
    if (version !== this.version) {
      this.entries.clear();
      this.version = version;
    }
    const key = `${base}\n${id}`;
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    const json = await read();
    if (this.version === version && this.changeVersion() === version) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, json);
    }
    return json;
  }
}
