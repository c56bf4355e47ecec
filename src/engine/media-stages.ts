import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { inject, injectable } from 'inversify';
import type { IngestConfig } from '../config/define-config.js';
import { IngestError, isIngestError } from '../errors.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { MediaInfo, SegmentRow, ThumbnailRow } from '../ports/registry.js';
import { probeMedia } from '../stages/probe.js';
import type { ProbeResult } from '../stages/probe.js';
import { makeThumbnails } from '../stages/thumbnails.js';
import type { ThumbnailRequest } from '../stages/thumbnails.js';
import { defaultThumbnailTime, planSegments } from '../stages/segment-plan.js';
import { isStorageFault, mapStorageError } from '../store/spool.js';
import type { Spool } from '../store/spool.js';
import { resolveDecoder } from '../media/decoder.js';
import { processLimitsOf } from '../media/run-decoder.js';
import { crashPoint } from './crash-points.js';
import { ContentMemo, DerivedWork } from './derived-work.js';
import { TOKENS } from './tokens.js';

/** The probe stage: ffprobe on a local copy of the blob only, bounded by the configured limits. */
@injectable()
export class ProbeStage {
  /** Probes already made, by content: a blob another file of this engine probed is not decoded again. */
  private readonly derived = new DerivedWork();

  constructor(@inject(TOKENS.Config) private readonly config: IngestConfig) {}

  /** Probes `blob.path`; a blob of the same content (`blob.sha256`) probed before in this engine is not probed again. */
  async run(blob: BlobFile, signal: AbortSignal): Promise<ProbeResult> {
    const { config } = this;
    const decoder = await resolveDecoder(config.decoder);
    return this.derived.probe(blob.sha256, () => probeMedia(blob.path, {
      ...config.limits,
      ffprobePath: decoder.ffprobe.path, processLimits: processLimitsOf(config.decoder),
      timeoutMs: config.probeTimeoutMs,
      signal,
    }));
  }
}

/** A stored blob as a local file (the path may be a copy: the content hash is what derived work is keyed by). */
export interface BlobFile {
  sha256: string;
  path: string;
}

/** What the thumbnail stage made: rows for the registry, pointing at images already in the blob store. */
export interface Renditions {
  thumbnails: ThumbnailRow[];
  segments: SegmentRow[];
}

/** One file's stored thumbnail images, as the stage remembers them for files of the same content. */
interface StoredImages {
  fileId: string;
  images: Array<{ key: string; name: string; storeKey: string; timeSeconds: number; width: number; height: number }>;
}

/**
 * The thumbnail stage: the default thumbnail and, when enabled, one per uniform segment, made in a spool work dir
 * and stored through the {@link BlobStore}. Returns the rows; the run records them.
 *
 * Derived work is reused by content: a file whose blob this engine already thumbnailed with the same settings (same
 * times, size, format, quality, stream) gets copies of those images through {@link BlobStore.copyThumbnails} (hard
 * links in the local store, server-side copies in S3) instead of decoding again; when they are gone, it makes its own.
 */
@injectable()
export class ThumbnailStage {
  private readonly derived = new ContentMemo<StoredImages>();
  /** The memo key each file's images are remembered under (bounded like the memo), to forget them when it runs again. */
  private readonly heldBy = new Map<string, string>();

  constructor(
    @inject(TOKENS.Config) private readonly config: IngestConfig,
    @inject(TOKENS.Spool) private readonly spool: Spool,
    @inject(TOKENS.BlobStore) private readonly blobs: BlobStore,
  ) {}

