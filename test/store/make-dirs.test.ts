// makeDirs: mkdir -p that fails with a code instead of hanging where Node's recursive mkdir never returns (/proc).
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirs, makeDirsSync } from '../../src/store/make-dirs.js';
import { runCli } from '../batch/support.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'mi-make-dirs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('makeDirs', () => {
  it('creates every missing level and accepts an existing directory', async () => {
    const deep = path.join(root, 'a', 'b', 'c');
    await makeDirs(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    await makeDirs(deep);
    makeDirsSync(path.join(root, 'x', 'y'));
    expect(statSync(path.join(root, 'x', 'y')).isDirectory()).toBe(true);
  });

  it('refuses a file in the way with ENOTDIR', async () => {
    writeFileSync(path.join(root, 'file'), 'x');
    await expect(makeDirs(path.join(root, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeDirs(path.join(root, 'file', 'below'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(() => makeDirsSync(path.join(root, 'file'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });

  it('fails under /proc (where fs.mkdir with recursive never settles) instead of hanging', async () => {
    await expect(makeDirs('/proc/media-ingest-test/deeper')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => makeDirsSync('/proc/media-ingest-test')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('the CLI answers a data dir under /proc with storage_error, and doctor reports it failed', async () => {
    // A command that opens the engine creates the data dir: it cannot, and says so.
    const del = await runCli(['delete', 'file_x', '--data-dir', '/proc/media-ingest-test'], { env: {} });
    expect(del.code).toBe(1);
    expect(JSON.parse(del.stdout)).toMatchObject({ code: 'storage_error' });
    // A read command creates nothing: the missing data dir holds no files.
    const list = await runCli(['list', '--data-dir', '/proc/media-ingest-test'], { env: {} });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({ object: 'list', total: 0 });
    const doctor = await runCli(['doctor', '--data-dir', '/proc/media-ingest-test'], { env: {} });
    expect(doctor.code).toBe(1);
    const report = JSON.parse(doctor.stdout) as { checks: Array<{ name: string; status: string }> };
    expect(report.checks.find((c) => c.name === 'data dir')).toMatchObject({ status: 'fail' });
  });
});
