import type { Logger } from 'pino';
import { IngestError, toIngestError } from '../errors.js';
import { cancelledBy } from '../plugin-kit.js';
import type { SourcePlugin } from '../plugin-api.js';
import type { FileEventPayload, FileEventType } from '../ports/event-bus.js';
import type { FilePatch, FileRow, RunToken } from '../ports/registry.js';
import { cancelReasonOf, isHandedBack } from '../ports/work-queue.js';
import type { FileRunJob } from '../ports/work-queue.js';
import { isStorageFault, mapStorageError } from '../store/spool.js';
import type { PartialWrite, SpooledFile } from '../store/spool.js';
import type { ProbeResult } from '../stages/probe.js';
import { RetryBudget } from './backoff.js';
import type { RetryDecision } from './backoff.js';
import { crashPoint } from './crash-points.js';
import type { LocalBlob } from './file-outputs.js';
import { newFileRow, sourceMetadataOf } from './file-rows.js';
import { mediaInfoOf } from './media-stages.js';
import { StageClock } from './stage-clock.js';
import { timedStage } from './telemetry.js';
import type { TelemetryEvents, TelemetryStage } from './telemetry.js';
import type { RunServices } from './run-worker.js';
import { awaitNewRunStart, claimResolvedIdentity, FoundElsewhere } from './start-claims.js';
import type { PreparedSource, RunRecord, TransferRun } from './transfer.js';

/**
 * One run of one file: it owns the row, the run token, the logger, the retry budget and the abort signal, runs the
 * stages in order ({@link FileRun.execute}) and reports only through the registry and the event bus: `run.ready`
 * once the file exists with its media response open (or was found to exist), `run.refused` when it failed before
 * that, then the file events.
 */
export class FileRun implements RunRecord {
  row: FileRow | undefined;
  private token: RunToken | undefined;
  private ready = false;
  readonly logger: Logger;
  readonly budget: RetryBudget;
  /** Set at the start of {@link FileRun.execute} (finding the plugin may fail, and then the run is refused). */
  private url!: URL;
  private transferRun!: TransferRun;
  /** Drops this run's start claim (see {@link awaitStart}); set while it holds one. */
  private releaseStart: (() => Promise<void>) | undefined;

  constructor(private readonly job: FileRunJob, private readonly signal: AbortSignal, private readonly s: RunServices) {
    this.logger = s.logger.child({ url: job.url, ...(job.kind === 'restart' ? { fileId: job.jobId } : {}) });
    this.budget = new RetryBudget(s.config.retry);
  }

  /** Runs the file (its exchanges are counted for its source plugin by the transfer's per-run client). */
  execute(): Promise<void> {
    return this.stages();
  }

  /** Wall time per stage, for the debug line `file stage timings` (and `npm run bench`). */
  private readonly clock = new StageClock();

  /** The stage order of one file, in one place. */
  private async stages(): Promise<void> {
    let failure: IngestError | undefined;
    try {
      this.throwIfAborted();
      this.url = new URL(this.job.url);
      const plugin = this.s.router.pluginFor(this.url);
      this.transferRun = { url: this.url, plugin, signal: this.signal, logger: this.logger, budget: this.budget, record: this, clock: this.clock };
      if (this.job.kind === 'restart' && !(await this.claim())) return;
      if (this.job.kind === 'new' && !(await this.start())) return;
      // A restart whose download was stored already (a crash after the download) goes straight to the probe.
      let blob = await this.storedBlob();
      if (blob) await this.becomeReady({ status: 'processing', resume_state: null });
      else {
        // 1-2. Resolve and open, then download: one network slot for the host, so the open response never idles.
        const spooled = await this.s.queue.withSlot({ class: 'network', key: this.url.hostname, signal: this.signal }, () => this.fetch());
        if (!spooled) return;
        this.clock.lap('download');
        blob = await this.store(spooled);
        this.clock.lap('store');
      }
      try {
        // 3. Probe the local blob; 4. thumbnails for video.
        const probe = await this.s.queue.withSlot({ class: 'cpu', signal: this.signal }, () => this.probe(blob));
        this.clock.lap('probe');
        if (probe.mediaType === 'video') await this.s.queue.withSlot({ class: 'cpu', signal: this.signal }, () => this.thumbnails(blob, probe));
        this.clock.lap('thumbnails');
      } finally {
        await blob.release();
      }
      await this.complete();
    } catch (thrown) {
      failure = isStorageFault(thrown) ? mapStorageError(thrown, 'the registry') : toIngestError(thrown);
      await this.fail(failure);
      throw failure;
    } finally {
      await this.releaseStart?.();
      // A run cut short by a shutdown whose job the queue hands to another worker: that worker's run answers.
      if (!this.ready && !isHandedBack(this.signal)) {
        const error = failure ?? new IngestError('internal', 'The file run ended before it started');
        await this.s.bus.publish({ type: 'run.refused', jobId: this.job.jobId, error });
      }
    }
  }

