// `get`/`list`/`thumbnails`/`segments` read the registry without the engine when the config is the packaged one
// (src/cli/read-only.ts). That is only right while the packaged config sets nothing but plugins.
import { describe, expect, it } from 'vitest';
import { packagedConfigPath, loadConfigFile } from '../src/config/load-config.js';

describe('the packaged config', () => {
  it('sets only plugins, so read-only commands may skip loading it', async () => {
    const file = packagedConfigPath();
    expect(file).toBeDefined();
    const config = await loadConfigFile(file!);
    expect(Object.keys(config)).toEqual(['plugins']);
    expect(config.plugins!.length).toBeGreaterThan(0);
  });
});
