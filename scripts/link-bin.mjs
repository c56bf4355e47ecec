// Makes `npx media-ingest` work inside this repository right after `npm ci`: npm links the bins of
// dependencies, not the package's own, so link ours into node_modules/.bin.
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const target = path.join(root, 'dist', 'src', 'cli', 'main.js');
const binDir = path.join(root, 'node_modules', '.bin');
if (existsSync(target) && existsSync(path.join(root, 'node_modules'))) {
  chmodSync(target, 0o755);
  mkdirSync(binDir, { recursive: true });
  const link = path.join(binDir, 'media-ingest');
  rmSync(link, { force: true });
  symlinkSync(path.relative(binDir, target), link);
}