  /** Takes a restarted file over (compare-and-set on the token read); false when another run took it first. */
  private async claim(): Promise<boolean> {
    const current = await this.s.registry.getFile(this.job.jobId);
    if (!current) throw new IngestError('not_found', `File ${this.job.jobId} was deleted`);
    // A run queued again while the file was in flight (a stalled or reconciled job) finds it completed: done.
    if (current.status === 'completed') return this.handBack(current).then(() => false);
    const claimed = await this.s.registry.claim(current.id, this.s.queue.owner, {
      status: 'pending', error_code: null, error_message: null, attempt: 1, retries: 0, retry_error_code: null, retry_error_message: null,
    }, current.run_token);
    if (!claimed) return this.handBack(current).then(() => false);
    this.row = claimed.row;
    this.token = claimed.token;
    return true;
  }

  /**
   * A new file: waits for the start claim on its identity (its alias for a short link) unless the file exists or
   * the claimant was refused, so that one run in any process opens the media. True when this run goes on.
   */
  private async start(): Promise<boolean> {
    if (this.job.kind !== 'new') return true;
    const { aliasHash, jobId } = this.job;
    const base = { registry: this.s.registry, bus: this.s.bus, holder: jobId, signal: this.signal };
    const offline = this.transferRun.plugin.identify(this.url);
    const outcome = await awaitNewRunStart(base, offline?.key, aliasHash);
    if (outcome.kind === 'refused') throw outcome.error;
    if (outcome.kind === 'held') {
      this.releaseStart = outcome.release;
      // A short link: its identity is known once resolved, and claimed then (once), before the media is opened.
      if (!offline) {
        this.transferRun.beforeOpen = async (resolved) => {
          this.transferRun.beforeOpen = undefined;
          this.releaseStart = await claimResolvedIdentity(base, resolved.identity.key).then((release) => () => release().then(outcome.release));
        };
      }
      return true;
    }
    if (outcome.row.id === jobId) return this.claim(); // its own file: handed back by a worker that shut down
    await this.s.registry.addAlias(aliasHash, outcome.row.id, this.url.href);
    await this.handBack(outcome.row);
    return false;
  }

  private async storedBlob(): Promise<LocalBlob | undefined> {
    const row = this.row;
    if (!row?.content_sha256 || row.bytes === null) return undefined;
    return this.s.outputs.local(row.id, row.content_sha256);
  }

  /** Resolve + open (creating the row of a new file), then the body into the spool. Undefined: handed back. */
  private async fetch(): Promise<SpooledFile | undefined> {
    const partial = this.row ? await this.resumablePartial(this.row) : undefined;
    let prepared: PreparedSource;
    try {
      const state = this.row?.resume_state;
      prepared = await this.timed('resolve', () => this.s.transfer.prepare(this.transferRun, partial && state
        ? { partial, from: { etag: state.etag, lastModified: state.last_modified, total: state.total } }
        : undefined));
    } catch (error) {
      await partial?.close();
      if (!(error instanceof FoundElsewhere) || this.job.kind !== 'new') throw error;
      await this.s.registry.addAlias(this.job.aliasHash, error.row.id, this.url.href);
      await this.handBack(error.row);
      return undefined;
    }
    const plugin = this.transferRun.plugin;
    if (this.row) {
      await this.becomeReady({
        status: 'processing', source_metadata: sourceMetadataOf(plugin, prepared),
        progress_received: prepared.partial?.bytes ?? 0, progress_total: prepared.opened.declaredBytes,
        attempt: this.budget.attempt, retries: this.budget.retries,
      });
    } else if (!(await this.create(prepared))) {
      // Another spelling (or another process) created this identity first: hand back that file.
      await prepared.opened.response.dump();
      return undefined;
    }
    const row = this.row!;
    return this.timed('download', () => this.s.transfer.download(row, prepared, this.transferRun));
  }

