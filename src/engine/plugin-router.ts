import { injectable, multiInject, optional } from 'inversify';
import { IngestError } from '../errors.js';
import type { SourcePlugin } from '../plugin-api.js';
import { refusePageHost } from '../url/policy.js';
import { TOKENS } from './tokens.js';

/**
 * Which plugin takes a URL. Order: the user's plugins (config `plugins`, then those bound by modules), then the
 * built-ins; a plugin marked `catchAll` (direct http) is tried after every other, wherever it was registered. A
 * plugin id registered twice counts once (the first). Page-host refusals (Vimeo, Facebook, … in src/url/policy.ts)
 * apply only when no plugin but a catch-all takes the URL.
 */
@injectable()
export class PluginRouter {
  readonly plugins: readonly SourcePlugin[];

  constructor(
    @multiInject(TOKENS.SourcePlugin) @optional() user: SourcePlugin[] | undefined,
    @multiInject(TOKENS.BuiltinPlugin) @optional() builtin: SourcePlugin[] | undefined,
  ) {
    const seen = new Set<string>();
    const unique = [...(user ?? []), ...(builtin ?? [])].filter((p) => !seen.has(p.id) && seen.add(p.id));
    this.plugins = [...unique.filter((p) => !p.catchAll), ...unique.filter((p) => p.catchAll)];
  }

  /** The plugin for `url`, or the page-host refusal, or `unsupported_page_host`. */
  pluginFor(url: URL): SourcePlugin {
    const specific = this.plugins.find((p) => !p.catchAll && p.matches(url));
    if (specific) return specific;
    refusePageHost(url);
    const fallback = this.plugins.find((p) => p.catchAll && p.matches(url));
    if (!fallback) throw new IngestError('unsupported_page_host', `No source plugin accepts ${url.href}`);
    return fallback;
  }
}
