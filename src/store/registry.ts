import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';
import { cacheStatements } from './statement-cache.js';
import type { FileRow, SegmentRow, ThumbnailRow, FileStatus } from './rows.js';

export type { FileRow, SegmentRow, ThumbnailRow, FileStatus, ResumeState } from './rows.js';

/** Query of {@link Registry.listFiles}. */
export interface FileListQuery {
  status?: FileStatus;
  limit: number;
  offset: number;
  order: 'created_at' | 'filename';
  sort: 'asc' | 'desc';
  createdBefore?: number;
  createdAfter?: number;
}

const JSON_COLUMNS = ['metadata', 'media_info', 'source_metadata', 'resume_state'] as const;

function decodeRow(raw: Record<string, unknown> | undefined): FileRow | undefined {
  if (!raw) return undefined;
  const row = { ...raw } as Record<string, unknown>;
  for (const column of JSON_COLUMNS) row[column] = row[column] === null ? null : JSON.parse(row[column] as string);
  row.enable_segment_thumbnails = row.enable_segment_thumbnails === 1;
  return row as unknown as FileRow;
}

function encodeValue(column: string, value: unknown): unknown {
  if ((JSON_COLUMNS as readonly string[]).includes(column)) return value === null || value === undefined ? null : JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/**
 * The SQLite registry (better-sqlite3, WAL): files, their URL aliases, segments and thumbnails.
 * `identity_hash` is unique, which is what makes syncs idempotent across processes too.
 */
export class Registry {
  readonly db: SqliteDatabase;

  constructor(file: string) {
    this.db = cacheStatements(new Database(file));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    for (let version = current; version < MIGRATIONS.length; version++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[version]!);
        this.db.pragma(`user_version = ${version + 1}`);
      })();
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  getFile(id: string): FileRow | undefined {
    return decodeRow(this.db.prepare('SELECT * FROM files WHERE id = ?').get(id) as Record<string, unknown> | undefined);
  }

  findByIdentity(identityHash: string): FileRow | undefined {
    return decodeRow(this.db.prepare('SELECT * FROM files WHERE identity_hash = ?').get(identityHash) as Record<string, unknown> | undefined);
  }

  findByAlias(urlHash: string): FileRow | undefined {
    const raw = this.db
      .prepare('SELECT f.* FROM aliases a JOIN files f ON f.id = a.file_id WHERE a.url_hash = ?')
      .get(urlHash) as Record<string, unknown> | undefined;
    return decodeRow(raw);
  }

  /** Inserts a file unless its identity exists; returns the row that holds the identity either way. */
  insertFileOnce(row: FileRow): { row: FileRow; created: boolean } {
    const columns = Object.keys(row);
    const sql = `INSERT INTO files (${columns.join(',')}) VALUES (${columns.map(() => '?').join(',')}) ON CONFLICT(identity_hash) DO NOTHING`;
    const result = this.db.prepare(sql).run(...columns.map((c) => encodeValue(c, (row as unknown as Record<string, unknown>)[c])));
    return { row: this.findByIdentity(row.identity_hash)!, created: result.changes === 1 };
  }

  addAlias(urlHash: string, fileId: string, url: string): void {
    this.db.prepare('INSERT OR IGNORE INTO aliases (url_hash, file_id, url) VALUES (?, ?, ?)').run(urlHash, fileId, url);
  }

  /** Updates the given columns and `updated_at`. */
  updateFile(id: string, changes: Partial<FileRow>): FileRow | undefined {
    const entries = Object.entries({ ...changes, updated_at: Date.now() });
    const sql = `UPDATE files SET ${entries.map(([c]) => `${c} = ?`).join(', ')} WHERE id = ?`;
    this.db.prepare(sql).run(...entries.map(([c, v]) => encodeValue(c, v)), id);
    return this.getFile(id);
  }

  listFiles(query: FileListQuery): { rows: FileRow[]; total: number } {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.status) (where.push('status = ?'), params.push(query.status));
    if (query.createdBefore !== undefined) (where.push('created_at < ?'), params.push(query.createdBefore));
    if (query.createdAfter !== undefined) (where.push('created_at > ?'), params.push(query.createdAfter));
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM files ${clause}`).get(...params) as { n: number }).n;
    const order = query.order === 'filename' ? 'filename' : 'created_at';
    const sort = query.sort === 'asc' ? 'ASC' : 'DESC';
    const rows = this.db
      .prepare(`SELECT * FROM files ${clause} ORDER BY ${order} ${sort}, rowid ${sort} LIMIT ? OFFSET ?`)
      .all(...params, query.limit, query.offset) as Record<string, unknown>[];
    return { rows: rows.map((r) => decodeRow(r)!), total };
  }

  filesWithStatus(statuses: FileStatus[]): FileRow[] {
    const rows = this.db
      .prepare(`SELECT * FROM files WHERE status IN (${statuses.map(() => '?').join(',')})`)
      .all(...statuses) as Record<string, unknown>[];
    return rows.map((r) => decodeRow(r)!);
  }

  /** True when a file with this id exists. */
  hasFile(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM files WHERE id = ?').get(id) !== undefined;
  }

  /** What recovery checks of every completed file: its blob and its media type. */
  completedFiles(): Array<Pick<FileRow, 'id' | 'content_sha256' | 'media_type'>> {
    return this.db.prepare("SELECT id, content_sha256, media_type FROM files WHERE status = 'completed'").all() as Array<
      Pick<FileRow, 'id' | 'content_sha256' | 'media_type'>
    >;
  }

  /** Deletes a file with its aliases, segments and thumbnails (cascade). */
  deleteFile(id: string): boolean {
    return this.db.prepare('DELETE FROM files WHERE id = ?').run(id).changes === 1;
  }

  /** How many files reference a blob. */
  blobReferences(sha256: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM files WHERE content_sha256 = ?').get(sha256) as { n: number }).n;
  }

  /** The default thumbnail of a file (one indexed row, for the File view), or undefined. */
  defaultThumbnail(fileId: string): ThumbnailRow | undefined {
    const row = this.db.prepare('SELECT * FROM thumbnails WHERE file_id = ? AND is_default = 1 LIMIT 1').get(fileId) as ThumbnailRow | undefined;
    return row ? ({ ...row, is_default: true } as ThumbnailRow) : undefined;
  }

  /** Replaces the thumbnails and segments of a file in one transaction. */
  replaceRenditions(fileId: string, thumbnails: ThumbnailRow[], segments: SegmentRow[]): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM segments WHERE file_id = ?').run(fileId);
      this.db.prepare('DELETE FROM thumbnails WHERE file_id = ?').run(fileId);
      const insertThumb = this.db.prepare(
        'INSERT INTO thumbnails (id, file_id, type, time, segment_id, path, width, height, is_default, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)',
      );
      for (const t of thumbnails) {
        insertThumb.run(t.id, t.file_id, t.type, t.time, t.segment_id, t.path, t.width, t.height, t.is_default ? 1 : 0, t.created_at);
      }
      const insertSegment = this.db.prepare(
        'INSERT INTO segments (id, file_id, idx, start_time, end_time, thumbnail_id) VALUES (?,?,?,?,?,?)',
      );
      for (const s of segments) insertSegment.run(s.id, s.file_id, s.idx, s.start_time, s.end_time, s.thumbnail_id);
    })();
  }

  thumbnails(fileId: string): ThumbnailRow[] {
    const rows = this.db.prepare('SELECT * FROM thumbnails WHERE file_id = ? ORDER BY is_default DESC, time ASC').all(fileId) as ThumbnailRow[];
    return rows.map((r) => ({ ...r, is_default: Boolean(r.is_default) }));
  }

  thumbnail(fileId: string, thumbnailId: string): ThumbnailRow | undefined {
    const row = this.db.prepare('SELECT * FROM thumbnails WHERE file_id = ? AND id = ?').get(fileId, thumbnailId) as ThumbnailRow | undefined;
    return row ? { ...row, is_default: Boolean(row.is_default) } : undefined;
  }

  segments(fileId: string): SegmentRow[] {
    return this.db.prepare('SELECT * FROM segments WHERE file_id = ? ORDER BY idx ASC').all(fileId) as SegmentRow[];
  }
}
