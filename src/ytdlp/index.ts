/**
 * The yt-dlp fallback extractor: builds the runner the engine hands to plugins as `ResolveContext.ytDlp`, when
 * the `ytDlp` config enables it and a binary is found. See runner.ts for how a run is guarded.
 */
import type { Logger } from 'pino';
import type { NetworkConfig, YtDlpConfig } from '../config/define-config.js';
import type { YtDlpRunner } from '../plugin-api.js';
import { findYtDlpBinary } from './binary.js';
import { ProcessYtDlpRunner } from './runner.js';
import { checkCaFile } from './trust.js';
import { ytDlpLaunch } from './sandbox.js';

export { findYtDlpBinary } from './binary.js';
export { ProcessYtDlpRunner } from './runner.js';
export type { ProcessYtDlpRunnerOptions } from './runner.js';
export {
  isYouTubeExtractor,
  isYouTubeUrl,
  mediaFromYtDlpInfo,
  parseYtDlpJson,
  splitYtDlpCookies,
  YTDLP_FORMAT,
  ytDlpFailure,
} from './adapter.js';
export type { YtDlpMediaFacts } from './adapter.js';
export { checkCaFile, makePrivateDir, ytDlpTrust } from './trust.js';
export { networkNamespacePrefix, SANDBOX_REFUSAL, YTDLP_BOOTSTRAP, ytDlpLaunch } from './sandbox.js';
export type { YtDlpLaunch } from './sandbox.js';

/**
 * The runner for this configuration, or undefined when yt-dlp is disabled or no binary is found. The extra CA
 * is `config.caFile` when set (even `''`), else `NODE_EXTRA_CA_CERTS`; an unreadable default is ignored with a
 * warning (an explicitly configured one fails each run with `invalid_request`).
 */
export function createYtDlpRunner(
  config: YtDlpConfig | undefined,
  network: NetworkConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): YtDlpRunner | undefined {
  if (!config?.enabled) return undefined;
  const binary = findYtDlpBinary(config.binary, env);
  if (!binary) {
    if (config.binary) logger.warn({ binary: config.binary }, 'ytDlp.binary not found or not executable; the yt-dlp fallback is off');
    return undefined;
  }
  const launch = ytDlpLaunch(binary, env);
  if (!launch) {
    logger.warn({ binary }, 'yt-dlp is not a Python script or zipapp, so it cannot be contained; the yt-dlp fallback is off');
    return undefined;
  }
  let caFile = config.caFile ?? env.NODE_EXTRA_CA_CERTS ?? '';
  if (config.caFile === undefined && caFile) {
    try {
      checkCaFile(caFile);
    } catch (error) {
      logger.warn({ caFile, err: (error as Error).message }, 'NODE_EXTRA_CA_CERTS is not usable for yt-dlp; it keeps its own trust store');
      caFile = '';
    }
  }
  return new ProcessYtDlpRunner({ binary, launch, config, caFile, network, logger: logger.child({ component: 'yt-dlp' }) });
}
