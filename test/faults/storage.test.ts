// Resource faults at the storage boundary: a full disk and a read-only data dir fail the file with
// `storage_error` and leave no partial blob. Real tmpfs mounts when this process may mount (root; an optional
// suite, see test/support/optional.ts), plus an injected ENOSPC/EROFS through the store's file-system facade that
// runs everywhere.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContainerModule } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS } from '../../src/engine/container.js';
import { Spool, nodeStorageFsForTests } from './storage-support.js';
import type { StorageFs } from '../../src/store/spool.js';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { startEngine, tempDataDir } from '../support/engine.js';
import { filesUnder } from './support.js';
import { requireOptional } from '../support/optional.js';

const HOST = 'disk.example.test';
let server: FixtureServer;

function mount(dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const unmount = (dir: string): void => {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  } catch {
    /* not mounted */
  }
};

/** Why this process cannot mount a tmpfs (it needs Linux and root with CAP_SYS_ADMIN), or null when it can. */
const mountMissing = ((): string | null => {
  if (process.platform !== 'linux') return `tmpfs mounts need Linux (this is ${process.platform})`;
  const probe = mkdtempSync(path.join(os.tmpdir(), 'mi-mount-probe-'));
  try {
    if (!mount(probe, 'size=64k')) {
      const onPath = (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, 'mount')));
      return onPath ? 'this process cannot mount a tmpfs (not root, or no CAP_SYS_ADMIN)' : 'the mount command is not on PATH';
    }
    unmount(probe);
    return null;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();
const CAN_MOUNT = requireOptional('storage faults on a real tmpfs', mountMissing, 'util-linux mount, as root on Linux or in a container with --cap-add SYS_ADMIN');

beforeAll(async () => {
  ensureMedia();
  server = await startFixtureServer();
  server.route('GET', '/big.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4'), { supportRange: true, headers: { etag: '"e"' } }));
  server.route('GET', '/small.mp3', (_req, res) => serveFile(res, mediaPath('sample.mp3')));
});
afterAll(async () => {
  await server?.close();
});

describe.skipIf(!CAN_MOUNT)('a real tiny or read-only file system (tmpfs)', () => {
  it('fails a file that does not fit (ENOSPC on a 2 MB data dir) with storage_error and no partial blob', async () => {
    const dataDir = tempDataDir('mi-enospc-');
    expect(mount(dataDir, 'size=2m')).toBe(true);
    try {
      const engine = await startEngine({ dataDir, connectTo: [connectToFor(server, [HOST])] });
      try {
        const file = await engine.ingest.sync(`http://${HOST}/big.mp4`, { wait: true });
        expect(file.status).toBe('failed');
        expect(file.error).toMatchObject({ code: 'storage_error', message: expect.stringMatching(/disk is full/) });
        expect(filesUnder(path.join(dataDir, 'tmp'))).toEqual([]);
        expect(filesUnder(path.join(dataDir, 'blobs'))).toEqual([]);
        // What fits still works once the space is back.
        const small = await engine.ingest.sync(`http://${HOST}/small.mp3`, { wait: true });
        expect(small.status).toBe('completed');
      } finally {
        await engine.ingest.close();
      }
    } finally {
      unmount(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('fails a file when the temp and blob folders are read-only (EROFS), and refuses syncs when the registry is', async () => {
    const dataDir = tempDataDir('mi-erofs-');
    const engine = await startEngine({ dataDir, connectTo: [connectToFor(server, [HOST])] });
    const ro = [path.join(dataDir, 'tmp'), path.join(dataDir, 'blobs')];
    try {
      for (const dir of ro) expect(mount(dir, 'ro,size=64k')).toBe(true);
      const file = await engine.ingest.sync(`http://${HOST}/small.mp3`, { wait: true });
      expect(file.status).toBe('failed');
      expect(file.error).toMatchObject({ code: 'storage_error', message: expect.stringMatching(/read-only/) });
    } finally {
      for (const dir of ro) unmount(dir);
      await engine.ingest.close();
    }
    // The whole data dir read-only (registry included): the engine refuses to start, with the storage code.
    const roData = tempDataDir('mi-erofs-all-');
    expect(mount(roData, 'size=4m')).toBe(true);
    try {
      const first = await startEngine({ dataDir: roData, connectTo: [connectToFor(server, [HOST])] });
      await first.ingest.close();
      execFileSync('mount', ['-o', 'remount,ro', roData], { stdio: 'ignore' });
      await expect(startEngine({ dataDir: roData })).rejects.toMatchObject({ code: 'storage_error', message: expect.stringMatching(/read-only|readonly|SQLITE/i) });
    } finally {
      unmount(roData);
      rmSync(roData, { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('faults injected at the storage boundary (runs everywhere)', () => {
  it.each([
    ['ENOSPC after 1 MB', faultyFs({ failAfterBytes: 1 << 20, code: 'ENOSPC' }), /disk is full/],
    ['EROFS on open', faultyFs({ failOpen: true, code: 'EROFS' }), /read-only/],
    ['EIO on fsync', faultyFs({ failSync: true, code: 'EIO' }), /EIO/],
  ])('%s fails the file with storage_error and leaves no partial blob', async (_name, fsys, message) => {
    const dataDir = tempDataDir('mi-inject-');
    const spool = new Spool(path.resolve(dataDir), fsys);
    const engine = await startEngine({
      dataDir,
      connectTo: [connectToFor(server, [HOST])],
      modules: [new ContainerModule(({ rebindSync }) => void rebindSync(TOKENS.Spool).toConstantValue(spool))],
    });
    try {
      const file = await engine.ingest.sync(`http://${HOST}/big.mp4`, { wait: true });
      expect(file.status).toBe('failed');
      expect(file.error).toMatchObject({ code: 'storage_error', message: expect.stringMatching(message) });
      expect(filesUnder(path.join(dataDir, 'tmp'))).toEqual([]);
      expect(filesUnder(path.join(dataDir, 'blobs'))).toEqual([]);
    } finally {
      await engine.close();
    }
  });
});

/** The real file system, except that partial-download writes fail as told. */
function faultyFs(options: { failAfterBytes?: number; failOpen?: boolean; failSync?: boolean; code: string }): StorageFs {
  const real = nodeStorageFsForTests;
  const fault = (): Error => Object.assign(new Error(`${options.code}: injected fault`), { code: options.code });
  let written = 0;
  return {
    ...real,
    async open(file, flags) {
      const handle = await (options.failOpen && file.endsWith('.part') ? Promise.reject(fault()) : real.open(file, flags));
      if (!file.endsWith('.part')) return handle;
      return {
        write: async (buffer, offset, length, position) => {
          written += length;
          if (options.failAfterBytes !== undefined && written > options.failAfterBytes) throw fault();
          return handle.write(buffer, offset, length, position);
        },
        writev: async (buffers, position) => {
          written += buffers.reduce((sum, b) => sum + b.length, 0);
          if (options.failAfterBytes !== undefined && written > options.failAfterBytes) throw fault();
          return handle.writev(buffers, position);
        },
        read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
        truncate: (length) => handle.truncate(length),
        sync: () => (options.failSync ? Promise.reject(fault()) : handle.sync()),
        datasync: () => (options.failSync ? Promise.reject(fault()) : handle.datasync()),
        stat: () => handle.stat(),
        close: () => handle.close(),
      };
    },
  };
}
