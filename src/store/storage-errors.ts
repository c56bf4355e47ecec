import { IngestError, isIngestError } from '../errors.js';

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
const READ_ONLY = new Set(['EROFS', 'SQLITE_READONLY', 'SQLITE_READONLY_DIRECTORY', 'SQLITE_READONLY_DBMOVED']);
const STORAGE_CODES = new Set([...DISK_FULL, ...READ_ONLY, 'EACCES', 'EPERM', 'EIO', 'EMFILE', 'ENFILE', 'EFBIG', 'SQLITE_CANTOPEN']);

/** True when `error` is a file-system or SQLite failure of the data dir (disk full, read-only, I/O error). */
export function isStorageFault(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (STORAGE_CODES.has(code) || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_READONLY'));
}

/** Turns file-system (and SQLite storage) failures into `storage_error`, keeping other IngestErrors. */
export function mapStorageError(error: unknown, what: string): IngestError {
  if (isIngestError(error)) return error;
  const code = String((error as NodeJS.ErrnoException | null)?.code ?? '');
  if (isStorageFault(error)) {
    const reason = DISK_FULL.has(code) ? 'the disk is full' : READ_ONLY.has(code) || code.startsWith('SQLITE_READONLY') ? 'the data dir is read-only' : code;
    return new IngestError('storage_error', `Could not write ${what}: ${reason} (${code})`, { cause: error });
  }
  return new IngestError('storage_error', `Could not write ${what}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
