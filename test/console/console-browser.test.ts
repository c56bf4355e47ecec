// The web console end to end: Debian's Chromium (headless, driven by playwright-core) against a real
// `media-ingest serve` process, which downloads a generated mp4 from a loopback fixture server answering for a
// public hostname. Enter the key, paste a URL, watch it complete, see the poster and the segment thumbnails.
// Writes test/artifacts/console.png (git-ignored); set CONSOLE_SCREENSHOT=docs/console.png to refresh the README's.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToFor, serveFile, startFixtureServer } from '../support/fixture-server.js';
import type { FixtureServer } from '../support/fixture-server.js';
import { ensureMedia, mediaPath } from '../support/media.js';
import { startEngine, tempDataDir } from '../support/engine.js';
import Fastify from 'fastify';
import { mediaIngestApi } from '../../src/server/index.js';
import { requireOptional } from '../support/optional.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MAIN = path.resolve('dist/src/cli/main.js');
const KEY = 'console-test-key-4f1c2b';
const MEDIA_HOST = 'videos.example.test';
const ARTIFACT = path.resolve('test/artifacts/console.png');

function chromiumMissing(): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is not installed`;
  const probe = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? null : `${CHROMIUM} --version failed: ${probe.stderr.trim().slice(0, 200)}`;
}

interface Served {
  child: ChildProcess;
  url: Promise<string>;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** `media-ingest serve` as a user starts it, from the build. */
function serve(dataDir: string, connectTo: string): Served {
  const child = spawn(process.execPath, [MAIN, '--data-dir', dataDir, 'serve', '--port', '0'], {
    env: { ...process.env, MEDIA_INGEST_API_KEYS: KEY, MEDIA_INGEST_CONNECT_TO: connectTo, MEDIA_INGEST_CONFIG: undefined, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { listening: string }).listening);
    });
    void exit.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err, exit };
}

const runBrowser = requireOptional('console in a browser', chromiumMissing(), 'apt-get install chromium');

describe.skipIf(!runBrowser)('web console in Chromium against media-ingest serve', () => {
  let fixtures: FixtureServer;
  let dataDir: string;
  let served: Served;
  let origin: string;
  let profile: string;
  // playwright-core's types, loaded only when the suite runs.
  let browser: import('playwright-core').BrowserContext;

  beforeAll(async () => {
    ensureMedia();
    fixtures = await startFixtureServer();
    fixtures.route('GET', '/trailer.mp4', (_req, res) => serveFile(res, mediaPath('sample.mp4'), { dripBytesPerSecond: 2_000_000 }));
    fixtures.route('GET', '/short.mov', (_req, res) => serveFile(res, mediaPath('sample.mov')));
    fixtures.route('GET', '/broken.mp4', (_req, res) => serveFile(res, mediaPath('garbage.mp4')));
    fixtures.route('GET', '/missing.mp4', (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('gone');
    });
    dataDir = tempDataDir('mi-console-');
    served = serve(dataDir, connectToFor(fixtures, [MEDIA_HOST]));
    origin = await served.url;
    profile = mkdtempSync(path.join(tmpdir(), 'mi-chromium-'));
    const { chromium } = await import('playwright-core');
    // A fresh profile directory per run (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1100, height: 760 },
      deviceScaleFactor: 1,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    served?.child.kill('SIGTERM');
    if (served) await served.exit;
    await fixtures?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('serves the page with a strict CSP and no framing', async () => {
    const page = await fetch(`${origin}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const redirect = await fetch(`${origin}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/console/');
    expect((await fetch(`${origin}/console/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${origin}/console/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${origin}/v1/files`)).status).toBe(401);
  });

  it('asks for the key, syncs a pasted URL, shows it complete with its poster and segment thumbnails', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    const requestedUrls: string[] = [];
    page.on('request', (request) => requestedUrls.push(request.url()));
    try {
      await page.goto(`${origin}/console`);
      // A wrong key is refused and the form stays.
      await page.getByLabel('API key').fill('not-the-key');
      await page.getByRole('button', { name: 'Open' }).click();
      await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
      await page.getByLabel('API key').fill(KEY);
      await page.getByLabel('API key').press('Enter');
      await page.getByRole('heading', { name: 'Files', level: 1 }).waitFor();
      expect(await page.evaluate(() => Object.keys(window.sessionStorage))).toEqual(['media-ingest.console.key']);
      const unlabelled = await page.locator('input').evaluateAll((inputs: HTMLInputElement[]) => inputs.filter((input) => input.labels?.length === 0).map((input) => input.id));
      expect(unlabelled).toEqual([]);

      // Paste a URL and sync it; the tile follows it live until it completes.
      await page.getByLabel('Media URL').fill(`http://${MEDIA_HOST}/trailer.mp4`);
      await page.getByRole('button', { name: 'Sync' }).click();
      const tile = page.locator('li.tile').filter({ hasText: 'trailer.mp4' });
      // Live progress from the event stream (the page never polls): a download stage, then the completed badge.
      await tile.locator('.progress-text').filter({ hasText: /downloading|probing|thumbnails/ }).waitFor({ timeout: 30_000 });
      await tile.locator('.badge.status-completed').waitFor({ timeout: 90_000 });
      const poster = tile.locator('img.poster');
      await poster.waitFor();
      await expect.poll(() => poster.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
      expect(await poster.getAttribute('src')).toMatch(/^blob:/);

      // A second file and a failing one, so the grid shows more than one state.
      await page.getByLabel('Media URL').fill(`http://${MEDIA_HOST}/short.mov`);
      await page.getByRole('button', { name: 'Sync' }).click();
      await page.locator('li.tile').filter({ hasText: 'short.mov' }).locator('.badge.status-completed').waitFor({ timeout: 60_000 });
      await page.getByLabel('Media URL').fill(`http://${MEDIA_HOST}/missing.mp4`);
      await page.getByRole('button', { name: 'Sync' }).click();
      const refused = page.locator('#sync-feedback .error');
      const failedTile = page.locator('li.tile').filter({ hasText: 'missing.mp4' }).locator('.badge.status-failed');
      await refused.or(failedTile).first().waitFor({ timeout: 60_000 });
      expect(await refused.innerText()).toContain('source_not_found');

      // A file that downloads but cannot be decoded fails: its page shows the error code and message.
      await page.getByLabel('Media URL').fill(`http://${MEDIA_HOST}/broken.mp4`);
      await page.getByRole('button', { name: 'Sync' }).click();
      const broken = page.locator('li.tile').filter({ hasText: 'broken.mp4' });
      await broken.locator('.badge.status-failed').waitFor({ timeout: 60_000 });
      expect(await page.locator('#files-summary').innerText()).toBe('3 files');
      await broken.locator('a').click();
      const failure = page.locator('#file-error');
      await failure.getByText('media_corrupt').waitFor();
      expect(await failure.innerText()).toMatch(/cannot be read/);
      await page.getByRole('link', { name: '← All files' }).click();
      await page.getByRole('heading', { name: 'Files', level: 1 }).waitFor();
      await tile.locator('img.poster').waitFor();

      await page.screenshot({ path: ARTIFACT.replace(/\.png$/, '-grid.png') });

      // The file page: media info, the segment strip (45 s in 20 s segments: 3), every image loaded.
      await tile.locator('a').click();
      await page.getByRole('heading', { name: 'trailer.mp4' }).waitFor();
      const strip = page.locator('#strip ol.strip img');
      await expect.poll(() => strip.count(), { timeout: 30_000 }).toBe(3);
      // Thumbnails are fetched with the key into blob: URLs: wait until all four (poster + 3 segments) have decoded.
      await expect
        .poll(() => page.locator('main img').evaluateAll((images: HTMLImageElement[]) => images.map((img) => img.naturalWidth > 0)), { timeout: 30_000 })
        .toEqual([true, true, true, true]);
      const widths = await page.locator('main img').evaluateAll((images: HTMLImageElement[]) => images.map((img) => img.naturalWidth));
      expect(widths.every((width) => width > 0), String(widths)).toBe(true);
      expect(await page.getByRole('img', { name: /Segment 2, 0:20 to 0:40/ }).count()).toBe(1);
      const info = await page.locator('dl.info').innerText();
      expect(info).toMatch(/Duration\s+0:45/);
      expect(info).toMatch(/Resolution\s+320 × 240/);
      // Accessible names: every image has alt text, every form control a label, every button a name.
      expect(await page.locator('img:not([alt]), img[alt=""]').count()).toBe(0);
      for (const button of await page.getByRole('button').all()) expect((await button.innerText()).trim()).not.toBe('');
      mkdirSync(path.dirname(ARTIFACT), { recursive: true });
      await page.screenshot({ path: ARTIFACT, fullPage: true });
      if (process.env.CONSOLE_SCREENSHOT) {
        // The README's picture: the same page, downscaled to a small palette PNG.
        const { default: sharp } = await import('sharp');
        await sharp(await page.screenshot({ fullPage: true })).resize({ width: 880 }).png({ palette: true, colours: 128, effort: 10 }).toFile(path.resolve(process.env.CONSOLE_SCREENSHOT));
      }

      // The key never appeared in a URL the page requested.
      expect(requestedUrls.filter((url) => url.includes(KEY))).toEqual([]);

      // Delete from the file page: back on the grid without it.
      page.once('dialog', (dialog) => void dialog.accept());
      await page.getByRole('button', { name: 'Delete file' }).click();
      await page.getByRole('heading', { name: 'Files', level: 1 }).waitFor();
      await expect.poll(() => page.locator('li.tile').filter({ hasText: 'trailer.mp4' }).count()).toBe(0);
      const api = await fetch(`${origin}/v1/files?limit=10`, { headers: { authorization: `Bearer ${KEY}` } });
      const names = ((await api.json()) as { data: Array<{ filename: string }> }).data.map((f) => f.filename);
      expect(names).not.toContain('trailer.mp4');
      expect(names).toContain('short.mov');
      expect(problems.filter((p) => !p.includes('status of 401') && !p.includes('status of 404'))).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('works under a mount prefix, with thumbnail URLs on another public base URL fetched from this origin', async () => {
    const engine = await startEngine({ publicBaseUrl: 'https://media.example.invalid/media', connectTo: [connectToFor(fixtures, [MEDIA_HOST])] });
    const host = Fastify();
    host.get('/', async () => ({ app: 'host' }));
    await host.register(mediaIngestApi, { prefix: '/media', ingest: engine.ingest, apiKeys: [KEY] });
    const hostUrl = await host.listen({ host: '127.0.0.1', port: 0 });
    const page = await browser.newPage();
    try {
      const redirect = await fetch(`${hostUrl}/media/console`, { redirect: 'manual' });
      expect(redirect.headers.get('location')).toBe('/media/console/');
      await page.goto(`${hostUrl}/media/console`);
      expect(page.url()).toBe(`${hostUrl}/media/console/`);
      await page.getByLabel('API key').fill(KEY);
      await page.getByRole('button', { name: 'Open' }).click();
      await page.getByLabel('Media URL').fill(`http://${MEDIA_HOST}/short.mov`);
      await page.getByLabel('Segment thumbnails').uncheck();
      await page.getByRole('button', { name: 'Sync' }).click();
      const tile = page.locator('li.tile').filter({ hasText: 'short.mov' });
      await tile.locator('.badge.status-completed').waitFor({ timeout: 60_000 });
      const poster = tile.locator('img.poster');
      await expect.poll(() => poster.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
      // A file synced by someone else shows up on Refresh.
      const other = await fetch(`${hostUrl}/media/v1/files/sync`, {
        method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `http://${MEDIA_HOST}/trailer.mp4`, enable_segment_thumbnails: false }),
      });
      expect(other.status).toBe(200);
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.locator('li.tile').filter({ hasText: 'trailer.mp4' }).waitFor();
      expect(await page.locator('#files-summary').innerText()).toBe('2 files');
      await tile.locator('a').press('Enter');
      await page.getByRole('heading', { name: 'short.mov', level: 1 }).waitFor();
      await page.getByText('No segment thumbnails for this file.').waitFor();
    } finally {
      await page.close();
      await host.close();
      await engine.close();
    }
  });
});
