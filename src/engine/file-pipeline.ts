import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { IngestError, isIngestError } from '../errors.js';
import type { IngestConfig } from '../config/define-config.js';
import type { HttpClient } from '../plugin-api.js';
import { isStorageFault, mapStorageError } from '../store/blob-store.js';
import type { ContentAddressedStore, PartialWrite, WrittenBlob } from '../store/blob-store.js';
import type { Registry } from '../store/registry.js';
import type { FileRow, MediaInfo, SegmentRow, ThumbnailRow } from '../store/rows.js';
import { probeMedia } from '../stages/probe.js';
import type { ProbeResult } from '../stages/probe.js';
import { defaultThumbnailTime, makeThumbnails, planSegments } from '../stages/thumbnails.js';
import { resolveDecoder } from '../media/decoder.js';
import { processLimitsOf } from '../media/run-decoder.js';
import { DerivedWork } from './derived-work.js';
import { crashPoint } from './crash-points.js';
import { Transfer } from './transfer.js';
import type { PreparedSource, TransferRun } from './transfer.js';

export type { PreparedSource, TransferRun } from './transfer.js';

/** What the stages need from the engine. */
export interface PipelineDeps {
  config: IngestConfig;
  http: HttpClient;
  registry: Registry;
  store: ContentAddressedStore;
  logger: Logger;
  /** Called with the row after every visible change (progress, status). */
  onProgress: (row: FileRow) => void;
}

/**
 * The stages of one file, each a small step; the order lives in {@link Ingest} (`runFile`):
 * prepare (resolve + open) → download into the store → probe → thumbnails.
 */
export class FilePipeline {
  private readonly transfer: Transfer;

  /** Probes and thumbnails already made for a content, reused by later files of the same blob. */
  private readonly derived = new DerivedWork();

  constructor(private readonly deps: PipelineDeps) {
    this.transfer = new Transfer(deps);
  }

  /** Resolves the URL through its plugin and opens the media response (resuming `partial` when given), with retries. */
  prepare(run: TransferRun, resume?: { row: FileRow; partial: PartialWrite }): Promise<PreparedSource> {
    const state = resume?.row.resume_state;
    if (!resume || !state) return this.transfer.prepare(run);
    return this.transfer.prepare(run, {
      partial: resume.partial, from: { etag: state.etag, lastModified: state.last_modified, total: state.total },
    });
  }

  /** Streams the opened body into content-addressed storage, resuming cut bodies, reporting progress. */
  download(row: FileRow, prepared: PreparedSource, run: TransferRun): Promise<WrittenBlob> {
    return this.transfer.download(row, prepared, run);
  }

  /** The temp file an earlier run of `row` left, at its durable length, when it can be resumed. */
  async resumablePartial(row: FileRow): Promise<PartialWrite | undefined> {
    const state = row.resume_state;
    if (!state || !(state.bytes > 0)) {
      await this.deps.store.removePartial(row.id);
      return undefined;
    }
    const partial = await this.deps.store.reopenPartial(row.id, state.bytes);
    if (!partial) await this.deps.store.removePartial(row.id);
    return partial;
  }

  /** The blob an earlier run of `row` already stored (a crash after the download), when it is still there. */
  async storedBlob(row: FileRow): Promise<WrittenBlob | undefined> {
    const { store } = this.deps;
    if (!row.content_sha256 || row.bytes === null || !(await store.hasBlob(row.content_sha256))) return undefined;
    return { sha256: row.content_sha256, bytes: row.bytes, path: store.blobPath(row.content_sha256) };
  }

  /** ffprobe on the local blob only. */
  async probe(blobPath: string, signal: AbortSignal): Promise<ProbeResult> {
    const { config } = this.deps;
    const decoder = await resolveDecoder(config.decoder);
    // Once per content: a blob another file of this engine already probed is not decoded again.
    return this.derived.probe(blobPath, () => probeMedia(blobPath, {
      ...config.limits,
      ffprobePath: decoder.ffprobe.path, processLimits: processLimitsOf(config.decoder),
      timeoutMs: config.probeTimeoutMs,
      signal,
    }));
  }

