import type { EventEmitter } from 'node:events';
import { inject, injectable } from 'inversify';
import { cancelledBy } from '../plugin-kit.js';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { IngestError, isIngestError, toIngestError } from '../errors.js';
import type { IngestConfig } from '../config/define-config.js';
import type { DownloadRequest, HttpClient, ResolveContext, ResolvedSource, SourcePlugin, YtDlpRunner } from '../plugin-api.js';
import { isStorageFault, mapStorageError } from '../store/spool.js';
import type { PartialWrite, Spool, SpooledFile } from '../store/spool.js';
import { TempDiskBudget } from '../store/temp-disk-budget.js';
import type { TempReservation } from '../store/temp-disk-budget.js';
import type { FilePatch, FileRow } from '../ports/registry.js';
import { openMedia, openMediaFrom } from '../stages/open-media.js';
import type { OpenedMedia, ResumeFrom } from '../stages/open-media.js';
import { sleep } from './backoff.js';
import type { RetryBudget, RetryDecision } from './backoff.js';
import { crashPoint, crashPointsArmed } from './crash-points.js';
import { observedPerRun } from './telemetry.js';
import { TOKENS } from './tokens.js';
import { DownloadBookkeeping, expectationOf } from './download-bookkeeping.js';
import type { Expectation } from './download-bookkeeping.js';
import type { StageClock } from './stage-clock.js';

/** A resolved source with its media response opened and checked. */
export interface PreparedSource {
  resolved: ResolvedSource;
  opened: OpenedMedia;
  /** The temp file the body continues into, when an earlier run's bytes are being resumed. */
  partial?: PartialWrite;
}

/**
 * Where a run records what the transfer learns (implemented by the run that owns the row and its token): the
 * transfer writes through it and returns its result; it never reaches the registry or the event bus itself.
 */
export interface RunRecord {
  /** The file's row as last written (undefined before the file exists). */
  readonly row: FileRow | undefined;
  /** A fenced write of the run's state. */
  update(patch: FilePatch): Promise<FileRow>;
  /** Records download progress and makes it visible (a progress event). */
  progress(received: number, total: number | null): Promise<void>;
  /** Makes a granted retry visible (row and progress event); never throws. */
  retried(decision: RetryDecision): Promise<void>;
}

/** One file run's context for the network stages. */
export interface TransferRun {
  url: URL;
  plugin: SourcePlugin;
  signal: AbortSignal;
  logger: Logger;
  /** Shared by resolve, open and every resume of this run. */
  budget: RetryBudget;
  record: RunRecord;
  /** Called after each resolve, before the media is opened (claims a short link's identity); its throw ends prepare. */
  beforeOpen?: (resolved: ResolvedSource) => Promise<void>;
  /** The run's stage clock: the transfer charges `start`, `open`, `download` and `fsync` to it. */
  clock?: StageClock;
}

/**
 * The network half of a file run: resolve + open with retries ({@link Transfer.prepare}), then the body into a
 * resumable temp file ({@link Transfer.download}), where a cut body, an idle timeout or a 5xx on a resume is retried
 * with `Range: bytes=<n>-` when the server allows it, and from zero when it does not.
 */
@injectable()
export class Transfer {
  /** Temp disk of all downloads in flight (see {@link TempDiskBudget}); one per engine (Transfer is a singleton). */
  readonly tempBudget: TempDiskBudget;
  /** The guarded client of a run, reporting each of its exchanges as `upstream.response` telemetry. */
  private readonly httpOf: (run: TransferRun) => HttpClient;

  constructor(
    @inject(TOKENS.Config) private readonly config: IngestConfig,
    @inject(TOKENS.HttpClient) http: HttpClient,
    @inject(TOKENS.Spool) private readonly spool: Spool,
    /** Offered to plugins; undefined when yt-dlp is disabled or not installed. */
    @inject(TOKENS.YtDlpRunner) private readonly ytDlp: YtDlpRunner | undefined,
    @inject(TOKENS.Telemetry) telemetry: EventEmitter,
  ) {
    this.tempBudget = new TempDiskBudget(config.limits.maxTempBytes ?? Number.POSITIVE_INFINITY);
    this.httpOf = observedPerRun(http, (event) => telemetry.emit('upstream.response', event));
  }

  /**
   * Resolves the URL through its plugin and opens the media response, retrying retryable failures. With `resume`,
   * the first request asks for the rest of an earlier run's temp file; when the server will not continue it, the
   * temp file restarts from zero.
   */
  async prepare(run: TransferRun, resume?: { partial: PartialWrite; from: Omit<ResumeFrom, 'offset'> }): Promise<PreparedSource> {
    run.clock?.lap('start');
    const opened = await this.prepareOnce(run, resume);
    run.clock?.lap('open');
    return opened;
  }

