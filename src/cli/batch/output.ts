/**
 * The output side of `media-ingest batch`: JSON lines to stdout or to `--output PATH`. Every result is written
 * as one complete line in a single synchronous write, so whatever stops the process (Ctrl-C, a crash) leaves
 * a file whose lines all parse; the file is fsynced and closed at the end.
 */
import { closeSync, fstatSync, fsyncSync, openSync, writeSync } from 'node:fs';

/** Where result lines go. */
export interface ResultSink {
  /** Writes one value as one JSON line. */
  write(value: unknown): void;
  /** Flushes (fsync for files, drain for stdout) and closes. Idempotent. */
  close(): Promise<void>;
}

/** Opens (creates or truncates) `path` for result lines. Throws the fs error when it cannot be opened. */
export function fileSink(path: string): ResultSink {
  let fd: number | undefined = openSync(path, 'w');
  return {
    write(value) {
      if (fd === undefined) return;
      const bytes = Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    },
    async close() {
      if (fd === undefined) return;
      const open = fd;
      fd = undefined;
      try {
        // Devices and pipes (`--output /dev/stdout`) have nothing to sync.
        if (fstatSync(open).isFile()) fsyncSync(open);
      } catch (error) {
        process.stderr.write(`batch: flushing the output failed: ${(error as Error).message}\n`);
      } finally {
        closeSync(open);
      }
    },
  };
}

/**
 * Result lines on stdout. `onBroken` is called once if stdout goes away (EPIPE, e.g. `| head`); writes are
 * dropped after that.
 */
export function stdoutSink(onBroken: () => void): ResultSink {
  const stdout = process.stdout;
  let broken = false;
  const onError = (): void => {
    if (broken) return;
    broken = true;
    onBroken();
  };
  stdout.on('error', onError);
  return {
    write(value) {
      if (broken) return;
      stdout.write(`${JSON.stringify(value)}\n`);
    },
    async close() {
      if (!broken && stdout.writableNeedDrain) {
        await new Promise<void>((resolve) => {
          stdout.once('drain', resolve);
          stdout.once('error', resolve);
        });
      }
      stdout.off('error', onError);
    },
  };
}
