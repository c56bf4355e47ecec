import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { makeDirsSync } from '../../store/make-dirs.js';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { IngestError } from '../../errors.js';
import type {
  FileListQuery, FilePatch, FileRow, FileStatus, InsertOutcome, Registry, RunClaim, RunToken, SegmentRow, StartClaim, ThumbnailRow, UserPatch,
} from '../../ports/registry.js';
import { isStorageFault, mapStorageError } from '../../store/storage-errors.js';
import { MIGRATIONS } from './sqlite-migrations.js';
import { cacheStatements } from '../../store/statement-cache.js';
import { FILE_COLUMNS, THUMBNAIL_COLUMNS, WITH_DEFAULT_THUMBNAIL, fileObject, selectList, thumbnailObject } from './sqlite-rows.js';

const FILES = selectList(FILE_COLUMNS, 'f');
const THUMBNAILS = selectList(THUMBNAIL_COLUMNS, 't');
/** `SELECT` list of a file joined with its default thumbnail ({@link WITH_DEFAULT_THUMBNAIL}). */
const FILE_AND_THUMBNAIL = `${FILES}, ${THUMBNAILS}`;
const JSON_COLUMNS = ['metadata', 'media_info', 'source_metadata', 'resume_state'] as const;

/** A `files` row as better-sqlite3 returns it (a fresh object per call, decoded in place). */
function decodeRow(raw: Record<string, unknown> | undefined): FileRow | undefined {
  if (!raw) return undefined;
  const row = raw;
  for (const column of JSON_COLUMNS) row[column] = row[column] === null ? null : JSON.parse(row[column] as string);
  row.enable_segment_thumbnails = row.enable_segment_thumbnails === 1;
  return row as unknown as FileRow;
}

function encodeValue(column: string, value: unknown): unknown {
  if ((JSON_COLUMNS as readonly string[]).includes(column)) return value === null || value === undefined ? null : JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/** SQLite failures of the data dir (full, read-only) as `storage_error`; everything else unchanged. */
function storage<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(isStorageFault(error) ? mapStorageError(error, 'the registry') : error);
  }
}

/** How a {@link SqliteRegistry} opens its file. */
export interface SqliteRegistryOptions {
  /**
   * For reads only (the CLI's `get`, `list`, `thumbnails`, `segments`): the file is opened read-only and nothing is
   * created; a missing file reads as an empty registry. Writes are refused (`storage_error`). @default false
   */
  readOnly?: boolean;
}

/**
 * Brings a connection's schema to the latest migration, each step in its own write transaction that re-reads the
 * version under the write lock: several processes opening a new data dir at once apply each step exactly once.
 */
function migrate(db: SqliteDatabase): void {
  const step = db.transaction((): boolean => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version >= MIGRATIONS.length) return false;
    db.exec(MIGRATIONS[version]!);
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  while ((db.pragma('user_version', { simple: true }) as number) < MIGRATIONS.length && step.immediate()) { /* next step */ }
}

/**
 * The local {@link Registry}: SQLite (better-sqlite3, WAL) under the data dir, shared safely by the processes on
 * one machine. `identity_hash` is unique, which is what makes syncs idempotent across processes too; run tokens
 * are random UUIDs compared in the `WHERE` of every fenced write.
 */
export class SqliteRegistry implements Registry {
  private db: SqliteDatabase | undefined;
  /** Writes this process has begun through the connection (see `cacheStatements`): joined reads go stale on the next. */
  private writes = 0;
  private readonly countWrite = (): void => void this.writes++;
  /** The default thumbnail read with a row by {@link fileAndThumbnailWhere}, and the write count then. */
  private readonly joinedThumbnails = new WeakMap<FileRow, { thumbnail: ThumbnailRow | null; writes: number }>();

  constructor(
    private readonly file: string,
    private readonly options: SqliteRegistryOptions = {},
  ) {}

  open(): Promise<void> {
    return storage(() => {
      if (!this.db) this.db = this.options.readOnly ? this.openForReading() : this.openForWriting();
    });
  }

