// inversify's decorators (@injectable, @inject) record their metadata through the Reflect metadata API.
import 'reflect-metadata';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { Container } from 'inversify';
import type { Logger } from 'pino';
import { localPortsModule } from '../adapters/local/local.module.js';
import { createLogger } from '../logging.js';
import type { IngestConfig } from '../config/define-config.js';
import { GuardedHttpClient } from '../net/http-client.js';
import type { SourcePlugin, YtDlpRunner } from '../plugin-api.js';
import type { Registry } from '../ports/registry.js';
import { Spool } from '../store/spool.js';
import { createYtDlpRunner } from '../ytdlp/index.js';
import { FileOutputs } from './file-outputs.js';
import { FileViews } from './file-queries.js';
import { Ingest } from './ingest.js';
import { ProbeStage, ThumbnailStage } from './media-stages.js';
import { PluginRouter } from './plugin-router.js';
import { RunWorker } from './run-worker.js';
import { TOKENS } from './tokens.js';
import { Transfer } from './transfer.js';

export { TOKENS } from './tokens.js';

/**
 * Builds the container: config, logger, guarded HTTP client, yt-dlp runner, spool, stages, plugins, the engine parts,
 * and the ports from ONE module (`localPortsModule` unless `config.portsModule` names another). `config.modules` load
 * last: they bind more plugins under `TOKENS.SourcePlugin` or rebind anything (`rebindSync(TOKENS.X)`).
 */
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
  container.bind<YtDlpRunner | undefined>(TOKENS.YtDlpRunner).toDynamicValue((ctx) => {
    const cfg = ctx.get<IngestConfig>(TOKENS.Config);
    return createYtDlpRunner(cfg.ytDlp, cfg.network, ctx.get<Logger>(TOKENS.Logger));
  });
  container.bind(TOKENS.Telemetry).toConstantValue(new EventEmitter().setMaxListeners(0));
  container.bind(TOKENS.Spool).toDynamicValue((ctx) => new Spool(path.resolve(ctx.get<IngestConfig>(TOKENS.Config).dataDir)));
  container.bind(TOKENS.Transfer).to(Transfer);
  container.bind(TOKENS.ProbeStage).to(ProbeStage);
  container.bind(TOKENS.ThumbnailStage).to(ThumbnailStage);
  container.bind(TOKENS.PluginRouter).to(PluginRouter);
  container
    .bind(TOKENS.FileViews)
    .toDynamicValue((ctx) => new FileViews(ctx.get<IngestConfig>(TOKENS.Config), ctx.get<Registry>(TOKENS.Registry)))
    .inSingletonScope();
  container.bind(TOKENS.FileOutputs).to(FileOutputs);
  container.bind(TOKENS.RunWorker).to(RunWorker);
  container.bind(TOKENS.Ingest).to(Ingest);
  for (const plugin of config.plugins) container.bind<SourcePlugin>(TOKENS.SourcePlugin).toConstantValue(plugin);
  for (const plugin of config.builtinPlugins) container.bind<SourcePlugin>(TOKENS.BuiltinPlugin).toConstantValue(plugin);
  container.loadSync(config.portsModule ?? localPortsModule);
  for (const module of config.modules) container.loadSync(module);
  return container;
}
