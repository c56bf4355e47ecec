// `node --import ./test/support/module-trace.mjs …` with MODULE_TRACE_FILE set: appends every module the process
// loads to that file, one URL or path a line: ES modules as the loader resolves them (a resolve hook, which sees
// static and dynamic imports alike), CommonJS modules from require's cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.MODULE_TRACE_FILE;
if (file) {
  register(new URL('./module-trace-hooks.mjs', import.meta.url), { data: { file } });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => appendFileSync(file, Object.keys(cache).map((p) => `${p}\n`).join('')));
}