  /** Creates the file (and its directory) when missing, sets WAL and migrates the schema. */
  private openForWriting(): SqliteDatabase {
    makeDirsSync(path.dirname(this.file));
    const db = cacheStatements(new Database(this.file), this.countWrite);
    try {
      db.pragma('busy_timeout = 5000'); // first: switching to WAL and migrating wait for other openers
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return db;
  }

  /**
   * Opens the file read-only; a missing file reads as an empty registry (an in-memory one, nothing created) and a
   * file of an older schema is opened for writing once, to be migrated as any start would.
   */
  private openForReading(): SqliteDatabase {
    if (!existsSync(this.file)) {
      const empty = cacheStatements(new Database(':memory:'));
      migrate(empty);
      empty.pragma('query_only = ON');
      return empty;
    }
    const db = cacheStatements(new Database(this.file, { readonly: true, fileMustExist: true }));
    try {
      db.pragma('busy_timeout = 5000');
      if ((db.pragma('user_version', { simple: true }) as number) >= MIGRATIONS.length) return db;
    } catch (error) {
      db.close();
      throw error;
    }
    db.close();
    return this.openForWriting();
  }

  async close(): Promise<void> {
    if (this.db?.open) this.db.close();
  }

  private get sql(): SqliteDatabase {
    if (!this.db?.open) throw new IngestError('cancelled', 'The registry is closed');
    return this.db;
  }

  private row(id: string): FileRow | undefined {
    return this.fileWhere(`SELECT ${FILES} FROM files f WHERE f.id = ?`, id);
  }

  /** The one file a hot read selects (raw row → object, see sqlite-rows.ts). */
  private fileWhere(sql: string, key: string): FileRow | undefined {
    const values = this.sql.prepare(sql).raw(true).get(key) as unknown[] | undefined;
    return values ? decodeRow(fileObject(values)) : undefined;
  }

  /** Like {@link fileWhere}, with the file's default thumbnail read in the same statement (see {@link defaultThumbnailOf}). */
  private fileAndThumbnailWhere(from: string, where: string, key: string): FileRow | undefined {
    const values = this.sql.prepare(`SELECT ${FILE_AND_THUMBNAIL} FROM ${from} ${WITH_DEFAULT_THUMBNAIL} WHERE ${where}`).raw(true).get(key) as unknown[] | undefined;
    if (!values) return undefined;
    const row = decodeRow(fileObject(values))!;
    const thumbnail = values[FILE_COLUMNS.length] === null ? null : thumbnailObject(values.slice(FILE_COLUMNS.length));
    if (thumbnail) thumbnail.is_default = true;
    this.joinedThumbnails.set(row, { thumbnail: thumbnail as ThumbnailRow | null, writes: this.writes });
    return row;
  }

  getFile(id: string): Promise<FileRow | undefined> {
    return storage(() => this.fileAndThumbnailWhere('files f', 'f.id = ?', id));
  }

  findByIdentity(identityHash: string): Promise<FileRow | undefined> {
    return storage(() => this.fileWhere(`SELECT ${FILES} FROM files f WHERE f.identity_hash = ?`, identityHash));
  }

  findByAlias(urlHash: string): Promise<FileRow | undefined> {
    return storage(() => this.fileAndThumbnailWhere('aliases a JOIN files f ON f.id = a.file_id', 'a.url_hash = ?', urlHash));
  }

  changeVersion(): string | undefined {
    if (!this.db?.open) return undefined;
    try {
      // data_version moves on commits of other connections (this or another process); `writes` on this one's own.
      return `${this.db.prepare('PRAGMA data_version').pluck(true).get() as number}:${this.writes}`;
    } catch {
      return undefined; // nothing cached; the read itself reports the fault
    }
  }

  defaultThumbnailOf(row: FileRow): ThumbnailRow | null | undefined {
    const joined = this.joinedThumbnails.get(row);
    return joined && joined.writes === this.writes ? joined.thumbnail : undefined;
  }

  insertFileOnce(row: FileRow): Promise<InsertOutcome> {
    return storage(() => {
      const token = randomUUID() as RunToken;
      const values = { ...row, run_token: token } as unknown as Record<string, unknown>;
      const columns = Object.keys(values);
      const sql = `INSERT INTO files (${columns.join(',')}) VALUES (${columns.map(() => '?').join(',')}) ON CONFLICT(identity_hash) DO NOTHING`;
      const result = this.sql.prepare(sql).run(...columns.map((c) => encodeValue(c, values[c])));
      const stored = decodeRow(this.sql.prepare('SELECT * FROM files WHERE identity_hash = ?').get(row.identity_hash) as Record<string, unknown> | undefined);
      if (!stored) throw new IngestError('internal', `The file of identity ${row.identity_hash} vanished while it was inserted`);
      return result.changes === 1 ? { created: true, row: stored, token } : { created: false, row: stored };
    });
  }

  addAlias(urlHash: string, fileId: string, url: string): Promise<void> {
    return storage(() => void this.sql.prepare('INSERT OR IGNORE INTO aliases (url_hash, file_id, url) VALUES (?, ?, ?)').run(urlHash, fileId, url));
  }

  claimStart(key: string, holder: string, leaseMs: number): Promise<StartClaim> {
    return storage(() => {
      const now = Date.now();
      const taken = this.sql.prepare(
        `INSERT INTO start_claims (key, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE
         SET holder = excluded.holder, expires_at = excluded.expires_at WHERE start_claims.holder = excluded.holder OR start_claims.expires_at < ?`,
      ).run(key, holder, now + leaseMs, now).changes === 1;
      if (taken) return { held: true };
      const other = this.sql.prepare('SELECT holder FROM start_claims WHERE key = ?').get(key) as { holder: string } | undefined;
      return { held: false, holder: other?.holder };
    });
  }

  releaseStart(key: string, holder: string): Promise<void> {
    return storage(() => void this.sql.prepare('DELETE FROM start_claims WHERE key = ? AND holder = ?').run(key, holder));
  }

  claim(fileId: string, owner: string, patch: FilePatch = {}, expected?: RunToken | null): Promise<RunClaim | undefined> {
    return storage(() => {
      const token = randomUUID() as RunToken;
      const fenced = expected === undefined ? '' : expected === null ? ' AND run_token IS NULL' : ' AND run_token = ?';
      const changed = this.write(fileId, { ...patch, owner, run_token: token }, fenced, expected ?? undefined);
      if (changed) return { row: this.row(fileId)!, token };
      if (!this.row(fileId)) throw new IngestError('not_found', `No file with id ${fileId}`);
      return undefined;
    });
  }

  update(fileId: string, token: RunToken, patch: FilePatch): Promise<FileRow> {
    return storage(() => this.fencedWrite(fileId, token, patch));
  }

  release(fileId: string, token: RunToken, patch: FilePatch): Promise<FileRow> {
    return storage(() => this.fencedWrite(fileId, token, { ...patch, owner: null, run_token: null } as FilePatch));
  }

  replaceRenditions(fileId: string, token: RunToken, thumbnails: ThumbnailRow[], segments: SegmentRow[]): Promise<void> {
    return storage(() => this.sql.transaction(() => {
      this.fencedWrite(fileId, token, {});
      this.sql.prepare('DELETE FROM segments WHERE file_id = ?').run(fileId);
      this.sql.prepare('DELETE FROM thumbnails WHERE file_id = ?').run(fileId);
      const insertThumb = this.sql.prepare(
        'INSERT INTO thumbnails (id, file_id, type, time, segment_id, path, width, height, is_default, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)',
      );
      for (const t of thumbnails) {
        insertThumb.run(t.id, t.file_id, t.type, t.time, t.segment_id, t.path, t.width, t.height, t.is_default ? 1 : 0, t.created_at);
      }
      const insertSegment = this.sql.prepare(
        'INSERT INTO segments (id, file_id, idx, start_time, end_time, thumbnail_id) VALUES (?,?,?,?,?,?)',
      );
      for (const s of segments) insertSegment.run(s.id, s.file_id, s.idx, s.start_time, s.end_time, s.thumbnail_id);
    })());
  }

  updateUserFields(fileId: string, patch: UserPatch): Promise<FileRow> {
    return storage(() => {
      if (!this.write(fileId, patch, '')) throw new IngestError('not_found', `No file with id ${fileId}`);
      return this.row(fileId)!;
    });
  }

  listFiles(query: FileListQuery): Promise<{ rows: FileRow[]; total: number }> {
    return storage(() => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (query.status) (where.push('status = ?'), params.push(query.status));
      if (query.createdBefore !== undefined) (where.push('created_at < ?'), params.push(query.createdBefore));
      if (query.createdAfter !== undefined) (where.push('created_at > ?'), params.push(query.createdAfter));
      const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const total = (this.sql.prepare(`SELECT COUNT(*) AS n FROM files ${clause}`).get(...params) as { n: number }).n;
      const order = query.order === 'filename' ? 'filename' : 'created_at';
      const sort = query.sort === 'asc' ? 'ASC' : 'DESC';
      const rows = this.sql
        .prepare(`SELECT * FROM files ${clause} ORDER BY ${order} ${sort}, rowid ${sort} LIMIT ? OFFSET ?`)
        .all(...params, query.limit, query.offset) as Record<string, unknown>[];
      return { rows: rows.map((r) => decodeRow(r)!), total };
    });
  }

