/**
 * The {@link Registry} port on PostgreSQL (kysely 0.28 over `pg` 8). One file per identity across every process
 * through the unique `identity_hash` (`INSERT … ON CONFLICT DO NOTHING`); migrations under an advisory lock; every
 * write of a run conditional on its run token (fencing), so a worker presumed dead that comes back gets
 * `run_superseded` instead of overwriting the run that replaced it.
 */
import { randomUUID } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Transaction, Updateable } from 'kysely';
import pg from 'pg';
import { IngestError, isIngestError } from '../../errors.js';
import type { FileListQuery, InsertOutcome, Registry, RunClaim, StartClaim } from '../../ports/registry.js';
import type { FilePatch, FileRow, FileStatus, RunToken, SegmentRow, ThumbnailRow, UserPatch } from '../../ports/file-records.js';
import { migrate } from './pg-schema.js';
import type { FilesTable, RegistryDatabase } from './pg-schema.js';

/** Options of {@link PgRegistry}. */
export interface PgRegistryOptions {
  /** `postgres://user@host:port/db` (never logged: it may carry a password). */
  connectionString: string;
  /** Schema holding the tables, created when missing. @default 'media_ingest' */
  schema?: string;
  /** Connections of this process's pool. @default 10 */
  poolSize?: number;
  /** `application_name` of the connections (visible in `pg_stat_activity`). @default 'media-ingest' */
  applicationName?: string;
}

const JSON_COLUMNS = new Set(['metadata', 'media_info', 'source_metadata', 'resume_state']);
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;

/** A row patch as the database takes it: JSON columns as text. */
function encode(patch: Record<string, unknown>): Updateable<FilesTable> {
  const out: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    out[column] = JSON_COLUMNS.has(column) ? (value === null ? null : JSON.stringify(value)) : value;
  }
  return out as Updateable<FilesTable>;
}

function decode(raw: Record<string, unknown> | undefined): FileRow | undefined {
  if (!raw) return undefined;
  const { seq: _seq, ...row } = raw;
  return row as unknown as FileRow;
}

/** Wraps a driver failure as `storage_error` (IngestErrors pass through); the message never carries the URL. */
function storageError(error: unknown, what: string): IngestError {
  if (isIngestError(error)) return error;
  return new IngestError('storage_error', `Postgres registry: ${what} failed: ${(error as Error).message}`, { cause: error });
}

/** True when a query failed because its connection went away (server restart, killed backend, network). */
function isConnectionLost(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return ['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE'].includes(e?.code ?? '') || /Connection terminated/i.test(e?.message ?? '');
}

/**
 * True when the server refused a new connection before any statement ran: too many clients (53300), too many
 * connections for the role or database (53300/53400 family), or the server starting up (57P03). Nothing was sent, so
 * any operation, a write included, can be tried again.
 */
function isConnectRefused(error: unknown): boolean {
  const e = error as { code?: string; routine?: string };
  return e?.code === '53300' || e?.code === '57P03' || e?.code === 'ECONNREFUSED' || /timeout exceeded when trying to connect/i.test((error as Error)?.message ?? '');
}

/** Attempts and waits for operations whose connection was refused or lost: about 25 s in all (a restart). */
const CONNECT_RETRY_DELAYS_MS = [50, 100, 200, 400, 800, 1_600, 3_200, 6_400, 6_400, 6_400];
/** At start-up (migrations) an unreachable database is reported sooner: about 6 s. */
const OPEN_RETRY_DELAYS_MS = CONNECT_RETRY_DELAYS_MS.slice(0, 7);

export class PgRegistry implements Registry {
  private readonly db: Kysely<RegistryDatabase>;
  private readonly schema: string;
  private closed = false;

