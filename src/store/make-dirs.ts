import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p` without Node's `{ recursive: true }`, which never returns for a path under a pseudo file system such as
 * `/proc` (the kernel answers ENOENT for every level and libuv retries forever). Each missing level is created once,
 * from the deepest existing ancestor down; the first error that creating cannot fix (ENOENT twice, EACCES, EROFS,
 * ENOTDIR, ENOSPC) is thrown as it is, so callers map it like any other storage error.
 */
export async function makeDirs(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return existingDirectory(error, (await stat(dir)).isDirectory());
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    await makeDirs(parent);
    try {
      await mkdir(dir);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
      existingDirectory(again, (await stat(dir)).isDirectory());
    }
  }
}

/** {@link makeDirs} for synchronous callers (opening the SQLite registry). */
export function makeDirsSync(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return existingDirectory(error, statSync(dir).isDirectory());
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    makeDirsSync(parent);
    try {
      mkdirSync(dir);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
      existingDirectory(again, statSync(dir).isDirectory());
    }
  }
}

/** An EEXIST is success only when the path is a directory; a file in the way is ENOTDIR. */
function existingDirectory(error: unknown, isDirectory: boolean): void {
  if (isDirectory) return;
  throw Object.assign(new Error(`${(error as NodeJS.ErrnoException).path ?? 'path'} exists and is not a directory`), { code: 'ENOTDIR' });
}