  /** The default thumbnail and, when enabled, one per uniform segment. Returns the rows it stored. */
  async thumbnails(row: FileRow, blobPath: string, probe: ProbeResult, signal: AbortSignal): Promise<ThumbnailRow[]> {
    const { config, store, registry } = this.deps;
    const duration = probe.durationSeconds ?? 0;
    const segments = row.enable_segment_thumbnails ? planSegments(duration, config.thumbnails.segmentSeconds) : [];
    const requests = [
      { key: 'default', timeSeconds: defaultThumbnailTime(duration) },
      ...segments.map((s) => ({ key: `segment-${s.index}`, timeSeconds: s.thumbnailTime })),
    ];
    const outputDir = store.thumbnailDir(row.id);
    const results = await storageErrors('thumbnails', async () => {
      await fs.rm(outputDir, { recursive: true, force: true });
      await fs.mkdir(outputDir, { recursive: true });
      const { width, format, quality, maxHeight } = config.thumbnails;
      const settings = { requests, width, format, quality, maxHeight, stream: probe.videoStreamIndex };
      // Once per content and settings: another file of the same blob gets links to the images already made.
      const made = await this.derived.thumbnails(blobPath, settings, outputDir, async () => makeThumbnails(blobPath, requests, {
        ffmpegPath: (await resolveDecoder(config.decoder)).ffmpeg.path,
        processLimits: processLimitsOf(config.decoder),
        frameSize: probe.width && probe.height ? { width: probe.width, height: probe.height } : null,
        streamIndex: probe.videoStreamIndex,
        ...(config.thumbnails.maxHeight ? { maxHeight: config.thumbnails.maxHeight } : {}),
        width: config.thumbnails.width,
        format: config.thumbnails.format,
        quality: config.thumbnails.quality,
        outputDir,
        timeoutMs: config.ffmpegTimeoutMs,
        parallelism: config.concurrency.cpu,
        durationSeconds: probe.durationSeconds,
        signal,
        scratchPrefix: path.join(store.tempDir, `${row.id}.frames-`),
      }));
      // Durable before the registry points at them: a completed file never lists a thumbnail a power loss took.
      await store.syncFiles(made.map((m) => m.path));
      return made;
    });
    crashPoint('thumbnails');
    const now = Date.now();
    const byKey = new Map(results.map((r) => [r.key, r]));
    const thumbnailRows: ThumbnailRow[] = [];
    const segmentRows: SegmentRow[] = [];
    const toRow = (key: string, type: 'file' | 'segment', segmentId: string | null): ThumbnailRow | undefined => {
      const made = byKey.get(key);
      if (!made) return undefined;
      const thumbnail: ThumbnailRow = {
        id: randomUUID(), file_id: row.id, type, time: made.timeSeconds, segment_id: segmentId,
        path: path.relative(store.dataDir, made.path), width: made.width, height: made.height,
        is_default: type === 'file', created_at: now,
      };
      thumbnailRows.push(thumbnail);
      return thumbnail;
    };
    toRow('default', 'file', null);
    for (const segment of segments) {
      const segmentId = randomUUID();
      const thumbnail = toRow(`segment-${segment.index}`, 'segment', segmentId);
      segmentRows.push({
        id: segmentId, file_id: row.id, idx: segment.index, start_time: segment.start, end_time: segment.end,
        thumbnail_id: thumbnail?.id ?? null,
      });
    }
    registry.replaceRenditions(row.id, thumbnailRows, segmentRows);
    return thumbnailRows;
  }

  /** Removes what a failed or deleted file left: thumbnails, and its blob when nothing else references it. */
  async discardOutputs(fileId: string, sha256: string | null): Promise<void> {
    const { store, registry } = this.deps;
    await store.removePartial(fileId);
    await fs.rm(store.thumbnailDir(fileId), { recursive: true, force: true }).catch(() => undefined);
    if (sha256 && registry.blobReferences(sha256) === 0) await store.removeBlob(sha256);
  }
}

/** media_info from a probe. */
export function mediaInfoOf(probe: ProbeResult): MediaInfo {
  return {
    duration_seconds: probe.durationSeconds,
    width: probe.width,
    height: probe.height,
    sample_rate: probe.sampleRate,
    channels: probe.channels,
    bitrate: probe.bitrate,
    format: probe.format,
    has_audio: probe.hasAudio,
  };
}

/** The IngestError behind an aborted signal. */
export function abortReason(signal: AbortSignal, fallback: IngestError): IngestError {
  return isIngestError(signal.reason) ? signal.reason : fallback;
}

/** Runs a stage's file-system work, turning disk-full / read-only failures into `storage_error`. */
async function storageErrors<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isIngestError(error)) {
      const cause = (error as { cause?: unknown }).cause;
      if (error.code === 'internal' && isStorageFault(cause)) throw mapStorageError(cause, what);
      throw error;
    }
    if (isStorageFault(error) || /no space left|read-only file system/i.test(String((error as Error)?.message))) {
      throw mapStorageError(error, what);
    }
    throw error;
  }
}
