// Runs the shared plugin contract (contract.ts) against every plugin registered in the default pipeline.config.ts,
// and against the third-party example. Fails when a registered plugin has no contract case or no fixtures.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SourcePlugin } from '../../src/plugin-api.js';
import { builtinPlugins } from '../../pipeline.config.js';
import { exampleVod } from '../../examples/third-party-plugin/index.js';
import { ensureMedia } from '../support/media.js';
import { forbiddenImportsIn, hasFixtureFiles, importSpecifiers, pluginContract, REPO_ROOT } from './contract.js';
import { CONTRACT_CASES, FIXTURE_DIRS } from './contract-cases.js';

ensureMedia();
const registered: SourcePlugin[] = builtinPlugins();

describe('registered plugins', () => {
  it('pipeline.config.ts lists the built-in sources, the direct-http catch-all last', () => {
    expect(registered.map((p) => p.id)).toEqual(['dropbox', 'loom', 'tiktok', 'http']);
  });

  it.each(registered.map((p) => [p.id]))('%s has a fixtures folder (fixtures/<id>/ or a declared mapping)', (id) => {
    const dir = FIXTURE_DIRS[id] ?? `fixtures/${id}`;
    expect(hasFixtureFiles(dir), `plugin "${id}" is registered but ${dir}/ holds no fixtures`).toBe(true);
  });

  it.each(registered.map((p) => [p.id]))('%s has a contract case', (id) => {
    expect(CONTRACT_CASES[id], `add a contract case for "${id}" in test/plugins/contract-cases.ts`).toBeDefined();
  });

  it('ids are unique', () => {
    expect(new Set(registered.map((p) => p.id)).size).toBe(registered.length);
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
  const contract = CONTRACT_CASES[plugin.id];
  if (contract) pluginContract(plugin, contract);
}
pluginContract(exampleVod(), CONTRACT_CASES['example-vod']!);
