/**
 * Pure pieces of the `sync` progress display: a rate meter over a sliding window and the one-line text
 * (`downloading  45.2%  4.5 MB / 10.0 MB  at 1.2 MB/s  ETA 0:05`), in the spirit of yt-dlp's `[download]` line.
 */
import type { FileProgress, FileStage } from '../../engine/file-view.js';

/** What one render shows. */
export interface ProgressState {
  /** `resolving` until the engine reports a file. */
  stage: FileStage;
  bytesReceived: number;
  bytesTotal: number | null;
  /** Bytes per second over the recent window, null before two samples. */
  rate: number | null;
  retries: number;
  /** The last retried failure's code, when a retry happened. */
  lastRetryCode?: string;
}

/** `4.5 MB` (decimal units, one decimal). */
export function formatSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `1:05`, `1:02:03`; `--:--` when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** The progress line (no newline, no terminal control characters). */
export function progressLine(state: ProgressState): string {
  const parts: string[] = [state.stage.padEnd(11)];
  if (state.stage === 'downloading') {
    const { bytesReceived: got, bytesTotal: total } = state;
    if (total !== null && total > 0) parts.push(`${((100 * Math.min(got, total)) / total).toFixed(1).padStart(5)}%`);
    parts.push(total !== null ? `${formatSize(got)} / ${formatSize(total)}` : formatSize(got));
    parts.push(`at ${state.rate === null ? '?' : `${formatSize(state.rate)}/s`}`);
    const eta = total !== null && state.rate ? (total - got) / state.rate : null;
    parts.push(`ETA ${formatDuration(eta)}`);
  } else if (state.stage !== 'resolving' && state.bytesReceived > 0) {
    parts.push(formatSize(state.bytesReceived));
  }
  if (state.retries > 0) parts.push(`retries ${state.retries}${state.lastRetryCode ? ` (${state.lastRetryCode})` : ''}`);
  return parts.join('  ').trimEnd();
}

/** Bytes per second over the last `windowMs` of samples. */
export class RateMeter {
  private samples: Array<{ at: number; bytes: number }> = [];

  constructor(private readonly windowMs = 5000) {}

  /** Records the byte count seen at `at` (ms). A smaller count (a restarted body) starts over. */
  add(at: number, bytes: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && bytes < last.bytes) this.samples = [];
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > this.windowMs) this.samples.shift();
  }

  /** Bytes per second, or null before two samples at different times. */
  rate(): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at <= first.at) return null;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }
}

/** The state of a File's `progress` (absent progress keeps the stage given). */
export function stateOf(progress: FileProgress | undefined, rate: number | null, fallback: FileStage): ProgressState {
  return {
    stage: progress?.stage ?? fallback,
    bytesReceived: progress?.bytes_received ?? 0,
    bytesTotal: progress?.bytes_total ?? null,
    rate,
    retries: progress?.retries ?? 0,
    ...(progress?.last_retry_error ? { lastRetryCode: progress.last_retry_error.code } : {}),
  };
}
