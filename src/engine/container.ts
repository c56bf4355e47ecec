import 'reflect-metadata';
import path from 'node:path';
import { Container } from 'inversify';
import type { Logger } from 'pino';
import { createLogger } from '../logging.js';
import type { IngestConfig } from '../config/define-config.js';
import type { SourcePlugin } from '../plugin-api.js';
import { GuardedHttpClient } from '../net/http-client.js';
import { ContentAddressedStore } from '../store/blob-store.js';
import { Registry } from '../store/registry.js';
import { Ingest } from './ingest.js';

/** Service identifiers of the DI container. Third-party modules bind more plugins under `SOURCE_PLUGIN`. */
export const TOKENS = {
  Config: Symbol.for('media-ingest.Config'),
  Logger: Symbol.for('media-ingest.Logger'),
  HttpClient: Symbol.for('media-ingest.HttpClient'),
  Registry: Symbol.for('media-ingest.Registry'),
  Store: Symbol.for('media-ingest.Store'),
  SourcePlugin: Symbol.for('media-ingest.SourcePlugin'),
  Ingest: Symbol.for('media-ingest.Ingest'),
} as const;

/** Builds the container: config, logger, guarded client, registry, store, every plugin, and the engine. */
export function buildContainer(config: IngestConfig, logger?: Logger): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.bind<IngestConfig>(TOKENS.Config).toConstantValue(config);
  container
    .bind<Logger>(TOKENS.Logger)
    .toConstantValue(logger ?? createLogger({ level: config.logLevel, name: 'media-ingest', secrets: [...config.apiKeys, ...config.webhooks.map((w) => w.secret)] }));
  container.bind(TOKENS.HttpClient).toDynamicValue((ctx) => {
    const cfg = ctx.get<IngestConfig>(TOKENS.Config);
    return new GuardedHttpClient({ network: cfg.network, maxBytes: cfg.limits.maxBytes, logger: ctx.get<Logger>(TOKENS.Logger) });
  });
  container.bind(TOKENS.Store).toDynamicValue((ctx) => new ContentAddressedStore(path.resolve(ctx.get<IngestConfig>(TOKENS.Config).dataDir)));
  container.bind(TOKENS.Registry).toDynamicValue((ctx) => {
    const cfg = ctx.get<IngestConfig>(TOKENS.Config);
    return new Registry(path.join(path.resolve(cfg.dataDir), 'registry.sqlite'));
  });
  for (const plugin of config.plugins) container.bind<SourcePlugin>(TOKENS.SourcePlugin).toConstantValue(plugin);
  container.bind(TOKENS.Ingest).toDynamicValue((ctx) => {
    const plugins = ctx.getAll<SourcePlugin>(TOKENS.SourcePlugin, { optional: true });
    return new Ingest({
      config: ctx.get<IngestConfig>(TOKENS.Config),
      logger: ctx.get<Logger>(TOKENS.Logger),
      http: ctx.get<GuardedHttpClient>(TOKENS.HttpClient),
      registry: ctx.get<Registry>(TOKENS.Registry),
      store: ctx.get<ContentAddressedStore>(TOKENS.Store),
      plugins,
    });
  });
  for (const module of config.modules) container.loadSync(module);
  return container;
}
