import type { Database, Statement } from 'better-sqlite3';

/** Most distinct SQL texts kept prepared per connection (the registry's queries are a small fixed set). */
const MAX_CACHED = 256;

/**
 * Makes `db.prepare` return one prepared statement per SQL text instead of compiling the text on every call,
 * so a registry that writes `db.prepare(sql).get(...)` inline pays the SQLite compile once per connection.
 * Safe for the synchronous `get`/`all`/`run` calls the registry makes (a cached statement is never left
 * mid-iteration); statements die with the connection. `onWriter` runs whenever a statement that writes (not a
 * `reader`) is handed out, i.e. before every write made through `prepare` (transactions included).
 */
export function cacheStatements<T extends Database>(db: T, onWriter?: () => void): T {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Statement>();
  db.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      statement = prepare(source);
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      cache.set(source, statement);
    }
    if (onWriter && !statement.reader) onWriter();
    return statement;
  }) as T['prepare'];
  return db;
}