  constructor(options: PgRegistryOptions) {
    this.schema = options.schema ?? 'media_ingest';
    if (!SCHEMA_NAME.test(this.schema)) throw new IngestError('invalid_request', `Postgres registry: bad schema name ${JSON.stringify(this.schema)}`);
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      application_name: options.applicationName ?? 'media-ingest',
      options: `-c search_path=${this.schema}`,
      connectionTimeoutMillis: 10_000,
      // BIGINT columns hold ms timestamps and byte counts, all below 2^53.
      types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
    });
    // A connection that dies (Postgres restarts, the backend is killed) makes its client emit 'error' even while a
    // query holds it; unhandled, that would crash the process. The query itself fails (and reads are retried).
    pool.on('connect', (client) => client.on('error', () => undefined));
    pool.on('error', () => undefined);
    this.db = new Kysely<RegistryDatabase>({ dialect: new PostgresDialect({ pool }) });
  }

  /**
   * Runs one operation, its failures as `storage_error`. A connection refused at connect time is tried again with
   * backoff (about 25 s in all). An operation whose connection was lost mid-way (Postgres restarted, the backend was
   * killed) is tried again on the same schedule when `again` says it may be: reads, and writes made safe to repeat
   * (their values, tokens and timestamps are fixed before the first attempt, and a repeat recognises its own
   * commit); `work` receives the attempt number.
   */
  private async run<T>(what: string, work: (attempt: number) => Promise<T>, again = false, delays = CONNECT_RETRY_DELAYS_MS): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new IngestError('storage_error', 'Postgres registry: closed');
      try {
        return await work(attempt);
      } catch (error) {
        const retry = isConnectRefused(error) || (again && isConnectionLost(error));
        if (!retry || attempt > delays.length) throw storageError(error, what);
        await new Promise((resolve) => setTimeout(resolve, delays[attempt - 1]! * (0.5 + Math.random())).unref());
      }
    }
  }

  /** Creates the schema and applies migrations; safe when many processes start at once. */
  async open(): Promise<void> {
    await this.run('migration', () => migrate(this.db, this.schema), false, OPEN_RETRY_DELAYS_MS);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
  }

  getFile(id: string): Promise<FileRow | undefined> {
    return this.run('read', async () => decode(await this.db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst()), true);
  }

  findByIdentity(identityHash: string): Promise<FileRow | undefined> {
    return this.run('read', async () =>
      decode(await this.db.selectFrom('files').selectAll().where('identity_hash', '=', identityHash).executeTakeFirst()),
    true);
  }

  findByAlias(urlHash: string): Promise<FileRow | undefined> {
    return this.run('read', async () =>
      decode(
        await this.db
          .selectFrom('aliases')
          .innerJoin('files', 'files.id', 'aliases.file_id')
          .selectAll('files')
          .where('aliases.url_hash', '=', urlHash)
          .executeTakeFirst(),
      ),
    true);
  }

  listFiles(query: FileListQuery): Promise<{ rows: FileRow[]; total: number }> {
    return this.run('list', async () => {
      let base = this.db.selectFrom('files');
      if (query.status) base = base.where('status', '=', query.status);
      if (query.createdBefore !== undefined) base = base.where('created_at', '<', query.createdBefore);
      if (query.createdAfter !== undefined) base = base.where('created_at', '>', query.createdAfter);
      const direction = query.sort === 'asc' ? 'asc' : 'desc';
      const [count, rows] = await Promise.all([
        base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
        base
          .selectAll()
          .orderBy(query.order === 'filename' ? 'filename' : 'created_at', direction)
          .orderBy('seq', direction)
          .limit(query.limit)
          .offset(query.offset)
          .execute(),
      ]);
      return { rows: rows.map((r) => decode(r)!), total: Number(count.n) };
    }, true);
  }

  filesWithStatus(statuses: readonly FileStatus[]): Promise<FileRow[]> {
    if (statuses.length === 0) return Promise.resolve([]);
    return this.run('read', async () =>
      (await this.db.selectFrom('files').selectAll().where('status', 'in', [...statuses]).orderBy('seq').execute()).map((r) => decode(r)!),
    true);
  }

  blobReferences(sha256: string): Promise<number> {
    return this.run('read', async () => {
      const row = await this.db
        .selectFrom('files')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('content_sha256', '=', sha256)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    }, true);
  }

  thumbnails(fileId: string): Promise<ThumbnailRow[]> {
    return this.run('read', () =>
      this.db.selectFrom('thumbnails').selectAll().where('file_id', '=', fileId).orderBy('is_default', 'desc').orderBy('time', 'asc').execute(),
    true);
  }

  thumbnail(fileId: string, thumbnailId: string): Promise<ThumbnailRow | undefined> {
    return this.run('read', () =>
      this.db.selectFrom('thumbnails').selectAll().where('file_id', '=', fileId).where('id', '=', thumbnailId).executeTakeFirst(),
    true);
  }

  segments(fileId: string): Promise<SegmentRow[]> {
    return this.run('read', () => this.db.selectFrom('segments').selectAll().where('file_id', '=', fileId).orderBy('idx', 'asc').execute(), true);
  }

  insertFileOnce(row: FileRow): Promise<InsertOutcome> {
    const token = randomUUID() as RunToken;
    return this.run('insert', async () => {
      const values = encode({ ...row, run_token: token }) as Record<string, unknown>;
      // Someone may delete the winning row between our conflict and our read: then insert again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const inserted = await this.db
          .insertInto('files')
          .values(values as never)
          .onConflict((oc) => oc.column('identity_hash').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (inserted) return { created: true, row: decode(inserted)!, token };
        const existing = await this.findByIdentity(row.identity_hash);
        // A repeat after a lost connection finds its own insert (same id, same token).
        if (existing?.id === row.id && existing.run_token === token) return { created: true, row: existing, token };
        if (existing) return { created: false, row: existing };
      }
      throw new IngestError('storage_error', 'Postgres registry: an identity kept appearing and disappearing');
    }, true);
  }

  addAlias(urlHash: string, fileId: string, url: string): Promise<void> {
    return this.run('alias', async () => {
      await this.db.insertInto('aliases').values({ url_hash: urlHash, file_id: fileId, url }).onConflict((oc) => oc.column('url_hash').doNothing()).execute();
    }, true);
  }

  /** One upsert; expiry is judged by the database's clock, so workers' clocks need not agree. */
  claimStart(key: string, holder: string, leaseMs: number): Promise<StartClaim> {
    return this.run('start claim', async () => {
      const now = sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;
      const taken = await sql<{ holder: string }>`
        INSERT INTO start_claims (key, holder, expires_at) VALUES (${key}, ${holder}, ${now} + ${leaseMs})
        ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
        WHERE start_claims.holder = EXCLUDED.holder OR start_claims.expires_at < ${now}
        RETURNING holder`.execute(this.db);
      if (taken.rows.length === 1) return { held: true };
      const other = await sql<{ holder: string }>`SELECT holder FROM start_claims WHERE key = ${key}`.execute(this.db);
      return { held: false, holder: other.rows[0]?.holder };
    }, true);
  }

  releaseStart(key: string, holder: string): Promise<void> {
    return this.run('start claim release', async () => {
      await sql`DELETE FROM start_claims WHERE key = ${key} AND holder = ${holder}`.execute(this.db);
    }, true);
  }

  claim(fileId: string, owner: string, patch: FilePatch = {}, expected?: RunToken | null): Promise<RunClaim | undefined> {
    const token = randomUUID() as RunToken;
    const values = { ...encode(patch as Record<string, unknown>), owner, run_token: token, updated_at: Date.now() };
    return this.run('claim', async () => {
      let update = this.db.updateTable('files').set(values).where('id', '=', fileId);
      // (or this very claim, when a repeat after a lost connection finds it committed)
      if (expected !== undefined) update = update.where(sql<boolean>`(run_token IS NOT DISTINCT FROM ${expected} OR run_token = ${token})`);
      const row = await update.returningAll().executeTakeFirst();
      if (row) return { row: decode(row)!, token };
      if (expected !== undefined && (await this.exists(fileId))) return undefined;
      throw new IngestError('not_found', `No file with id ${fileId}`);
    }, true);
  }

  update(fileId: string, token: RunToken, patch: FilePatch): Promise<FileRow> {
    return this.fencedUpdate('update', fileId, token, { ...encode(patch as Record<string, unknown>), updated_at: Date.now() });
  }

  release(fileId: string, token: RunToken, patch: FilePatch): Promise<FileRow> {
    return this.fencedUpdate('release', fileId, token, {
      ...encode(patch as Record<string, unknown>),
      owner: null,
      run_token: null,
      updated_at: Date.now(),
    });
  }

  replaceRenditions(fileId: string, token: RunToken, thumbnails: ThumbnailRow[], segments: SegmentRow[]): Promise<void> {
    return this.run('renditions', () =>
      this.db.transaction().execute(async (trx) => {
        // The row lock makes the token check and the replacement one step: a concurrent claim waits for us.
        const current = await trx.selectFrom('files').select('run_token').where('id', '=', fileId).forUpdate().executeTakeFirst();
        this.checkFence(fileId, token, current);
        await trx.deleteFrom('segments').where('file_id', '=', fileId).execute();
        await trx.deleteFrom('thumbnails').where('file_id', '=', fileId).execute();
        if (thumbnails.length) await trx.insertInto('thumbnails').values(thumbnails).execute();
        if (segments.length) await trx.insertInto('segments').values(segments).execute();
      }),
    true);
  }

  updateUserFields(fileId: string, patch: UserPatch): Promise<FileRow> {
    return this.run('update', async () => {
      const row = await this.db
        .updateTable('files')
        .set({ ...encode(patch as Record<string, unknown>), updated_at: Date.now() })
        .where('id', '=', fileId)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new IngestError('not_found', `No file with id ${fileId}`);
      return decode(row)!;
    }, true);
  }

  deleteFile(fileId: string): Promise<boolean> {
    return this.run('delete', async () => {
      const result = await this.db.deleteFrom('files').where('id', '=', fileId).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    });
  }

  private async exists(fileId: string, trx: Kysely<RegistryDatabase> | Transaction<RegistryDatabase> = this.db): Promise<boolean> {
    return (await trx.selectFrom('files').select('id').where('id', '=', fileId).executeTakeFirst()) !== undefined;
  }

  private checkFence(fileId: string, token: RunToken, current: { run_token: string | null } | undefined): void {
    if (!current) throw new IngestError('not_found', `No file with id ${fileId}`);
    if (current.run_token !== token) {
      throw new IngestError('run_superseded', `File ${fileId} was taken over by another run; this run's write was refused`);
    }
  }

  private fencedUpdate(what: string, fileId: string, token: RunToken, values: Updateable<FilesTable>): Promise<FileRow> {
    return this.run(what, async (attempt) => {
      const row = await this.db
        .updateTable('files')
        .set(values)
        .where('id', '=', fileId)
        .where('run_token', '=', token)
        .returningAll()
        .executeTakeFirst();
      if (row) return decode(row)!;
      const current = await this.db.selectFrom('files').selectAll().where('id', '=', fileId).executeTakeFirst();
      // A repeat after a lost connection: the first attempt committed when the row has this write's timestamp and token
      const written = 'run_token' in values ? values.run_token : token; // (null after a release)
      if (attempt > 1 && current && current.updated_at === values.updated_at && current.run_token === written) return decode(current)!;
      this.checkFence(fileId, token, current);
      // The token matched on re-read: the first statement raced a release/claim pair that restored it. Refuse.
      throw new IngestError('run_superseded', `File ${fileId} changed hands during this run's write; the write was refused`);
    }, true);
  }
}
