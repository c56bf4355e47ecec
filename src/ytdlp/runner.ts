/**
 * Runs yt-dlp to *extract* one URL (`--dump-single-json`), never to download: the bytes are fetched afterwards by
 * the guarded client. Each run gets its own guarded proxy (src/net/guarded-proxy.ts), started before and closed
 * after the process, so every request yt-dlp makes passes the same routing and private-address block as ours; and
 * yt-dlp's module runs contained (src/ytdlp/sandbox.ts): no socket but the proxy's, no name lookup, no program
 * started, an empty network namespace where the kernel allows one. A run that failed because the proxy or the
 * sandbox refused a target reports that refusal's code.
 *
 * Nothing yt-dlp prints reaches the caller: its stderr (redacted by the logger) goes to the log, the caller gets a
 * generic message for the code. Limits: a wall-clock deadline (SIGKILL), a cap on the JSON printed, the caller's
 * abort signal. YouTube is refused before yt-dlp starts, at the proxy (embedded players) and on the extractor it
 * reports.
 *
 * yt-dlp is spawned here rather than through `yt-dlp-wrap`: the contained run is `python3 -E -c <bootstrap>`
 * (optionally under `unshare`), not the yt-dlp executable, and yt-dlp-wrap's `execPromise` buffers stdout without a
 * cap and puts stderr into its error messages, the two things this runner must not do.
 */
import { cancelledBy } from '../plugin-kit.js';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import { createRequire } from 'node:module';
import { IngestError, isIngestError } from '../errors.js';
import type { NetworkConfig, YtDlpConfig } from '../config/define-config.js';
import type { YtDlpExtraction, YtDlpRunner } from '../plugin-api.js';
import { GuardedProxy } from '../net/guarded-proxy.js';
import { isYouTubeExtractor, isYouTubeUrl, mediaFromYtDlpInfo, parseYtDlpJson, YTDLP_FORMAT, ytDlpFailure } from './adapter.js';
import { makePrivateDir, ytDlpTrust } from './trust.js';
import type { YtDlpTrust } from './trust.js';
import { networkNamespacePrefix, SANDBOX_REFUSAL, YTDLP_BOOTSTRAP } from './sandbox.js';
import type { YtDlpLaunch } from './sandbox.js';

/** Options of {@link ProcessYtDlpRunner}. */
export interface ProcessYtDlpRunnerOptions {
  /** Absolute path of the yt-dlp executable (see `findYtDlpBinary`). */
  binary: string;
  /** How its Python module is run under the bootstrap (see `ytDlpLaunch`). */
  launch: YtDlpLaunch;
  config: Pick<YtDlpConfig, 'timeoutMs' | 'maxOutputBytes'> & Partial<Pick<YtDlpConfig, 'networkNamespace'>>;
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
  private privateDir: string | undefined;

  constructor(private readonly options: ProcessYtDlpRunnerOptions) {}

