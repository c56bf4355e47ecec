// The console ships with the package: its folder is in package.json `files`, the built server finds it, and
// every file the page loads is one the server serves.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('console files in the package', () => {
  it('are listed in package.json files and found by the built server', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('console');
    const built = (await import(pathToFileURL(path.resolve('dist/src/server/console.js')).href)) as { consoleDirectory(): string | undefined };
    expect(built.consoleDirectory()).toBe(path.resolve('console'));
  });

  it('reference only files of the console folder, with no inline script or style', () => {
    const names = new Set(readdirSync('console'));
    const html = readFileSync('console/index.html', 'utf8');
    const referenced = [...html.matchAll(/(?:src|href)="([^"#][^"]*)"/g)].map((m) => m[1]!);
    const imported = names.has('app.js') ? [...readFileSync('console/app.js', 'utf8').matchAll(/from '\.\/([^']+)'/g)].map((m) => m[1]!) : [];
    expect(referenced.length).toBeGreaterThanOrEqual(2);
    for (const name of [...referenced, ...imported]) expect(names, name).toContain(name);
    expect(html).not.toMatch(/<style|style="|<script>/);
  });
});
