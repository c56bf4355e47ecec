// The resolve hook of module-trace.mjs (runs on the loader's thread): records each resolved module URL.
import { appendFileSync } from 'node:fs';

let file;

export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (!resolved.url.startsWith('node:')) appendFileSync(file, `${resolved.url}\n`);
  return resolved;
}