  async run(file: { id: string; segmentThumbnails: boolean }, blob: BlobFile, probe: ProbeResult, signal: AbortSignal): Promise<Renditions> {
    const { config } = this;
    const duration = probe.durationSeconds ?? 0;
    const segments = file.segmentThumbnails ? planSegments(duration, config.thumbnails.segmentSeconds) : [];
    const requests = [
      { key: 'default', timeSeconds: defaultThumbnailTime(duration) },
      ...segments.map((s) => ({ key: `segment-${s.index}`, timeSeconds: s.thumbnailTime })),
    ];
    const { width, maxHeight, format, quality } = config.thumbnails;
    const settings = JSON.stringify({ width, maxHeight, format, quality, stream: probe.videoStreamIndex, duration, requests });
    // This file runs again (its images are about to be replaced, perhaps by another content's): files of the old
    // content must no longer copy from it.
    const previous = this.heldBy.get(file.id);
    if (previous !== undefined) await this.derived.forget(previous, (held) => held.fileId === file.id);
    const key = `${blob.sha256}\n${settings}`;
    const stored = await this.derived.use(
      key,
      () => this.make(file.id, blob.path, probe, requests, signal),
      (earlier) => this.copy(file.id, earlier),
    );
    this.heldBy.delete(file.id);
    if (this.heldBy.size >= 1024) this.heldBy.delete(this.heldBy.keys().next().value!);
    this.heldBy.set(file.id, key);
    crashPoint('thumbnails');
    const now = Date.now();
    const byKey = new Map(stored.images.map((image) => [image.key, image]));
    const thumbnails: ThumbnailRow[] = [];
    const segmentRows: SegmentRow[] = [];
    const toRow = (key: string, type: 'file' | 'segment', segmentId: string | null): ThumbnailRow | undefined => {
      const made = byKey.get(key);
      if (!made) return undefined;
      const thumbnail: ThumbnailRow = {
        id: randomUUID(), file_id: file.id, type, time: made.timeSeconds, segment_id: segmentId,
        path: made.storeKey, width: made.width, height: made.height, is_default: type === 'file', created_at: now,
      };
      thumbnails.push(thumbnail);
      return thumbnail;
    };
    toRow('default', 'file', null);
    for (const segment of segments) {
      const segmentId = randomUUID();
      const thumbnail = toRow(`segment-${segment.index}`, 'segment', segmentId);
      segmentRows.push({
        id: segmentId, file_id: file.id, idx: segment.index, start_time: segment.start, end_time: segment.end,
        thumbnail_id: thumbnail?.id ?? null,
      });
    }
    return { thumbnails, segments: segmentRows };
  }

  /** Decodes the frames with ffmpeg in a spool work dir and stores them under the file. */
  private async make(fileId: string, blobPath: string, probe: ProbeResult, requests: ThumbnailRequest[], signal: AbortSignal): Promise<StoredImages> {
    const { config, spool } = this;
    const outputDir = await spool.workDir(fileId, 'thumbnails');
    try {
      return await storageErrors('thumbnails', async () => {
        const made = await makeThumbnails(blobPath, requests, {
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
          scratchPrefix: path.join(spool.tempDir, `${fileId}.frames-`),
        });
        const names = made.map((m) => path.basename(m.path));
        const keys = await this.blobs.putThumbnails(fileId, made.map((m, i) => ({ name: names[i]!, localPath: m.path })));
        return {
          fileId,
          images: made.map((m, i) => ({ key: m.key, name: names[i]!, storeKey: keys[i]!, timeSeconds: m.timeSeconds, width: m.width, height: m.height })),
        };
      });
    } finally {
      await spool.remove(outputDir);
    }
  }

  /** Another file's images of the same content, stored again as this file's (its own earlier run's are not reused). */
  private async copy(fileId: string, earlier: StoredImages): Promise<StoredImages> {
    if (earlier.fileId === fileId) throw new IngestError('not_found', 'the earlier thumbnails are this file\'s own');
    const keys = await this.blobs.copyThumbnails(fileId, earlier.images.map((image) => ({ name: image.name, fromKey: image.storeKey })));
    return { fileId, images: earlier.images.map((image, i) => ({ ...image, storeKey: keys[i]! })) };
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
