import fs from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { makeDirs } from './make-dirs.js';

/** An open file as the store uses it (Node's `FileHandle` satisfies it). */
export interface StorageFile {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  /** Writes the buffers in order at `position` (one `pwritev`); may write fewer bytes than given. */
  writev(buffers: Buffer[], position: number): Promise<{ bytesWritten: number }>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  truncate(length?: number): Promise<void>;
  /** Flushes data and metadata (fsync). */
  sync(): Promise<void>;
  /** Flushes data (fdatasync). */
  datasync(): Promise<void>;
  stat(): Promise<Stats>;
  close(): Promise<void>;
}

/**
 * The file-system calls of the blob store, in one small facade: production uses Node's `fs/promises`; tests inject
 * faults here (ENOSPC after N bytes, EROFS) when they cannot make a real tiny or read-only file system.
 */
export interface StorageFs {
  open(path: string, flags: string): Promise<StorageFile>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options?: { recursive?: boolean; force?: boolean }): Promise<void>;
  mkdir(path: string, options?: { recursive?: boolean }): Promise<unknown>;
  stat(path: string): Promise<Stats>;
  readdir(path: string): Promise<string[]>;
}

/** The real file system. */
export const nodeStorageFs: StorageFs = {
  open: (path, flags) => fs.open(path, flags),
  rename: (from, to) => fs.rename(from, to),
  rm: (path, options) => fs.rm(path, options),
  mkdir: (path, options) => (options?.recursive ? makeDirs(path) : fs.mkdir(path, options)),
  stat: (path) => fs.stat(path),
  readdir: (path) => fs.readdir(path),
};
