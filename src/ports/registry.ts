import type { FilePatch, FileRow, FileStatus, RunToken, SegmentRow, ThumbnailRow, UserPatch } from './file-records.js';

export type { FilePatch, FileRow, FileStatus, MediaInfo, ResumeState, RunToken, SegmentRow, ThumbnailRow, UserPatch } from './file-records.js';

/** Query of {@link Registry.listFiles}. */
export interface FileListQuery {
  status?: FileStatus;
  limit: number;
  offset: number;
  order: 'created_at' | 'filename';
  sort: 'asc' | 'desc';
  /** Exclusive bounds on `created_at` (ms since the epoch). */
  createdBefore?: number;
  createdAfter?: number;
}

/** A run's hold on a file: the row as claimed, and the token every later write of that run must carry. */
export interface RunClaim {
  row: FileRow;
  token: RunToken;
}

/** What {@link Registry.claimStart} found: this holder has the claim, or who else holds it. */
export type StartClaim = { held: true } | { held: false; holder: string | undefined };

/** What {@link Registry.insertFileOnce} found or made. */
export type InsertOutcome =
  /** The row was inserted, claimed by its `owner` with `token`. */
  | { created: true; row: FileRow; token: RunToken }
  /** Another run (another spelling of the URL, another process) holds the identity: its row, untouched. */
  | { created: false; row: FileRow };

/**
 * The registry port: files, their URL aliases, thumbnails and segments. Every method returns a Promise so a
 * networked database can implement it (the local adapter is SQLite, the cluster one Postgres).
 *
 * **Identity.** `identity_hash` is unique across every process sharing the registry: {@link insertFileOnce} is the
 * only way a file is created, so two syncs of one media (any spelling, any process) make one file.
 *
 * **Fencing.** A run first holds a {@link RunToken} ({@link insertFileOnce} for a new file, {@link claim} for a
 * restart); every write of the run's state ({@link update}, {@link release}, {@link replaceRenditions}) is
 * conditional on it and throws `IngestError('run_superseded')` when another run claimed the file since, or
 * `IngestError('not_found')` when the file is gone. A write never silently hits no row.
 *
 * **Errors.** An adapter that cannot reach or write its store throws `IngestError('storage_error')` (its cause kept).
 */
export interface Registry {
  /** Creates or migrates the schema; idempotent, safe when several processes start at once. */
  open(): Promise<void>;
  /** Releases connections. Further calls reject. */
  close(): Promise<void>;

  // ── reads ──────────────────────────────────────────────────────────────────────────────────────────────────────
  getFile(id: string): Promise<FileRow | undefined>;
  findByIdentity(identityHash: string): Promise<FileRow | undefined>;
  /** The file a normalised URL (its `alias:` hash) was synced as. */
  findByAlias(urlHash: string): Promise<FileRow | undefined>;
  /** A page of files and the total matching `query` (ties broken by insertion order). */
  listFiles(query: FileListQuery): Promise<{ rows: FileRow[]; total: number }>;
  /** Every file in one of `statuses` (recovery: files left in flight, completed files to check). */
  filesWithStatus(statuses: readonly FileStatus[]): Promise<FileRow[]>;
  /** How many files reference a blob (a blob with none may be deleted). */
  blobReferences(sha256: string): Promise<number>;
  /** A file's thumbnails, the default first, then by time. */
  thumbnails(fileId: string): Promise<ThumbnailRow[]>;
  thumbnail(fileId: string, thumbnailId: string): Promise<ThumbnailRow | undefined>;
  /**
   * A file's default thumbnail (the first of {@link thumbnails}), as one indexed lookup: what every File view reads.
   * Optional: without it, readers take the first of {@link thumbnails} that is the default.
   */
  defaultThumbnail?(fileId: string): Promise<ThumbnailRow | undefined>;
  /**
   * The default thumbnail an adapter read together with `row` (in the same statement), while no write of this
   * process has happened since: `null` when the file had none, `undefined` when unknown (then readers ask
   * {@link defaultThumbnail}). Optional.
   */
  defaultThumbnailOf?(row: FileRow): ThumbnailRow | null | undefined;
  /**
   * A value that changes whenever anything in the registry may have changed — a commit by any connection or process,
   * or a write of this adapter — so readers can cache what they built from it. Cheap (no row read). Optional: an
   * adapter that cannot tell (or undefined returned) means nothing may be cached.
   */
  changeVersion?(): string | undefined;
  /** A file's segments by index. */
  segments(fileId: string): Promise<SegmentRow[]>;

  // ── identity ───────────────────────────────────────────────────────────────────────────────────────────────────
  /**
   * Inserts `row` unless a file with its `identity_hash` exists (atomically, across processes). The inserted row
   * is claimed by `row.owner` with a fresh token (`row.run_token` is ignored).
   */
  insertFileOnce(row: FileRow): Promise<InsertOutcome>;
  /** Records that a normalised URL leads to a file; a second alias of the same hash is ignored. */
  addAlias(urlHash: string, fileId: string, url: string): Promise<void>;
  /**
   * Takes the short-lived **start claim** on `key` (an identity hash, or an alias hash while the identity is not
   * known yet) for `holder` (the job id of a new run) for `leaseMs`, unless another holder's claim on it has not
   * expired; the same holder calling again renews it. Atomic across every process sharing the registry: while it is
   * held, only its holder resolves and opens the media; the others wait for the file row (or the holder's
   * `run.ready`/`run.refused`). A claimant that dies stops renewing and its claim expires.
   */
  claimStart(key: string, holder: string, leaseMs: number): Promise<StartClaim>;
  /** Drops `holder`'s start claim on `key` (nothing when another holds it). */
  releaseStart(key: string, holder: string): Promise<void>;

  // ── runs (fenced) ──────────────────────────────────────────────────────────────────────────────────────────────
  /**
   * Starts a run of an existing file: sets `owner` and a fresh token, and applies `patch`. With `expected` (the
   * `run_token` the caller last read, null for an idle file) it is a compare-and-set: undefined is returned when
   * another run claimed the file in between. Without it the claim takes the file over unconditionally (recovery
   * of a run whose owner is known dead). Throws `not_found` when the file is gone.
   */
  claim(fileId: string, owner: string, patch?: FilePatch, expected?: RunToken | null): Promise<RunClaim | undefined>;
  /** Applies `patch` (and `updated_at`) for the run holding `token`; returns the row after it. */
  update(fileId: string, token: RunToken, patch: FilePatch): Promise<FileRow>;
  /** Ends a run: applies `patch`, clears `owner` and the token. Later writes with `token` throw `run_superseded`. */
  release(fileId: string, token: RunToken, patch: FilePatch): Promise<FileRow>;
  /** Replaces a file's thumbnails and segments in one transaction, for the run holding `token`. */
  replaceRenditions(fileId: string, token: RunToken, thumbnails: ThumbnailRow[], segments: SegmentRow[]): Promise<void>;

  // ── user commands (not fenced: no run writes these columns) ───────────────────────────────────────────────────
  /** Changes user-owned columns; returns the row after it. Throws `not_found`. */
  updateUserFields(fileId: string, patch: UserPatch): Promise<FileRow>;
  /** Deletes a file with its aliases, thumbnails and segments; false when it did not exist. */
  deleteFile(fileId: string): Promise<boolean>;
}
