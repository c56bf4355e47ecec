import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CookieJar } from 'tough-cookie';
import type { Logger } from 'pino';
import { IngestError, isIngestError, toIngestError } from '../errors.js';
import type { IngestConfig } from '../config/define-config.js';
import type { HttpClient, ResolvedSource, SourcePlugin } from '../plugin-api.js';
import type { ContentAddressedStore, WrittenBlob } from '../store/blob-store.js';
import type { Registry } from '../store/registry.js';
import type { FileRow, MediaInfo, SegmentRow, ThumbnailRow } from '../store/rows.js';
import { openMedia } from '../stages/open-media.js';
import type { OpenedMedia } from '../stages/open-media.js';
import { probeMedia } from '../stages/probe.js';
import type { ProbeResult } from '../stages/probe.js';
import { defaultThumbnailTime, makeThumbnails, planSegments } from '../stages/thumbnails.js';
import { backoffDelay, sleep } from './backoff.js';

/** A resolved source with its media response opened and checked. */
export interface PreparedSource {
  resolved: ResolvedSource;
  opened: OpenedMedia;
}

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
  constructor(private readonly deps: PipelineDeps) {}

  /** Resolves the URL through its plugin and opens the media response, retrying retryable failures. */
  async prepare(url: URL, plugin: SourcePlugin, signal: AbortSignal, logger: Logger): Promise<PreparedSource> {
    const { retry, network, limits } = this.deps.config;
    for (let attempt = 1; ; attempt++) {
      try {
        const cookies = new CookieJar();
        const resolved = await plugin.resolve(url, { http: this.deps.http, cookies, logger, signal, userAgent: network.userAgent });
        const opened = await openMedia(this.deps.http, resolved.download, plugin, { signal, maxBytes: limits.maxBytes });
        return { resolved, opened };
      } catch (thrown) {
        const error = toIngestError(thrown, 'upstream_error');
        if (signal.aborted) throw abortReason(signal, error);
        if (!error.retryable || attempt >= retry.attempts) throw error;
        const delay = backoffDelay(attempt, retry, error.retryAfterSeconds);
        logger.warn({ attempt, delayMs: delay, code: error.code, err: error.message }, 'retrying after a retryable failure');
        await sleep(delay, signal);
      }
    }
  }

  /** Streams the opened body into content-addressed storage, reporting progress. */
  async download(row: FileRow, prepared: PreparedSource, signal: AbortSignal): Promise<WrittenBlob> {
    const { registry } = this.deps;
    const total = prepared.opened.declaredBytes;
    let lastReport = 0;
    registry.updateFile(row.id, { progress_received: 0, progress_total: total });
    const onAbort = (): void => {
      prepared.opened.response.body.destroy(abortReason(signal, new IngestError('cancelled', 'Cancelled')));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.deps.store.write(prepared.opened.body, (bytes) => {
        const now = Date.now();
        if (now - lastReport < 250) return;
        lastReport = now;
        const updated = registry.updateFile(row.id, { progress_received: bytes, progress_total: total });
        if (updated) this.deps.onProgress(updated);
      });
    } catch (error) {
      throw signal.aborted ? abortReason(signal, toIngestError(error)) : error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** ffprobe on the local blob only. */
  async probe(blobPath: string, signal: AbortSignal): Promise<ProbeResult> {
    const { config } = this.deps;
    return probeMedia(blobPath, {
      timeoutMs: config.probeTimeoutMs,
      maxDurationSeconds: config.limits.maxDurationSeconds,
      maxPixelDimension: config.limits.maxPixelDimension,
      maxStreams: config.limits.maxStreams,
      signal,
    });
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
    await fs.rm(outputDir, { recursive: true, force: true });
    await fs.mkdir(outputDir, { recursive: true });
    const results = await makeThumbnails(blobPath, requests, {
      width: config.thumbnails.width,
      format: config.thumbnails.format,
      quality: config.thumbnails.quality,
      outputDir,
      timeoutMs: config.ffmpegTimeoutMs,
      parallelism: config.concurrency.cpu,
      durationSeconds: probe.durationSeconds,
      signal,
    });
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
    await fs.rm(store.thumbnailDir(fileId), { recursive: true, force: true });
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