  private async prepareOnce(run: TransferRun, resume?: { partial: PartialWrite; from: Omit<ResumeFrom, 'offset'> }): Promise<PreparedSource> {
    for (;;) {
      try {
        const resolved = await this.resolve(run);
        await run.beforeOpen?.(resolved);
        const partial = resume?.partial;
        if (partial && partial.bytes > 0) {
          const from = { ...resume.from, offset: partial.bytes };
          const outcome = await openMediaFrom(this.httpOf(run), resolved.download, run.plugin, { signal: run.signal, maxBytes: this.maxBytes, from });
          if (outcome.kind === 'resumed') {
            run.logger.info({ offset: from.offset }, 'resuming the interrupted download');
            return { resolved, opened: outcome.opened, partial };
          }
          if (outcome.kind === 'expired') throw outcome.error;
          run.logger.info({ offset: from.offset, outcome: outcome.kind, reason: 'reason' in outcome ? outcome.reason : undefined }, 'cannot resume: restarting the download from zero');
          await partial.reset();
          if (outcome.kind === 'full') return { resolved, opened: outcome.opened, partial };
        }
        const opened = await openMedia(this.httpOf(run), resolved.download, run.plugin, { signal: run.signal, maxBytes: this.maxBytes });
        return { resolved, opened, ...(partial ? { partial } : {}) };
      } catch (thrown) {
        await this.retryOrThrow(thrown, run);
      }
    }
  }

