import type { ResumeState } from '../ports/registry.js';
import type { OpenedMedia, ResumeFrom } from '../stages/open-media.js';
import type { PartialWrite } from '../store/spool.js';
import type { RunRecord } from './transfer.js';

const PROGRESS_EVERY_MS = 250;
const CHECKPOINT_EVERY_MS = 1000;

/** What a continuation is checked against, kept for the whole download. */
export interface Expectation extends Omit<ResumeFrom, 'offset'> {
  resumable: boolean;
}

/** The expectation a continuation is checked against: from the response, or (resumed) from the stored state. */
export function expectationOf(opened: OpenedMedia, stored: ResumeState | null): Expectation {
  if (opened.startOffset > 0 && stored) {
    return { etag: stored.etag, lastModified: stored.last_modified, total: stored.total ?? opened.declaredBytes, resumable: true };
  }
  return { ...opened.validators, total: opened.declaredBytes, resumable: opened.resumable };
}

/** The resume state to record for `durableBytes` on disk; null when the download cannot be resumed. */
export function resumeState(expect: Expectation, durableBytes: number): ResumeState | null {
  if (!expect.resumable) return null;
  return { bytes: durableBytes, etag: expect.etag, last_modified: expect.lastModified, total: expect.total };
}

/**
 * What one download records while it runs: progress (every 250 ms) and, for a resumable download, the resume state
 * each time a background fdatasync of its temp file makes more bytes durable (the temp file syncs every few MiB by
 * itself, and at least every second when asked here). Those records are written in order, never after
 * {@link DownloadBookkeeping.settle}.
 */
export class DownloadBookkeeping {
  private lastReport = 0;
  private lastCheckpoint = Date.now();
  private recording = Promise.resolve();

  constructor(private readonly partial: PartialWrite, private readonly record: RunRecord, private readonly expect: () => Expectation) {
    partial.onDurable = (durable) => {
      // Taken now, with the response these bytes came from: a reopen (new validators) may come before the write.
      const state = resumeState(this.expect(), durable);
      if (!state) return;
      // The registry is closing or full: the next checkpoint (or the failure path) records it.
      this.recording = this.recording
        .then(() => this.record.update({ resume_state: state }))
        .then(() => undefined, () => undefined);
    };
  }

  /** Records where the download starts. */
  async begin(): Promise<void> {
    const expect = this.expect();
    await this.record.update({
      progress_received: this.partial.bytes, progress_total: expect.total, resume_state: resumeState(expect, this.partial.durableBytes),
    });
  }

  /** After each received chunk: progress, and a background sync when a second passed since the last one. */
  async received(bytes: number): Promise<void> {
    const now = Date.now();
    const expect = this.expect();
    if (now - this.lastReport >= PROGRESS_EVERY_MS) {
      this.lastReport = now;
      await this.record.progress(bytes, expect.total);
    }
    if (expect.resumable && now - this.lastCheckpoint >= CHECKPOINT_EVERY_MS) {
      this.lastCheckpoint = now;
      this.partial.syncInBackground();
    }
  }

  /** Makes every byte so far durable and records it (before a retry, or when the run is aborted). */
  async checkpoint(): Promise<void> {
    const durable = await this.partial.checkpoint();
    this.lastCheckpoint = Date.now();
    await this.record.update({ resume_state: resumeState(this.expect(), durable) });
  }

  /** Stops recording (the download ended: the row moves on) and waits for the records in flight. */
  async settle(): Promise<void> {
    this.partial.onDurable = undefined;
    await this.recording;
  }
}