  filesWithStatus(statuses: readonly FileStatus[]): Promise<FileRow[]> {
    return storage(() => {
      const rows = this.sql
        .prepare(`SELECT * FROM files WHERE status IN (${statuses.map(() => '?').join(',')})`)
        .all(...statuses) as Record<string, unknown>[];
      return rows.map((r) => decodeRow(r)!);
    });
  }

  deleteFile(id: string): Promise<boolean> {
    return storage(() => this.sql.prepare('DELETE FROM files WHERE id = ?').run(id).changes === 1);
  }

  blobReferences(sha256: string): Promise<number> {
    return storage(() => (this.sql.prepare('SELECT COUNT(*) AS n FROM files WHERE content_sha256 = ?').get(sha256) as { n: number }).n);
  }

  thumbnails(fileId: string): Promise<ThumbnailRow[]> {
    return storage(() => {
      const rows = this.sql.prepare('SELECT * FROM thumbnails WHERE file_id = ? ORDER BY is_default DESC, time ASC').all(fileId) as ThumbnailRow[];
      return rows.map((r) => ({ ...r, is_default: Boolean(r.is_default) }));
    });
  }

  defaultThumbnail(fileId: string): Promise<ThumbnailRow | undefined> {
    return storage(() => {
      const values = this.sql.prepare(`SELECT ${THUMBNAILS} FROM thumbnails t WHERE t.file_id = ? AND t.is_default = 1 ORDER BY t.time ASC LIMIT 1`)
        .raw(true).get(fileId) as unknown[] | undefined;
      if (!values) return undefined;
      const row = thumbnailObject(values);
      row.is_default = true;
      return row as unknown as ThumbnailRow;
    });
  }