  /**
   * Streams the opened body into the spool file `<dataDir>/tmp/<fileId>.part` and finishes it. Cut bodies are
   * resumed or restarted within the run's retry budget; the temp file is fdatasync'd in the background (every
   * 16 MiB and about every second) and each new durable length recorded, so a later process can continue it. On abort the temp file is kept (the engine decides
   * whether to drop it); on any other failure it is removed.
   */
  async download(row: FileRow, prepared: PreparedSource, run: TransferRun): Promise<SpooledFile> {
    const { record } = run;
    let partial: PartialWrite;
    try {
      partial = prepared.partial ?? (await this.spool.createPartial(row.id));
    } catch (error) {
      // No temp file (read-only or full data dir): let the opened response go, or its connection stays busy.
      prepared.opened.response.body.destroy();
      throw error;
    }
    const state = {
      opened: prepared.opened,
      request: prepared.resolved.download,
      expect: expectationOf(prepared.opened, prepared.partial ? row.resume_state : null),
      reResolvedAt: -1,
    };
    const books = new DownloadBookkeeping(partial, record, () => state.expect);
    let reservation: TempReservation | undefined;
    const onChunk = async (bytes: number): Promise<void> => {
      if (bytes > this.maxBytes) throw new IngestError('file_too_large', `${run.url.href} sent more than the limit of ${this.maxBytes} bytes`);
      // A body without a declared length is counted against the temp-disk budget as it grows.
      reservation?.ensure(bytes);
      if (crashPointsArmed) crashPoint('download', { received: bytes, total: state.expect.total });
      await books.received(bytes);
    };
    const onAbort = (): void => {
      state.opened.response.body.destroy(abortReasonOf(run.signal));
    };
    run.signal.addEventListener('abort', onAbort, { once: true });
    await books.begin();
    try {
      const reserved = await this.reserveTemp(partial, state, run);
      reservation = reserved.reservation;
      for (;;) {
        if (reserved.complete) break;
        try {
          await partial.append(state.opened.body, onChunk);
          const total = state.expect.total;
          if (total !== null && partial.bytes !== total) {
            throw new IngestError('upstream_error', `${run.url.href} ended the body after ${partial.bytes} of ${total} bytes`, { retryable: true });
          }
          break;
        } catch (thrown) {
          // Whatever stopped the body, its connection is done with.
          state.opened.response.body.destroy();
          const error = asIngestError(thrown);
          if (run.signal.aborted) throw abortReasonOf(run.signal, error);
          if (error.code === 'storage_error' || !error.retryable) throw error;
          if (state.expect.resumable) await books.checkpoint();
          await this.retryOrThrow(error, run);
          if (await this.reopen(partial, state, run)) break;
        }
      }
      run.clock?.lap('download');
      const spooled = await this.spool.finishPartial(partial);
      run.clock?.lap('fsync');
      return spooled;
    } catch (thrown) {
      await books.settle();
      if (run.signal.aborted) {
        if (state.expect.resumable) await books.checkpoint().catch(() => undefined);
        await partial.close();
      } else {
        await partial.discard();
        // The registry cannot be written either (disk full): the failure itself is what matters.
        await record.update({ resume_state: null }).catch(() => undefined);
      }
      throw thrown;
    } finally {
      await books.settle();
      reservation?.release();
      run.signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Reserves the temp disk this download needs (its declared length, or what is already on disk) before its body
   * is read. When that does not fit beside the downloads in flight, the opened response is let go (no connection is
   * held while waiting), the reservation waits its turn, and the body is requested again (with `Range` when the
   * temp file can continue). `complete` is true when every byte was already on disk.
   */
  private async reserveTemp(
    partial: PartialWrite,
    state: { opened: OpenedMedia; request: DownloadRequest; expect: Expectation; reResolvedAt: number },
    run: TransferRun,
  ): Promise<{ reservation: TempReservation; complete: boolean }> {
    const need = (): number => Math.max(state.expect.total ?? 0, partial.bytes);
    let now: TempReservation | undefined;
    try {
      now = this.tempBudget.tryReserve(need());
    } catch (error) {
      await state.opened.response.dump();
      throw error;
    }
    if (now) return { reservation: now, complete: false };
    run.logger.info({ bytes: need(), reserved: this.tempBudget.reserved, limit: this.tempBudget.limit }, 'waiting for the temp disk budget (limits.maxTempBytes)');
    await state.opened.response.dump();
    const reservation = await this.tempBudget.reserve(need(), run.signal);
    try {
      const complete = await this.reopen(partial, state, run);
      reservation.ensure(need());
      return { reservation, complete };
    } catch (error) {
      reservation.release();
      throw error;
    }
  }

  /**
   * Opens the rest of the body after a failure: a validated 206 continues the temp file; a server that ignores
   * Range, answers 416, or whose media changed restarts it from zero; an expired signed URL (401/403/410) is
   * re-resolved through the plugin once per offset. Retryable failures consume the budget. Returns true when every
   * byte had already arrived (nothing left to request).
   */
  private async reopen(
    partial: PartialWrite,
    state: { opened: OpenedMedia; request: DownloadRequest; expect: Expectation; reResolvedAt: number },
    run: TransferRun,
  ): Promise<boolean> {
    const http = this.httpOf(run);
    const options = { signal: run.signal, maxBytes: this.maxBytes };
    for (;;) {
      try {
        const offset = partial.bytes;
        if (offset > 0 && state.expect.resumable && state.expect.total !== null && offset === state.expect.total) return true;
        if (offset > 0 && state.expect.resumable && (state.expect.total === null || offset < state.expect.total)) {
          const outcome = await openMediaFrom(http, state.request, run.plugin, { ...options, from: { ...state.expect, offset } });
          if (outcome.kind === 'resumed') {
            run.logger.info({ offset }, 'resuming the download with Range');
            state.opened = outcome.opened;
            return false;
          }
          if (outcome.kind === 'expired') {
            if (state.reResolvedAt === offset) throw outcome.error;
            state.reResolvedAt = offset;
            run.logger.info({ offset, code: outcome.error.code }, 'the media URL expired: resolving it again');
            state.request = (await this.resolve(run)).download;
            continue;
          }
          run.logger.info({ offset, outcome: outcome.kind, reason: 'reason' in outcome ? outcome.reason : undefined }, 'cannot resume: restarting the download from zero');
          await partial.reset();
          if (outcome.kind === 'full') {
            state.opened = outcome.opened;
            state.expect = expectationOf(outcome.opened, null);
            return false;
          }
        } else if (offset > 0) {
          run.logger.info({ offset }, 'the source does not support resuming: restarting the download from zero');
          await partial.reset();
        }
        state.opened = await openMedia(http, state.request, run.plugin, options);
        state.expect = expectationOf(state.opened, null);
        return false;
      } catch (thrown) {
        await this.retryOrThrow(thrown, run);
      }
    }
  }

  private async resolve(run: TransferRun): Promise<ResolvedSource> {
    let cookies: import('tough-cookie').CookieJar | undefined;
    const context: ResolveContext = {
      http: this.httpOf(run), logger: run.logger, signal: run.signal, userAgent: this.config.network.userAgent,
      // Made (and tough-cookie loaded) only when a plugin uses it: a direct link never does.
      get cookies() {
        const { CookieJar } = createRequire(import.meta.url)('tough-cookie') as typeof import('tough-cookie');
        return (cookies ??= new CookieJar());
      },
      ...(this.ytDlp ? { ytDlp: this.ytDlp } : {}),
    };
    return run.plugin.resolve(run.url, context);
  }

  /** Rethrows non-retryable failures (and any once the budget is spent); otherwise logs, reports and waits. */
  private async retryOrThrow(thrown: unknown, run: TransferRun): Promise<void> {
    const error = asIngestError(thrown);
    if (run.signal.aborted) throw abortReasonOf(run.signal, error);
    const decision = run.budget.next(error);
    run.logger.warn(
      { attempt: decision.attempt, retries: decision.retries, delayMs: decision.delayMs, retryAfter: decision.fromRetryAfter, code: error.code, err: error.message },
      'retrying after a retryable failure',
    );
    await run.record.retried(decision);
    await sleep(decision.delayMs, run.signal);
  }

  private get maxBytes(): number {
    return this.config.limits.maxBytes;
  }
}

/** Anything thrown, as an IngestError: data-dir faults (also SQLite's) are `storage_error`, the rest `upstream_error`. */
function asIngestError(thrown: unknown): IngestError {
  return isStorageFault(thrown) ? mapStorageError(thrown, 'the data dir') : toIngestError(thrown, 'upstream_error');
}

/** The IngestError behind an aborted signal; `fallback` (the failure seen) when the reason is not one. */
export function abortReasonOf(signal: AbortSignal, fallback?: IngestError): IngestError {
  return fallback && !isIngestError(signal.reason) ? fallback : cancelledBy(signal);
}