  /** Inserts the row of a new file; false when another run holds the identity (handed back). */
  private async create(prepared: PreparedSource): Promise<boolean> {
    if (this.job.kind !== 'new') throw new IngestError('internal', 'Only a new run creates a file');
    const { registry } = this.s;
    const outcome = await registry.insertFileOnce(newFileRow(this.url, this.transferRun.plugin, prepared, this.budget, {
      id: this.job.jobId, owner: this.s.queue.owner, metadata: this.job.metadata, segmentThumbnails: this.job.segmentThumbnails,
    }));
    await registry.addAlias(this.job.aliasHash, outcome.row.id, this.url.href);
    // The file row now stands for the identity: waiting runs find it.
    await this.releaseStart?.();
    if (!outcome.created) {
      await this.handBack(outcome.row);
      return false;
    }
    this.row = outcome.row;
    this.token = outcome.token;
    await this.becomeReady({});
    return true;
  }

  /** Puts the spooled download into the blob store and records it. */
  private async store(spooled: SpooledFile): Promise<LocalBlob> {
    const stored = await this.s.blobs.putBlob(spooled.path, spooled.sha256);
    crashPoint('committed');
    await this.update({
      bytes: stored.bytes, content_sha256: stored.sha256, progress_received: stored.bytes, progress_total: stored.bytes, resume_state: null,
    });
    await this.publish('file.progress', this.row!); // stage: probing
    const local = await this.s.outputs.local(this.row!.id, stored.sha256);
    if (!local) throw new IngestError('storage_error', `The blob ${stored.sha256} vanished right after it was stored`);
    return local;
  }

  private async probe(blob: LocalBlob): Promise<ProbeResult> {
    crashPoint('probe');
    const probe = await this.timed('probe', () => this.s.probe.run(blob, this.signal));
    const row = await this.update({ media_type: probe.mediaType, media_info: mediaInfoOf(probe) });
    if (probe.mediaType === 'video') await this.publish('file.progress', row); // stage: thumbnails
    return probe;
  }

  private async thumbnails(blob: LocalBlob, probe: ProbeResult): Promise<void> {
    const row = this.row!;
    const made = await this.timed('thumbnails', () => this.s.thumbnails.run({ id: row.id, segmentThumbnails: row.enable_segment_thumbnails }, blob, probe, this.signal));
    await this.s.registry.replaceRenditions(row.id, this.token!, made.thumbnails, made.segments);
  }

  private async complete(): Promise<void> {
    this.throwIfAborted();
    crashPoint('completing');
    const { id } = this.row!;
    this.row = await this.s.registry.release(id, this.token!, {
      status: 'completed', progress_received: null, progress_total: null, attempt: null,
    });
    this.logger.info({ fileId: id, bytes: this.row.bytes, retries: this.budget.retries }, 'file completed');
    this.clock.lap('commit');
    this.logger.debug({ fileId: id, stageMs: this.clock.stageMs() }, 'file stage timings');
    await this.publish('file.completed', this.row);
  }