  thumbnail(fileId: string, thumbnailId: string): Promise<ThumbnailRow | undefined> {
    return storage(() => {
      const row = this.sql.prepare('SELECT * FROM thumbnails WHERE file_id = ? AND id = ?').get(fileId, thumbnailId) as ThumbnailRow | undefined;
      return row ? { ...row, is_default: Boolean(row.is_default) } : undefined;
    });
  }

  segments(fileId: string): Promise<SegmentRow[]> {
    return storage(() => this.sql.prepare('SELECT * FROM segments WHERE file_id = ? ORDER BY idx ASC').all(fileId) as SegmentRow[]);
  }

  /** `UPDATE … WHERE id = ? <extra>`; true when the row was changed. */
  private write(fileId: string, patch: Record<string, unknown>, extraWhere: string, extraParam?: unknown): boolean {
    const entries = Object.entries({ ...patch, updated_at: Date.now() }).filter(([, v]) => v !== undefined);
    const sql = `UPDATE files SET ${entries.map(([c]) => `${c} = ?`).join(', ')} WHERE id = ?${extraWhere}`;
    const params = [...entries.map(([c, v]) => encodeValue(c, v)), fileId, ...(extraParam === undefined ? [] : [extraParam])];
    return this.sql.prepare(sql).run(...params).changes === 1;
  }

  /** A write for the run holding `token`: `run_superseded` when another run holds the file, `not_found` when gone. */
  private fencedWrite(fileId: string, token: RunToken, patch: FilePatch): FileRow {
    if (this.write(fileId, patch as Record<string, unknown>, ' AND run_token = ?', token)) return this.row(fileId)!;
    const current = this.row(fileId);
    if (!current) throw new IngestError('not_found', `No file with id ${fileId}`);
    throw new IngestError('run_superseded', `File ${fileId} was taken over by another run; this run's write was rejected`);
  }
}
