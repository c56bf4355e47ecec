/** Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Append only. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE files (
    id TEXT PRIMARY KEY,
    identity_hash TEXT NOT NULL UNIQUE,
    identity_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','processing','completed','failed','not_applicable')),
    url TEXT NOT NULL,
    canonical_url TEXT NOT NULL,
    source TEXT NOT NULL,
    filename TEXT NOT NULL,
    bytes INTEGER,
    content_sha256 TEXT,
    metadata TEXT,
    media_type TEXT,
    media_info TEXT,
    source_metadata TEXT,
    error_code TEXT,
    error_message TEXT,
    progress_received INTEGER,
    progress_total INTEGER,
    enable_segment_thumbnails INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
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
    time REAL NOT NULL,
    segment_id TEXT,
    path TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX thumbnails_file ON thumbnails(file_id);
  CREATE TABLE segments (
    id TEXT PRIMARY KEY,
    file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start_time REAL NOT NULL,
    end_time REAL NOT NULL,
    thumbnail_id TEXT
  );
  CREATE INDEX segments_file ON segments(file_id);
  `,
  // 2: which process works on a file (`host:pid`), so a restart can tell orphaned work from live work.
  `ALTER TABLE files ADD COLUMN owner TEXT;`,
  // 3: retries (shown in progress) and the resume state of an interrupted download (see ResumeState).
  `
  ALTER TABLE files ADD COLUMN attempt INTEGER;
  ALTER TABLE files ADD COLUMN retries INTEGER;
  ALTER TABLE files ADD COLUMN retry_error_code TEXT;
  ALTER TABLE files ADD COLUMN retry_error_message TEXT;
  ALTER TABLE files ADD COLUMN resume_state TEXT;
  `,
  // 4: the fencing token of the run in progress (see Registry.claim).
  `ALTER TABLE files ADD COLUMN run_token TEXT;`,
];
