/**
 * The Postgres schema of the cluster registry: kysely table types and the migrations, applied in order under a
 * session advisory lock so that any number of processes may start at once. Append only.
 */
import type { ColumnType, Generated, Kysely } from 'kysely';
import { sql } from 'kysely';
import type { FileStatus, MediaInfo, ResumeState } from '../../ports/file-records.js';

/** A jsonb column: written as JSON text, read back decoded by `pg`. */
type Json<T> = ColumnType<T | null, string | null, string | null>;

export interface FilesTable {
  seq: Generated<number>;
  id: string;
  identity_hash: string;
  identity_key: string;
  status: FileStatus;
  url: string;
  canonical_url: string;
  source: string;
  filename: string;
  bytes: number | null;
  content_sha256: string | null;
  metadata: Json<Record<string, unknown>>;
  media_type: 'video' | 'audio' | null;
  media_info: Json<MediaInfo>;
  source_metadata: Json<Record<string, unknown>>;
  error_code: string | null;
  error_message: string | null;
  progress_received: number | null;
  progress_total: number | null;
  enable_segment_thumbnails: boolean;
  created_at: number;
  updated_at: number;
  owner: string | null;
  run_token: string | null;
  attempt: number | null;
  retries: number | null;
  retry_error_code: string | null;
  retry_error_message: string | null;
  resume_state: Json<ResumeState>;
}

export interface AliasesTable {
  url_hash: string;
  file_id: string;
  url: string;
}

export interface ThumbnailsTable {
  id: string;
  file_id: string;
  type: 'file' | 'segment';
  time: number;
  segment_id: string | null;
  path: string;
  width: number;
  height: number;
  is_default: boolean;
  created_at: number;
}

export interface SegmentsTable {
  id: string;
  file_id: string;
  idx: number;
  start_time: number;
  end_time: number;
  thumbnail_id: string | null;
}

export interface RegistryDatabase {
  files: FilesTable;
  aliases: AliasesTable;
  thumbnails: ThumbnailsTable;
  segments: SegmentsTable;
}

/** Migrations in order; `schema_migrations` records which ran. */
export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE files (
    seq BIGSERIAL NOT NULL UNIQUE,
    id TEXT PRIMARY KEY,
    identity_hash TEXT NOT NULL UNIQUE,
    identity_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','processing','completed','failed','not_applicable')),
    url TEXT NOT NULL,
    canonical_url TEXT NOT NULL,
    source TEXT NOT NULL,
    filename TEXT NOT NULL,
    bytes BIGINT,
    content_sha256 TEXT,
    metadata JSONB,
    media_type TEXT,
    media_info JSONB,
    source_metadata JSONB,
    error_code TEXT,
    error_message TEXT,
    progress_received BIGINT,
    progress_total BIGINT,
    enable_segment_thumbnails BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    owner TEXT,
    run_token TEXT,
    attempt INTEGER,
    retries INTEGER,
    retry_error_code TEXT,
    retry_error_message TEXT,
    resume_state JSONB
  );
  CREATE INDEX files_status ON files(status);
  CREATE INDEX files_created ON files(created_at);
  CREATE INDEX files_sha ON files(content_sha256);
  CREATE TABLE aliases (
    url_hash TEXT PRIMARY KEY,
    file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    url TEXT NOT NULL
  );
  CREATE INDEX aliases_file ON aliases(file_id);
  CREATE TABLE thumbnails (
    id TEXT PRIMARY KEY,
    file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    type TEXT NOT NULL CHECK (type IN ('file','segment')),
    time DOUBLE PRECISION NOT NULL,
    segment_id TEXT,
    path TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX thumbnails_file ON thumbnails(file_id);
  CREATE TABLE segments (
    id TEXT PRIMARY KEY,
    file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start_time DOUBLE PRECISION NOT NULL,
    end_time DOUBLE PRECISION NOT NULL,
    thumbnail_id TEXT
  );
  CREATE INDEX segments_file ON segments(file_id);
  `,
];

/** The advisory lock key of a schema's migrations (one 64-bit key per schema name). */
const lockKey = (schema: string) => sql`hashtextextended(${`media-ingest:migrate:${schema}`}, 0)`;

/**
 * Creates `schema` and applies the missing migrations, holding `pg_advisory_lock` on one connection for the whole
 * pass: concurrent starters wait, then find nothing left to do. Each migration runs in its own transaction.
 * @returns how many migrations this call applied.
 */
export async function migrate(db: Kysely<RegistryDatabase>, schema: string): Promise<number> {
  return db.connection().execute(async (connection) => {
    await sql`SELECT pg_advisory_lock(${lockKey(schema)})`.execute(connection);
    try {
      await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(connection);
      await sql`CREATE TABLE IF NOT EXISTS ${sql.id(schema, 'schema_migrations')} (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`.execute(
        connection,
      );
      const applied = await sql<{ n: number }>`SELECT COALESCE(MAX(version), 0)::int AS n FROM ${sql.id(schema, 'schema_migrations')}`.execute(
        connection,
      );
      let ran = 0;
      for (let version = applied.rows[0]!.n; version < PG_MIGRATIONS.length; version++) {
        await connection.transaction().execute(async (trx) => {
          await sql`SET LOCAL search_path TO ${sql.id(schema)}`.execute(trx);
          await sql.raw(PG_MIGRATIONS[version]!).execute(trx);
          await sql`INSERT INTO ${sql.id(schema, 'schema_migrations')} (version, applied_at) VALUES (${version + 1}, ${Date.now()})`.execute(trx);
        });
        ran++;
      }
      return ran;
    } finally {
      await sql`SELECT pg_advisory_unlock(${lockKey(schema)})`.execute(connection);
    }
  });
}
