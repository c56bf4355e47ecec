/**
 * Runs the yt-dlp binary to *extract* one URL (`--dump-single-json`), never to download: the bytes are fetched
 * afterwards by the guarded client. Each run gets its own guarded proxy (src/net/guarded-proxy.ts), started
 * before and closed after the process, so every request yt-dlp makes passes the same routing and private-address
 * block as ours; a run that failed because the proxy refused a target reports that refusal's code.
 *
 * Limits: a wall-clock deadline (SIGKILL), a cap on the JSON printed, the caller's abort signal. YouTube is
 * refused before yt-dlp starts, at the proxy (embedded players) and on the extractor it reports.
 */
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import os from 'node:os';
import type { Logger } from 'pino';
import { IngestError, isIngestError } from '../errors.js';
import type { NetworkConfig, YtDlpConfig } from '../config/define-config.js';
import type { YtDlpExtraction, YtDlpRunner } from '../plugin-api.js';
import { GuardedProxy } from '../net/guarded-proxy.js';
import { isYouTubeExtractor, isYouTubeUrl, mediaFromYtDlpInfo, parseYtDlpJson, YTDLP_FORMAT, ytDlpFailure } from './adapter.js';
import { ytDlpTrust } from './trust.js';
import type { YtDlpTrust } from './trust.js';

/** CommonJS packages loaded on demand through `require`, which skips the ESM loader's export scan. */
const requireCjs = createRequire(import.meta.url);

/** Options of {@link ProcessYtDlpRunner}. */
export interface ProcessYtDlpRunnerOptions {
  /** Absolute path of the yt-dlp executable (see `findYtDlpBinary`). */
  binary: string;
  config: Pick<YtDlpConfig, 'timeoutMs' | 'maxOutputBytes'>;
  /** The extra CA yt-dlp trusts ('' for none); see `ytDlpTrust`. */
  caFile: string;
  network: NetworkConfig;
  logger: Logger;
}

/** What one process run gave. */
interface ProcessOutcome {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

/** Bytes of stderr kept (its tail) for error messages. */
const STDERR_KEEP = 64 * 1024;

const YOUTUBE_HOST = /(^|\.)(youtube\.com|youtube-nocookie\.com|youtubekids\.com|youtu\.be|googlevideo\.com)$/;

/** The yt-dlp runner behind `ResolveContext.ytDlp`. */
export class ProcessYtDlpRunner implements YtDlpRunner {
  private trust: YtDlpTrust | undefined;

  constructor(private readonly options: ProcessYtDlpRunnerOptions) {}

  async extract(input: string | URL, extractOptions: { signal?: AbortSignal } = {}): Promise<YtDlpExtraction> {
    const url = new URL(String(input));
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new IngestError('unsupported_scheme', `yt-dlp is only run on http(s) URLs, not ${url.protocol}`);
    }
    if (isYouTubeUrl(url)) {
      throw new IngestError('youtube_not_supported', 'YouTube links are never given to yt-dlp here; add it to a collection via add-media instead.');
    }
    this.trust ??= ytDlpTrust(this.options.caFile);
    const { logger, network } = this.options;
    const proxy = await GuardedProxy.start({
      network,
      logger,
      refuseHost: (host) =>
        YOUTUBE_HOST.test(host) ? new IngestError('youtube_not_supported', `yt-dlp tried to reach YouTube (${host}); YouTube is not supported`) : undefined,
    });
    const started = Date.now();
    try {
      const outcome = await this.runProcess(this.argumentsFor(url, proxy.url), extractOptions.signal);
      const refusals = proxy.refusals();
      logger.debug({ url: url.href, ms: Date.now() - started, exitCode: outcome.exitCode, refusals }, 'yt-dlp finished');
      if (outcome.exitCode !== 0) {
        // Blame the guard only when a refusal is the last thing yt-dlp asked for: an earlier refused attempt that
        // it recovered from (e.g. an API host before the web page) is not why it failed.
        const last = proxy.events[proxy.events.length - 1];
        const refused = last?.outcome === 'refused' ? last : undefined;
        if (refused?.code) {
          throw new IngestError(refused.code, `yt-dlp was refused a connection to ${refused.target}: ${refused.message ?? refused.code}`);
        }
        throw ytDlpFailure(outcome.stderr, outcome.exitCode);
      }
      return await this.toExtraction(parseYtDlpJson(outcome.stdout));
    } finally {
      await proxy.close();
    }
  }

  private argumentsFor(url: URL, proxyUrl: string): string[] {
    const socketTimeout = Math.max(1, Math.ceil(this.options.network.idleTimeoutMs / 1000));
    return [
      '--ignore-config', '--no-cache-dir', '--dump-single-json', '--no-playlist', '--no-warnings', '--no-progress',
      '--socket-timeout', String(socketTimeout), '--proxy', proxyUrl, '-f', YTDLP_FORMAT,
      ...(this.trust?.args ?? []),
      '--', url.href,
    ];
  }

  /** A clean environment: no inherited proxy variables, UTF-8 output, the trust store when configured. */
  private environment(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: process.env.HOME ?? os.tmpdir(),
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      PYTHONIOENCODING: 'utf-8',
      PYTHONDONTWRITEBYTECODE: '1',
      ...(this.trust?.env ?? {}),
    };
  }

  private runProcess(args: string[], signal: AbortSignal | undefined): Promise<ProcessOutcome> {
    const { binary, config } = this.options;
    return new Promise<ProcessOutcome>((resolve, reject) => {
      if (signal?.aborted) {
        reject(isIngestError(signal.reason) ? signal.reason : new IngestError('cancelled', 'yt-dlp run cancelled'));
        return;
      }
      const child = spawn(binary, args, { env: this.environment(), stdio: ['ignore', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      let stdoutBytes = 0;
      let stderr = '';
      let failure: IngestError | undefined;
      const stop = (error: IngestError): void => {
        failure ??= error;
        child.kill('SIGKILL');
      };
      const timer = setTimeout(
        () => stop(new IngestError('timeout', `yt-dlp took longer than ${config.timeoutMs} ms`)),
        config.timeoutMs,
      );
      const onAbort = (): void =>
        stop(isIngestError(signal?.reason) ? signal.reason : new IngestError('cancelled', 'yt-dlp run cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (chunk: Buffer) => {
        stdoutBytes += chunk.length;
        if (stdoutBytes > config.maxOutputBytes) {
          stop(new IngestError('upstream_error', `yt-dlp printed more than ${config.maxOutputBytes} bytes`, { retryable: false }));
          return;
        }
        stdout.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
      });
      child.once('error', (error) => {
        failure ??= new IngestError('upstream_error', `yt-dlp (${binary}) could not be started: ${error.message}`, { cause: error, retryable: false });
      });
      child.once('close', (exitCode) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (failure) reject(failure);
        else resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr, exitCode });
      });
    });
  }

  private async toExtraction(info: Record<string, unknown>): Promise<YtDlpExtraction> {
    const media = mediaFromYtDlpInfo(info);
    if (isYouTubeExtractor(media.extractor)) {
      throw new IngestError('youtube_not_supported', 'yt-dlp resolved this URL to YouTube; YouTube is not supported here.');
    }
    const { CookieJar } = requireCjs('tough-cookie') as typeof import('tough-cookie');
    const cookieJar = new CookieJar();
    for (const cookie of media.setCookies) await cookieJar.setCookie(cookie, media.url, { ignoreError: true });
    return {
      info,
      extractor: media.extractor,
      download: { url: media.url, method: 'GET', headers: media.headers, cookieJar },
    };
  }
}
