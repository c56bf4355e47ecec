// Records the packaged config's default export as dist/pipeline.config.json, so commands that load no plugins (the
// CLI's get/list/thumbnails/segments) read the default config without importing pipeline.config.js and every
// plugin it names. Written only when the export is plain data (what JSON keeps is all there is); otherwise any old
// record is removed and those commands import the file like every other command.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const compiled = path.join(root, 'dist', 'pipeline.config.js');
const record = path.join(root, 'dist', 'pipeline.config.json');

rmSync(record, { force: true });
const config = (await import(pathToFileURL(compiled).href)).default;
const text = JSON.stringify(config);
if (config && typeof config === 'object' && text !== undefined && isDeepStrictEqual(JSON.parse(text), config)) {
  writeFileSync(record, `${text}\n`);
} else {
  process.stderr.write('precompile-config: the default export of pipeline.config is not plain data; no record written\n');
}
