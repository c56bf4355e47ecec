import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IngestError } from '../errors.js';
import type { IngestConfig, IngestConfigInput } from './define-config.js';
import { clusterConfigFromEnv, mergeClusterInput, resolveClusterConfig } from './cluster-config.js';
import type { SourcePlugin } from '../plugin-api.js';

const DESKTOP_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** The defaults of every option (plugins come from the packaged `pipeline.config.ts`). */
export function defaultConfig(): IngestConfig {
  return {
    dataDir: './.media-ingest',
    uriPrefix: 'media-ingest://files/',
    publicBaseUrl: '',
    plugins: [],
    builtinPlugins: [],
    modules: [],
    limits: {
      maxBytes: 10 * 1024 ** 3,
      maxTempBytes: 20 * 1024 ** 3,
      maxDurationSeconds: 4 * 3600,
      maxPixelDimension: 8192,
      maxFramePixels: 8192 * 4320,
      maxSampleAspectRatio: 16,
      maxDisplayAspectRatio: 16,
      maxFrameRate: 1000,
      maxFrameCount: 15_000_000,
      maxStreams: 16,
      maxUrlLength: 8192,
      maxMetadataBytes: 64 * 1024,
    },
    network: {
      connectTimeoutMs: 10_000,
      idleTimeoutMs: 30_000,
      totalTimeoutMs: 3_600_000,
      minBytesPerSecond: 1024,
      minSpeedWindowMs: 30_000,
      maxRedirects: 10,
      allowPrivateNetworks: false,
      connectTo: [],
      resolve: [],
      userAgent: DESKTOP_USER_AGENT,
    },
    retry: { attempts: 5, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 60_000, maxTotalMs: 300_000 },
    concurrency: { network: 8, perHost: 4, cpu: Math.max(1, os.availableParallelism?.() ?? os.cpus().length) },
    thumbnails: { width: 640, format: 'jpeg', quality: 80, segmentSeconds: 20, segmentThumbnailsByDefault: true },
    decoder: {
      ffmpegPath: '', ffprobePath: '', minVersion: '5.1', requireMinVersion: false,
      processMemoryBytes: 1024 ** 3, processCpuSeconds: 120, processOutputBytes: 64 * 1024 ** 2,
    },
    probeTimeoutMs: 30_000,
    ffmpegTimeoutMs: 120_000,
    apiKeys: [],
    webhooks: [],
    ytDlp: { enabled: true, binary: '', timeoutMs: 60_000, maxOutputBytes: 8 * 1024 * 1024 },
    logLevel: 'info',
    metricsEndpoint: { enabled: true, public: false },
  };
}

/** Merges a partial config over a full one (objects one level deep; arrays replace). */
export function mergeConfig(base: IngestConfig, input: IngestConfigInput | undefined): IngestConfig {
  if (!input) return base;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const current = merged[key];
    if (key === 'cluster') {
      merged.cluster = mergeClusterInput(current as IngestConfigInput['cluster'], value as IngestConfigInput['cluster']);
      continue;
    }
    merged[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)
        ? { ...current, ...value }
        : value;
  }
  return merged as unknown as IngestConfig;
}

const list = (value: string | undefined): string[] | undefined =>
  value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);