  async extract(input: string | URL, extractOptions: { signal?: AbortSignal } = {}): Promise<YtDlpExtraction> {
    const url = new URL(String(input));
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new IngestError('unsupported_scheme', `yt-dlp is only run on http(s) URLs, not ${url.protocol}`);
    }
    if (isYouTubeUrl(url)) {
      throw new IngestError('youtube_not_supported', 'YouTube links are never given to yt-dlp here; add it to a collection via add-media instead.');
    }
    const dir = (this.privateDir ??= makePrivateDir());
    this.trust ??= ytDlpTrust(this.options.caFile, dir);
    this.trust.verify();
    const namespace = this.namespace();
    const { logger, network } = this.options;
    const proxy = await GuardedProxy.start({
      network,
      logger,
      refuseHost: (host) =>
        YOUTUBE_HOST.test(host) ? new IngestError('youtube_not_supported', `yt-dlp tried to reach YouTube (${host}); YouTube is not supported`) : undefined,
    });
    const started = Date.now();
    try {
      const unixPath = namespace ? path.join(dir, `proxy-${randomBytes(8).toString('hex')}.sock`) : '';
      if (unixPath) await proxy.listenUnix(unixPath);
      const outcome = await this.runProcess(namespace ?? [], this.argumentsFor(url, proxy, unixPath), extractOptions.signal);
      const refusals = proxy.refusals();
      const sandboxRefused = outcome.stderr.includes(SANDBOX_REFUSAL);
      logger.debug({ url: url.href, ms: Date.now() - started, exitCode: outcome.exitCode, refusals, namespace: Boolean(namespace) }, 'yt-dlp finished');
      if (outcome.exitCode !== 0) {
        // Its own words go to the log only (the logger redacts secrets); the caller gets a generic, coded message.
        logger.warn({ url: url.href, exitCode: outcome.exitCode, stderr: outcome.stderr.slice(-4096), sandboxRefused }, 'yt-dlp failed');
        // Blame the guard only when a refusal is the last thing yt-dlp asked for: an earlier refused attempt that
        // it recovered from (e.g. an API host before the web page) is not why it failed.
        const last = proxy.events[proxy.events.length - 1];
        const refused = last?.outcome === 'refused' ? last : undefined;
        if (refused?.code) throw new IngestError(refused.code, refusalMessage(refused.code));
        if (sandboxRefused) {
          throw new IngestError('blocked_address', 'yt-dlp tried to open a connection outside the guarded proxy (another scheme or protocol); it was refused');
        }
        throw ytDlpFailure(outcome.stderr, outcome.exitCode);
      }
      return await this.toExtraction(parseYtDlpJson(outcome.stdout));
    } finally {
      await proxy.close();
    }
  }

  /** The `unshare` prefix of an empty network namespace, per `networkNamespace` ('auto': when available). */
  private namespace(): string[] | undefined {
    const mode = this.options.config.networkNamespace ?? 'auto';
    if (mode === 'off') return undefined;
    const prefix = networkNamespacePrefix();
    if (!prefix && mode === 'required') {
      throw new IngestError('internal', 'ytDlp.networkNamespace is required but no network namespace can be made here (unshare)');
    }
    return prefix;
  }

  /** The interpreter's arguments: the bootstrap, its own arguments, then yt-dlp's (see sandbox.ts). */
  private argumentsFor(url: URL, proxy: GuardedProxy, unixPath: string): string[] {
    const socketTimeout = Math.max(1, Math.ceil(this.options.network.idleTimeoutMs / 1000));
    const { launch } = this.options;
    return [
      launch.python, '-E', '-c', YTDLP_BOOTSTRAP, String(proxy.port), unixPath, launch.modulePath, '--',
      '--ignore-config', '--no-cache-dir', '--dump-single-json', '--no-playlist', '--no-warnings', '--no-progress',
      '--socket-timeout', String(socketTimeout), '--proxy', proxy.url, '-f', YTDLP_FORMAT,
      // Belt and braces: the bootstrap already refuses to start any program.
      '--downloader', 'native', '--hls-prefer-native', '--no-exec',
      ...(this.trust?.args ?? []),
      '--', url.href,
    ];
  }

  /** A clean environment: no inherited proxy variables, home in the private dir, UTF-8, the trust store if any. */
  private environment(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: this.privateDir!,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      PYTHONIOENCODING: 'utf-8',
      PYTHONDONTWRITEBYTECODE: '1',
      ...(this.trust?.env ?? {}),
    };
  }

  private runProcess(prefix: string[], args: string[], signal: AbortSignal | undefined): Promise<ProcessOutcome> {
    const { binary, config } = this.options;
    const command = prefix[0] ?? args[0]!;
    const commandArgs = prefix.length > 0 ? [...prefix.slice(1), ...args] : args.slice(1);
    return new Promise<ProcessOutcome>((resolve, reject) => {
      if (signal?.aborted) {
        reject(cancelledBy(signal, 'the yt-dlp run'));
        return;
      }
      const child = spawn(command, commandArgs, { env: this.environment(), cwd: this.privateDir!, stdio: ['ignore', 'pipe', 'pipe'] });
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
        stop(cancelledBy(signal!, 'the yt-dlp run'));
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
        this.options.logger.error({ binary, command, err: error.message }, 'yt-dlp could not be started');
        failure ??= new IngestError('upstream_error', 'yt-dlp could not be started', { cause: error, retryable: false });
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
    const { CookieJar } = createRequire(import.meta.url)('tough-cookie') as typeof import('tough-cookie'); // loaded on first use
    const cookieJar = new CookieJar();
    for (const cookie of media.setCookies) await cookieJar.setCookie(cookie, media.url, { ignoreError: true });
    return {
      info,
      extractor: media.extractor,
      download: { url: media.url, method: 'GET', headers: media.headers, cookieJar },
    };
  }
}

/** The caller's message for a target the guarded proxy refused: the code says why, never which address. */
function refusalMessage(code: string): string {
  if (code === 'youtube_not_supported') return 'yt-dlp tried to reach YouTube; YouTube is not supported';
  if (code === 'blocked_address') return 'yt-dlp was refused a connection to a private, loopback, link-local or reserved address';
  return `yt-dlp was refused a connection by the guarded proxy (${code})`;
}
