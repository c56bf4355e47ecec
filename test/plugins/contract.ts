// The shared contract every source plugin must meet, run against each registered plugin (contract.test.ts) and the
// third-party example. A plugin brings a `PluginContractCase`: sample URLs in its declared forms, the hosts its
// stand-in answers for and how to install that stand-in on a loopback HTTPS fixture server.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { CookieJar } from 'tough-cookie';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/load-config.js';
import { GuardedHttpClient } from '../../src/net/http-client.js';
import { isIngestError } from '../../src/plugin-api.js';
import type { ErrorCode, ResolveContext, SourceIdentity, SourcePlugin } from '../../src/plugin-api.js';
import { connectToFor, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * What a plugin brings to the contract suite, in `<its folder>/test/contract.ts` (exported as `contract`), beside
 * its stand-in site (`test/site.ts`) and fixtures (`test/fixtures/`).
 */
export interface PluginContractCase {
  /** Makes the plugin (with its default options). */
  plugin: () => SourcePlugin;
  /** The plugin's folder, relative to the repo root (its imports are checked; its `test/` folder is not plugin code). */
  folder: string;
  /** Its fixtures folder, relative to the repo root (`<folder>/test/fixtures` unless shared). */
  fixtures: string;
  /** A URL in its canonical form (as `identify` reports it). */
  canonical: string;
  /** Other spellings and forms of the same item: each must have the canonical identity, offline. */
  sameItem: string[];
  /** Forms whose identity needs the network (short links): `identify` is undefined, `resolve` gives the canonical identity. */
  networkForms?: string[];
  /** URLs the plugin matches but refuses offline, with the code. */
  refused?: Array<{ url: string; code: ErrorCode }>;
  /** URLs it must not match (media hosts, other services). */
  notMatched?: string[];
  /** Hosts its stand-in answers for (routed to the fixture server). */
  hosts: string[];
  /** Installs the stand-in's routes. */
  install(server: FixtureServer): void;
}

const sameIdentity = (a: SourceIdentity | undefined, b: SourceIdentity | undefined): void => {
  expect(a).toBeDefined();
  expect(b).toEqual(a);
};

/** Module specifiers of every static or dynamic import/export-from and require in a TypeScript source. */
export function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?[^'";]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /(?:^|[\s;])import\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(full);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [full] : [];
  });
}

/**
 * Imports a plugin may not make, in the given sources (absolute paths) of a plugin rooted at `root`: anything in the
 * repo outside its own folder except `src/plugin-api`, and the package's internals (only `media-ingest/plugin` is
 * published for plugins).
 */
export function forbiddenImportsIn(root: string, files: Array<{ file: string; source: string }>): string[] {
  const api = path.join(REPO_ROOT, 'src', 'plugin-api');
  const problems: string[] = [];
  for (const { file, source } of files) {
    for (const specifier of importSpecifiers(source)) {
      const where = `${path.relative(REPO_ROOT, file)} imports '${specifier}'`;
      if (specifier.startsWith('.')) {
        const target = path.resolve(path.dirname(file), specifier).replace(/\.(js|ts)$/, '');
        if (target === api) continue;
        if (!target.startsWith(root + path.sep)) problems.push(where);
      } else if (specifier === 'media-ingest' || (specifier.startsWith('media-ingest/') && specifier !== 'media-ingest/plugin')) {
        problems.push(where);
      }
    }
  }
  return problems;
}

/**
 * {@link forbiddenImportsIn} for a plugin folder (relative to the repo root). A `pipeline.config.*` in it is skipped
 * (a config file registers plugins and may import the engine), and so is its `test/` folder (its contract case,
 * stand-in site and fixtures): neither is plugin code.
 */
export function forbiddenImports(folder: string): string[] {
  const root = path.resolve(REPO_ROOT, folder);
  const files = sourceFiles(root)
    .filter((file) => !/^pipeline\.config\./.test(path.basename(file)))
    .filter((file) => !path.relative(root, file).split(path.sep).includes('test'))
    .map((file) => ({ file, source: readFileSync(file, 'utf8') }));
  return forbiddenImportsIn(root, files);
}

/** True when `dir` exists and holds at least one file (at any depth). */
export function hasFixtureFiles(dir: string): boolean {
  const absolute = path.resolve(REPO_ROOT, dir);
  try {
    if (!statSync(absolute).isDirectory()) return false;
  } catch {
    return false;
  }
  const walk = (d: string): boolean =>
    readdirSync(d, { withFileTypes: true }).some((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : true));
  return walk(absolute);
}

