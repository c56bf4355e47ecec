/**
 * The web console: static HTML/CSS/ES modules from the package's `console/` folder, served at `<prefix>/console/`
 * inside the API plugin (so it follows any mount prefix). The files hold no secrets and are served without
 * authentication; everything they show comes from the `/v1` API, called with the bearer key the user enters
 * (kept in `sessionStorage`, sent only in the `Authorization` header). Every console response carries a strict
 * Content-Security-Policy (same-origin scripts and styles only, no inline code, images from the API as `blob:`),
 * and forbids framing.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { IngestError } from '../errors.js';

/** Headers of every console response. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob:", "connect-src 'self'",
    "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
  'cache-control': 'no-cache',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The package's `console/` folder, from `src/server` (tsx) or `dist/src/server` (built). */
export function consoleDirectory(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [path.resolve(here, '../../console'), path.resolve(here, '../../../console')].find((dir) => existsSync(path.join(dir, 'index.html')));
}

/** The console's files (name → body), read once: only these names are ever served. */
function loadAssets(dir: string): Map<string, { body: Buffer; type: string }> {
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type && /^[a-z0-9-]+\.[a-z]+$/.test(name)) assets.set(name, { body: readFileSync(path.join(dir, name)), type });
  }
  return assets;
}

/**
 * Registers `GET /console` (a redirect to `/console/`), `/console/` (the page) and `/console/<file>` on `app`,
 * as public routes of the API plugin. Without the files (a repackaged install) it logs a warning and serves none.
 */
export function registerConsole(app: FastifyInstance, options: { dir?: string } = {}): void {
  const dir = options.dir ?? consoleDirectory();
  if (!dir) {
    // A repackaged install without the folder: the API still works, the console answers 404.
    app.log.warn('media-ingest: the console files (console/index.html) are missing from the package; /console is off');
    return;
  }
  const assets = loadAssets(dir);
  const send = (reply: FastifyReply, name: string): FastifyReply => {
    const asset = assets.get(name);
    if (!asset) throw new IngestError('not_found', `No console file ${name}`);
    return reply.headers(CONSOLE_HEADERS).header('content-type', asset.type).send(asset.body);
  };
  const config = { public: true };
  app.get('/console', { config }, async (_request, reply) => reply.headers(CONSOLE_HEADERS).redirect(`${app.prefix}/console/`, 308));
  app.get('/console/', { config }, async (_request, reply) => send(reply, 'index.html'));
  app.get<{ Params: { file: string } }>('/console/:file', { config }, async (request, reply) => send(reply, request.params.file));
}
