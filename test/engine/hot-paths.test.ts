// The API's hot paths at the engine level: a re-sync answers from the alias with each caller's own view, the URL
// policy memo answers exactly what the policy answers, and per-request loggers write what eager children write.
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/adapters/local/sqlite-migrations.js';
import { FILE_COLUMNS, THUMBNAIL_COLUMNS } from '../../src/adapters/local/sqlite-rows.js';
import { CheckedUrls } from '../../src/engine/checked-urls.js';
import { sha256 } from '../../src/engine/file-rows.js';
import { normalizeUrl } from '../../src/url/normalize.js';
import { parseAndCheckUrl } from '../../src/url/policy.js';
import { lazyChildLogger } from '../../src/server/request-logger.js';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { startEngine } from '../support/engine.js';
import type { TestEngine } from '../support/engine.js';

describe('re-sync of a synced URL', () => {
  let server: FixtureServer;
  let engine: TestEngine;
  const url = 'http://hot.example.test/clip.mp4';

  beforeAll(async () => {
    ensureMedia();
    server = await startFixtureServer();
    server.route('GET', '/clip.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4')));
    engine = await startEngine({ connectTo: [connectToFor(server, ['hot.example.test'])] });
  });

  afterAll(async () => {
    await engine?.close();
    await server?.close();
  });

  it('answers concurrent callers from one alias lookup, each with its own origin in thumbnail URLs', async () => {
    const { ingest } = engine;
    const first = await ingest.sync(url, { wait: true });
    expect(first.status).toBe('completed');
    expect(first.thumbnail_url).toMatch(/^\/v1\/files\//);
    const [a, b, plain] = await Promise.all([
      ingest.sync(url, { baseUrl: 'http://a.example.test' }),
      ingest.sync(url, { baseUrl: 'https://b.example.test/media' }),
      ingest.sync(url),
    ]);
    for (const file of [a, b, plain]) expect(file.id).toBe(first.id);
    expect(a.thumbnail_url).toBe(`http://a.example.test${first.thumbnail_url}`);
    expect(b.thumbnail_url).toBe(`https://b.example.test/media${first.thumbnail_url}`);
    expect(plain).toEqual(first);
    expect(await ingest.get(first.id, { baseUrl: 'http://a.example.test' })).toEqual(a);
    expect(server.count('GET', '/clip.mp4')).toBe(1);
  });
});

describe('CheckedUrls', () => {
  const policy = (raw: string) => {
    const url = parseAndCheckUrl(raw, { maxUrlLength: 8192, pageHosts: false });
    return { href: url.href, aliasHash: sha256(`alias:${normalizeUrl(url)}`) };
  };

  it('answers what the policy answers, for new and remembered texts', () => {
    const urls = new CheckedUrls(8192);
    for (const raw of ['https://Example.test/a.mp4?x=1#frag', '  http://example.test:80/a%7e.mp4 ', 'https://example.test/a.mp4?x=1']) {
      expect(urls.check(raw)).toEqual(policy(raw));
      expect(urls.check(raw)).toEqual(policy(raw));
    }
  });

  it('refuses a refused text every time, and keeps at most its capacity', () => {
    const urls = new CheckedUrls(40, 2);
    for (let i = 0; i < 2; i++) expect(() => urls.check('ftp://example.test/a.mp4')).toThrow(expect.objectContaining({ code: expect.any(String) }));
    expect(() => urls.check(`https://example.test/${'a'.repeat(60)}`)).toThrow();
    const accepted = ['https://a.test/1', 'https://a.test/2', 'https://a.test/3'].map((raw) => urls.check(raw));
    expect((urls as unknown as { accepted: Map<string, unknown> }).accepted.size).toBe(2);
    expect(Object.isFrozen(accepted[0])).toBe(true);
  });

  it('does not keep a text longer than the URL limit (whitespace padding passes the trimmed check)', () => {
    const urls = new CheckedUrls(40, 8);
    const padded = `https://a.test/1${' '.repeat(10_000)}`;
    expect(urls.check(padded)).toEqual(policy(padded));
    expect((urls as unknown as { accepted: Map<string, unknown> }).accepted.size).toBe(0);
  });
});

describe('lazyChildLogger', () => {
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
    return { lines, logger: pino({ level: 'warn', base: { pid: 1 }, timestamp: false }, stream) };
  };

  it('writes what an eager child writes, and nothing below the level', () => {
    const eager = capture();
    const lazy = capture();
    const a = eager.logger.child({ reqId: 'req-1' });
    const b = lazyChildLogger(lazy.logger, { reqId: 'req-1' }, {});
    for (const log of [a, b]) {
      log.info({ x: 1 }, 'hidden');
      log.debug('hidden');
      log.warn({ code: 'x' }, 'shown %s', 'here');
      log.error(new Error('boom'));
      log.child({ part: 2 }).error('from a grandchild');
    }
    expect(lazy.lines).toEqual(eager.lines);
    expect(lazy.lines.map((l) => l.msg)).toEqual(['shown here', 'boom', 'from a grandchild']);
    expect(lazy.lines.every((l) => l.reqId === 'req-1')).toBe(true);
  });

  it('follows its own level once set, and makes a real child for explicit options', () => {
    const { lines, logger } = capture();
    const child = lazyChildLogger(logger, { reqId: 'r' }, {});
    expect(child.level).toBe('warn');
    child.level = 'debug';
    child.debug('now shown');
    expect(lines.map((l) => l.msg)).toEqual(['now shown']);
    expect(logger.level).toBe('warn');
    const own = lazyChildLogger(logger, { reqId: 's' }, { level: 'trace' });
    own.trace('traced');
    expect(lines.at(-1)).toMatchObject({ msg: 'traced', reqId: 's' });
  });
});

describe('raw rows of the hot reads', () => {
  it('select every column of files and thumbnails, in table order', () => {
    const db = new Database(':memory:');
    for (const migration of MIGRATIONS) db.exec(migration);
    const columns = (table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
    expect([...FILE_COLUMNS]).toEqual(columns('files'));
    expect([...THUMBNAIL_COLUMNS]).toEqual(columns('thumbnails'));
    db.close();
  });
});
