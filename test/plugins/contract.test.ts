// Runs the shared plugin contract (contract.ts) against every plugin registered as a built-in (pipeline.config.ts's
// builtinPlugins()) and every other plugin folder that brings a case (the third-party example). Cases are discovered
// at `plugins/*/test/contract.ts` and `examples/*/test/contract.ts`: a registered plugin without one fails here.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SourcePlugin } from '../../src/plugin-api.js';
import { builtinPlugins } from '../../pipeline.config.js';
import { ensureMedia } from '../support/media.js';
import { forbiddenImportsIn, hasFixtureFiles, importSpecifiers, pluginContract, REPO_ROOT } from './contract.js';
import type { PluginContractCase } from './contract.js';

ensureMedia();
const registered: SourcePlugin[] = builtinPlugins();

/** Every `<root>/*\/test/contract.ts`, imported, by the id of the plugin it makes. */
async function discoverCases(): Promise<Map<string, PluginContractCase>> {
  const cases = new Map<string, PluginContractCase>();
  for (const root of ['plugins', 'examples']) {
    for (const folder of readdirSync(path.join(REPO_ROOT, root))) {
      const file = path.join(REPO_ROOT, root, folder, 'test', 'contract.ts');
      if (!existsSync(file)) continue;
      const { contract } = (await import(pathToFileURL(file).href)) as { contract: PluginContractCase };
      cases.set(contract.plugin().id, contract);
    }
  }
  return cases;
}
const cases = await discoverCases();

describe('registered plugins', () => {
  it('pipeline.config.ts lists the built-in sources, the direct-http catch-all last', () => {
    expect(registered.map((p) => p.id)).toEqual(['dropbox', 'loom', 'tiktok', 'http']);
  });

  it.each(registered.map((p) => [p.id]))('%s has a contract case beside it (<folder>/test/contract.ts)', (id) => {
    expect(cases.get(id), `add plugins/<folder>/test/contract.ts for "${id}"`).toBeDefined();
  });

  it.each(registered.map((p) => [p.id]))('%s has fixtures', (id) => {
    const dir = cases.get(id)?.fixtures ?? '(no contract case)';
    expect(hasFixtureFiles(dir), `plugin "${id}" is registered but ${dir}/ holds no fixtures`).toBe(true);
  });

  it('ids are unique', () => {
    expect(new Set(registered.map((p) => p.id)).size).toBe(registered.length);
  });

  it('discovers the third-party example too', () => {
    expect([...cases.keys()]).toContain('example-vod');
  });
});

describe('the static import check itself', () => {
  it('finds every import form', () => {
    const source = [
      `import { a } from '../../src/plugin-api.js';`,
      `import type {\n  B,\n  C,\n} from '../../src/engine/ingest.js';`,
      `export { d } from './d.js';`,
      `import './side-effect.js';`,
      `const e = await import('../other/index.js');`,
    ].join('\n');
    expect(importSpecifiers(source)).toEqual(
      expect.arrayContaining(['../../src/plugin-api.js', '../../src/engine/ingest.js', './d.js', './side-effect.js', '../other/index.js']),
    );
  });

  it('flags engine internals, other plugins and package internals, not the plugin API', () => {
    const root = path.join(REPO_ROOT, 'plugins', 'bad');
    const file = path.join(root, 'index.ts');
    const source = [
      `import { IngestError } from '../../src/plugin-api.js';`,
      `import { sibling } from './sibling.js';`,
      `import { GuardedHttpClient } from '../../src/net/http-client.js';`,
      `import { tiktok } from '../tiktok/index.js';`,
      `import { createIngest } from 'media-ingest';`,
      `import type { SourcePlugin } from 'media-ingest/plugin';`,
    ].join('\n');
    expect(forbiddenImportsIn(root, [{ file, source }])).toEqual([
      `plugins/bad/index.ts imports '../../src/net/http-client.js'`,
      `plugins/bad/index.ts imports '../tiktok/index.js'`,
      `plugins/bad/index.ts imports 'media-ingest'`,
    ]);
  });
});

for (const plugin of registered) {
  const contract = cases.get(plugin.id);
  if (contract) pluginContract(plugin, contract);
}
for (const [id, contract] of cases) {
  if (!registered.some((p) => p.id === id)) pluginContract(contract.plugin(), contract);
}