  /**
   * Records a failure: a deleted file records nothing, a superseded run changes nothing, a shutdown checkpoints to
   * `pending` (keeping the spool file and a stored blob for the next start), anything else fails and its outputs go.
   */
  private async fail(error: IngestError): Promise<void> {
    const { row, token } = this;
    // A refusal before the file exists: the caller sees its code and message; the log keeps the detail.
    if (!row) this.logger.info({ code: error.code, err: error }, 'refused');
    if (!row || !token) return;
    const reason = cancelReasonOf(this.signal);
    if (error.code === 'run_superseded') this.logger.warn({ fileId: row.id, code: error.code }, 'run superseded: another run took the file over');
    if (reason === 'deleted' || error.code === 'run_superseded') return;
    if (reason === 'shutdown') {
      await this.s.registry.release(row.id, token, { status: 'pending', attempt: null }).catch(() => undefined);
      return;
    }
    let failed: FileRow | undefined;
    try {
      failed = await this.s.registry.release(row.id, token, {
        status: 'failed', error_code: error.code, error_message: error.message,
        progress_received: null, progress_total: null, content_sha256: null, resume_state: null, attempt: null,
      });
    } catch (thrown) {
      // The registry itself cannot be written (disk full, read-only): the row stays in flight for the next start.
      this.logger.error({ fileId: row.id, err: (thrown as Error).message }, 'could not record the failure');
    }
    await this.s.outputs.discard(row.id, failed ? row.content_sha256 : null).catch((thrown: unknown) => {
      this.logger.warn({ fileId: row.id, err: (thrown as Error).message }, 'could not remove the outputs of a failed file');
    });
    this.logger.warn({ fileId: row.id, code: error.code, err: error }, 'file failed');
    if (failed) await this.publish('file.failed', failed);
  }

  /** The spool file an earlier run of `row` left, at its durable length, when it can be resumed. */
  private async resumablePartial(row: FileRow): Promise<PartialWrite | undefined> {
    const { spool } = this.s;
    const state = row.resume_state;
    const partial = state && state.bytes > 0 ? await spool.reopenPartial(row.id, state.bytes) : undefined;
    if (!partial) await spool.removePartial(row.id);
    return partial;
  }

  // ── RunRecord: what the transfer writes through ──────────────────────────────────────────────────────────────

  async update(patch: FilePatch): Promise<FileRow> {
    if (!this.row || !this.token) throw new IngestError('internal', 'The file run has no file yet');
    this.row = await this.s.registry.update(this.row.id, this.token, patch);
    return this.row;
  }

  async progress(received: number, total: number | null): Promise<void> {
    await this.publish('file.progress', await this.update({ progress_received: received, progress_total: total }));
  }

  async retried(decision: RetryDecision): Promise<void> {
    this.s.telemetry.emit('file.retried', { source: this.transferRun.plugin.id, code: decision.error.code } satisfies TelemetryEvents['file.retried']);
    if (!this.row) return;
    try {
      const row = await this.update({
        attempt: decision.attempt, retries: decision.retries, retry_error_code: decision.error.code, retry_error_message: decision.error.message,
      });
      await this.publish('file.progress', row);
    } catch (error) {
      this.logger.warn({ fileId: this.row.id, err: (error as Error).message }, 'could not record a retry');
    }
  }

  // ── reporting ───────────────────────────────────────────────────────────────────────────────────────────────

  /** The file exists and its run holds it: records `patch`, tells the enqueuer, and announces processing. */
  private async becomeReady(patch: FilePatch): Promise<void> {
    const row = Object.keys(patch).length > 0 ? await this.update(patch) : this.row!;
    this.ready = true;
    const file = await this.payload(row);
    await this.s.bus.publish({ type: 'run.ready', jobId: this.job.jobId, file });
    await this.s.bus.publish({ type: 'file.processing', file, run: this.token! });
  }

  /** Another run holds the file: the enqueuer gets that file, and this run stops. */
  private async handBack(row: FileRow): Promise<void> {
    this.ready = true;
    await this.s.bus.publish({ type: 'run.ready', jobId: this.job.jobId, file: await this.payload(row) });
  }

  private async publish(type: FileEventType, row: FileRow): Promise<void> {
    await this.s.bus.publish({ type, file: await this.payload(row), run: this.token! });
  }

  private async payload(row: FileRow): Promise<FileEventPayload> {
    return (await this.s.views.file(row)) as unknown as FileEventPayload;
  }

  /** One stage, timed (`stage.finished` telemetry). */
  private timed<T>(stage: TelemetryStage, work: () => Promise<T>): Promise<T> {
    return timedStage(this.s.telemetry, stage, this.transferRun.plugin.id, work);
  }

  private throwIfAborted(): void {
    if (this.signal.aborted) throw cancelledBy(this.signal, 'The file run');
  }
}