/** The options the environment sets (see the contract's table). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): IngestConfigInput {
  const network: Partial<IngestConfig['network']> = {};
  const connectTo = list(env.MEDIA_INGEST_CONNECT_TO);
  const resolve = list(env.MEDIA_INGEST_RESOLVE);
  if (connectTo) network.connectTo = connectTo;
  if (resolve) network.resolve = resolve;
  if (env.MEDIA_INGEST_ALLOW_PRIVATE_NETWORKS !== undefined) {
    network.allowPrivateNetworks = ['1', 'true', 'yes'].includes(env.MEDIA_INGEST_ALLOW_PRIVATE_NETWORKS.toLowerCase());
  }
  const input: IngestConfigInput = { network };
  if (env.MEDIA_INGEST_DATA_DIR) input.dataDir = env.MEDIA_INGEST_DATA_DIR;
  const keys = list(env.MEDIA_INGEST_API_KEYS);
  if (keys) input.apiKeys = keys;
  if (env.LOG_LEVEL) input.logLevel = env.LOG_LEVEL;
  const cluster = clusterConfigFromEnv(env);
  if (cluster) input.cluster = cluster;
  const decoder: Partial<IngestConfig['decoder']> = {};
  if (env.MEDIA_INGEST_FFMPEG) decoder.ffmpegPath = env.MEDIA_INGEST_FFMPEG;
  if (env.MEDIA_INGEST_FFPROBE) decoder.ffprobePath = env.MEDIA_INGEST_FFPROBE;
  if (Object.keys(decoder).length > 0) input.decoder = decoder;
  if (env.MEDIA_INGEST_METRICS_PUBLIC !== undefined) {
    input.metricsEndpoint = { public: ['1', 'true', 'yes'].includes(env.MEDIA_INGEST_METRICS_PUBLIC.toLowerCase()) };
  }
  return input;
}

/** The packaged default config file: `pipeline.config.ts` at the package root (compiled `.js` in dist). */
export function packagedConfigPath(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const candidate of [
    path.resolve(here, '../../pipeline.config.js'),
    path.resolve(here, '../../pipeline.config.ts'),
    path.resolve(here, '../../../pipeline.config.ts'),
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The default export of the packaged config as the build recorded it (`pipeline.config.json` beside the compiled
 * `pipeline.config.js`, written only when that export is plain data), or undefined for any other file, a missing
 * record, or one older than the compiled file. Reading it costs a JSON parse instead of the plugins' module graph.
 */
export function precompiledConfig(file: string): IngestConfigInput | undefined {
  const compiled = path.resolve(file);
  if (!compiled.endsWith('.js') || compiled !== packagedConfigPath()) return undefined;
  const record = compiled.replace(/\.js$/, '.json');
  try {
    if (statSync(record).mtimeMs < statSync(compiled).mtimeMs) return undefined;
    return JSON.parse(readFileSync(record, 'utf8')) as IngestConfigInput;
  } catch {
    return undefined;
  }
}

/**
 * Loads a config file (default export) at run time: JavaScript natively, TypeScript through jiti (loaded only then).
 */
export async function loadConfigFile(file: string): Promise<IngestConfigInput> {
  return (await loadConfigModule(file)).config;
}

/** A config file's default export, and its module (for named exports such as `builtinPlugins`). */
async function loadConfigModule(file: string): Promise<{ config: IngestConfigInput; module: Record<string, unknown> }> {
  const absolute = path.resolve(file);
  if (!existsSync(absolute)) throw new IngestError('invalid_request', `Config file not found: ${absolute}`);
  try {
    const loaded = /\.[cm]?js$/.test(absolute)
      ? ((await import(pathToFileURL(absolute).href)) as IngestConfigInput | { default: IngestConfigInput })
      : await (await import('jiti')).createJiti(import.meta.url, { interopDefault: true, moduleCache: true })
          .import<IngestConfigInput | { default: IngestConfigInput }>(absolute);
    const config = (loaded && typeof loaded === 'object' && 'default' in loaded ? loaded.default : loaded) as IngestConfigInput;
    if (!config || typeof config !== 'object') throw new Error('the file has no default export object');
    return { config, module: loaded as Record<string, unknown> };
  } catch (error) {
    if (error instanceof IngestError) throw error;
    throw new IngestError('invalid_request', `Cannot load config ${absolute}: ${(error as Error).message}`, { cause: error });
  }
}

/** Where the config comes from, in order: explicit path, MEDIA_INGEST_CONFIG, the packaged default. */
export interface ResolveConfigOptions {
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest precedence: CLI flags or createIngest arguments. */
  overrides?: IngestConfigInput;
  /**
   * False for a caller that never resolves a URL (the CLI's read commands): the packaged built-in plugins are not
   * loaded (`builtinPlugins` stays empty), and the packaged config file is read from its precompiled data
   * (`dist/pipeline.config.json`, written by the build) instead of importing it and every plugin it names.
   * @default true
   */
  plugins?: boolean;
}

/** Defaults < config file < environment < overrides. */
export async function resolveConfig(options: ResolveConfigOptions = {}): Promise<IngestConfig> {
  const env = options.env ?? process.env;
  const file = options.configFile ?? env.MEDIA_INGEST_CONFIG ?? packagedConfigPath();
  let config = defaultConfig();
  const withPlugins = options.plugins !== false;
  const loaded = file ? (!withPlugins && precompiledConfig(file)) || (await loadConfigFile(file)) : undefined;
  config = mergeConfig(config, loaded);
  config = mergeConfig(config, configFromEnv(env));
  config = mergeConfig(config, options.overrides);
  const cluster = resolveClusterConfig(config.cluster);
  if (cluster) config.cluster = cluster;
  else delete config.cluster;
  if (withPlugins && loaded?.builtinPlugins === undefined && options.overrides?.builtinPlugins === undefined) {
    config.builtinPlugins = await packagedBuiltinPlugins();
  }
  return config;
}

/** `builtinPlugins()` of the packaged pipeline.config.ts: the built-ins every config gets unless it sets its own. */
async function packagedBuiltinPlugins(): Promise<SourcePlugin[]> {
  const packaged = packagedConfigPath();
  if (!packaged) return [];
  const { module } = await loadConfigModule(packaged);
  const builtins = module.builtinPlugins;
  if (typeof builtins !== 'function') throw new IngestError('internal', `${packaged} does not export builtinPlugins()`);
  return (builtins as () => SourcePlugin[])();
}