/** Registers the contract tests of one plugin. */
export function pluginContract(plugin: SourcePlugin, contract: PluginContractCase): void {
  describe(`plugin contract: ${plugin.id}`, () => {
    it('declares an id, a description and its URL forms', () => {
      expect(plugin.id).toMatch(/^[a-z0-9][a-z0-9-]*$/);
      expect(plugin.description.trim().length).toBeGreaterThan(10);
      expect(plugin.urlForms.length).toBeGreaterThan(0);
      for (const form of plugin.urlForms) expect(form).toMatch(/^https?:\/\/\S/);
    });

    it('imports nothing from the engine but the published plugin API, and no other plugin', () => {
      expect(forbiddenImports(contract.folder)).toEqual([]);
    });

    it('has fixtures', () => {
      expect(hasFixtureFiles(contract.fixtures), `no fixture files under ${contract.fixtures}`).toBe(true);
    });

    it('matches and identifies its canonical URL as a fixed point, with a namespaced key', () => {
      const url = new URL(contract.canonical);
      expect(plugin.matches(url)).toBe(true);
      const identity = plugin.identify(url);
      expect(identity?.key.startsWith(`${plugin.id}:`)).toBe(true);
      expect(identity?.canonicalUrl).toBe(contract.canonical);
      sameIdentity(identity, plugin.identify(new URL(identity!.canonicalUrl)));
      sameIdentity(identity, plugin.identify(new URL(contract.canonical)));
    });

    it('gives every declared form of the item the same identity, offline', () => {
      const expected = plugin.identify(new URL(contract.canonical));
      for (const form of contract.sameItem) {
        const url = new URL(form);
        expect(plugin.matches(url), form).toBe(true);
        expect(plugin.identify(url), form).toEqual(expected);
      }
    });

    it('refuses what it cannot sync with an IngestError (never a bare Error), and leaves other URLs alone', () => {
      for (const { url, code } of contract.refused ?? []) {
        const parsed = new URL(url);
        expect(plugin.matches(parsed), url).toBe(true);
        let thrown: unknown;
        try {
          plugin.identify(parsed);
        } catch (error) {
          thrown = error;
        }
        expect(isIngestError(thrown), `${url} should throw an IngestError`).toBe(true);
        expect((thrown as { code: string }).code, url).toBe(code);
      }
      for (const url of contract.notMatched ?? []) expect(plugin.matches(new URL(url)), url).toBe(false);
      expect(plugin.matches(new URL('ftp://example.com/a.mp4'))).toBe(false);
    });

    describe('resolve (against its loopback stand-in)', () => {
      let server: FixtureServer;
      let http: GuardedHttpClient;
      const context = (): ResolveContext => ({
        http, cookies: new CookieJar(), logger: pino({ level: 'silent' }), signal: AbortSignal.timeout(30_000), userAgent: defaultConfig().network.userAgent,
      });

      beforeAll(async () => {
        server = await startFixtureServer({ https: true });
        contract.install(server);
        const network = { ...defaultConfig().network, connectTo: [connectToFor(server, contract.hosts)] };
        http = new GuardedHttpClient({ network, maxBytes: 1 << 30, logger: pino({ level: 'silent' }) });
      });

      afterAll(async () => {
        await http?.close();
        await server?.close();
      });

      it('returns the identity of identify() and an http(s) download request that the source serves', async () => {
        const url = new URL(contract.canonical);
        const ctx = context();
        const resolved = await plugin.resolve(url, ctx);
        expect(resolved.identity).toEqual(plugin.identify(url));
        const download = new URL(resolved.download.url);
        expect(['https:', 'http:']).toContain(download.protocol);
        for (const value of Object.values(resolved.download.headers ?? {})) expect(typeof value).toBe('string');
        if (resolved.sourceMetadata) expect(resolved.sourceMetadata['source_type']).toBe(plugin.id);
        const { url: href, method, headers, cookieJar } = resolved.download;
        const response = await http.request(href, { method: method ?? 'GET', headers: headers ?? {}, ...(cookieJar ? { cookieJar } : {}), signal: ctx.signal });
        // Read the first chunk and stop: HttpResponse.dump() on a body never read leaves undici's connection open
        // until the idle timeout, which would hold the client's close() for 30 s.
        for await (const _chunk of response.body) break;
        expect(response.status, `GET ${href}`).toBe(200);
      });

      it.skipIf(!contract.networkForms?.length)('resolves network-only forms (short links) to the canonical identity', async () => {
        const expected = plugin.identify(new URL(contract.canonical));
        for (const form of contract.networkForms ?? []) {
          const url = new URL(form);
          expect(plugin.matches(url), form).toBe(true);
          expect(plugin.identify(url), form).toBeUndefined();
          const resolved = await plugin.resolve(url, context());
          expect(resolved.identity, form).toEqual(expected);
        }
      });
    });
  });
}
