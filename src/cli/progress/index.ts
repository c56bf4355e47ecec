/**
 * Progress of `media-ingest sync` on stderr, driven by the engine's `file.*` events (and, for a file another
 * process is running, by reading its row). Modes:
 * - `line`: one live line rewritten in place (`\r`, erase line): stage, bytes/total, rate, ETA, retries;
 * - `plain`: the same text as whole lines, on each stage change and at most once a second;
 * - `json`: one JSON line per event, `{"event", "id", "status", "progress"}` (the File's `progress`), for scripts;
 * - `none`: nothing.
 * `auto` (the default) is `line` when stderr is a TTY and `none` otherwise; `--quiet` is `none`. stdout is never
 * written here: it carries the command's one JSON document.
 */
import type { EventEmitter } from 'node:events';
import type { FileStage, IngestFile } from '../../engine/file-view.js';
import { RateMeter, formatDuration, formatSize, progressLine, stateOf } from './render.js';

export { formatDuration, formatSize, progressLine, RateMeter } from './render.js';

/** How progress is shown. */
export type ProgressMode = 'line' | 'plain' | 'json' | 'none';
/** Values of `--progress`. */
export const PROGRESS_CHOICES = ['auto', 'line', 'plain', 'json', 'none'] as const;

/** The mode for the flags: `--quiet` wins, `auto` follows the TTY. */
export function progressMode(flags: { quiet?: boolean; progress?: string }, stderrIsTty: boolean): ProgressMode {
  if (flags.quiet) return 'none';
  const asked = flags.progress ?? 'auto';
  if (asked === 'auto') return stderrIsTty ? 'line' : 'none';
  return asked as ProgressMode;
}

/** What the display needs from the engine: its events, and a way to read a file. */
export interface ProgressSource extends Pick<EventEmitter, 'on' | 'off'> {
  get(id: string): IngestFile | Promise<IngestFile>;
}

/** Options of {@link SyncProgress}. */
export interface SyncProgressOptions {
  mode: ProgressMode;
  /** @default process.stderr */
  stream?: NodeJS.WritableStream & { columns?: number };
  /** Smallest interval between live redraws, ms. @default 100 */
  redrawMs?: number;
  /** Reads the file's row when no event came for this long (a file run by another process), ms. @default 1000 */
  pollMs?: number;
  now?: () => number;
}

const EVENTS = ['file.processing', 'file.progress', 'file.completed', 'file.failed'] as const;
const ESC = '\u001b';

/** A running progress display of one `sync`. */
export class SyncProgress {
  private readonly stream: NodeJS.WritableStream & { columns?: number };
  private readonly now: () => number;
  private readonly meter = new RateMeter();
  private readonly listeners: Array<[string, (file: IngestFile) => void]> = [];
  private fileId: string | undefined;
  private last: IngestFile | undefined;
  private lastEventAt: number;
  private lastDrawAt = 0;
  private lastText = '';
  private lastStage: FileStage = 'resolving';
  private readonly started: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly source: ProgressSource, private readonly options: SyncProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.lastEventAt = this.started;
    if (options.mode === 'none') return;
    for (const event of EVENTS) {
      const listener = (file: IngestFile): void => this.onEvent(event, file);
      source.on(event, listener);
      this.listeners.push([event, listener]);
    }
    if (options.mode !== 'json') this.draw(true);
    const pollMs = options.pollMs ?? 1000;
    this.timer = setInterval(() => this.tick(pollMs), Math.min(pollMs, 500));
    this.timer.unref();
  }

  /** From now on only events of this file count (before it is known, the first file seen is followed). */
  follow(id: string): void {
    this.fileId = id;
  }

  /** Ends the display; `final` (the File printed on stdout) closes the live line with a summary. */
  stop(final?: IngestFile): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const [event, listener] of this.listeners) this.source.off(event, listener);
    if (this.options.mode === 'none' || this.options.mode === 'json') return;
    if (!final) {
      // Refused or interrupted: the command's JSON says why; leave the terminal line clean.
      if (this.options.mode === 'line') this.stream.write(`\r${ESC}[2K`);
      return;
    }
    const elapsed = (this.now() - this.started) / 1000;
    let summary: string;
    if (final.status === 'failed') summary = `failed      ${final.error?.code ?? 'unknown'} after ${formatDuration(elapsed)}`;
    else {
      const size = final.bytes ?? 0;
      const rate = elapsed > 0 ? `${formatSize(size / elapsed)}/s` : '?';
      summary = `${final.status.padEnd(11)} ${formatSize(size)} in ${formatDuration(elapsed)} (${rate})`;
    }
    this.write(summary, true);
  }

  private onEvent(event: string, file: IngestFile): void {
    if (this.stopped) return;
    this.fileId ??= file.id;
    if (file.id !== this.fileId) return;
    this.lastEventAt = this.now();
    this.take(file);
    if (this.options.mode === 'json') {
      this.stream.write(`${JSON.stringify({ event, id: file.id, status: file.status, ...(file.progress ? { progress: file.progress } : {}) })}\n`);
      return;
    }
    // A terminal File has no progress left to show: stop() writes the summary.
    if (file.progress) this.draw(false);
  }

  private take(file: IngestFile): void {
    this.last = file;
    if (file.progress?.stage === 'downloading') this.meter.add(this.now(), file.progress.bytes_received);
  }

  /** Redraws the elapsed-time parts and reads the row when events are silent (another process runs the file). */
  private tick(pollMs: number): void {
    if (this.stopped) return;
    if (this.fileId && this.now() - this.lastEventAt >= pollMs) {
      void this.poll(this.fileId);
      return;
    }
    if (this.options.mode === 'line') this.draw(false);
  }

  private async poll(fileId: string): Promise<void> {
    let file: IngestFile;
    try {
      file = await this.source.get(fileId);
    } catch {
      return; // closing, or the file is gone: the command reports that itself
    }
    if (this.stopped) return;
    if (file.progress && JSON.stringify(file.progress) !== JSON.stringify(this.last?.progress)) {
      this.take(file);
      if (this.options.mode === 'json') {
        this.stream.write(`${JSON.stringify({ event: 'file.progress', id: file.id, status: file.status, progress: file.progress })}\n`);
        return;
      }
    }
    if (this.options.mode === 'line') this.draw(false);
  }

  private draw(force: boolean): void {
    const state = stateOf(this.last?.progress, this.meter.rate(), this.last ? this.lastStage : 'resolving');
    const stageChanged = state.stage !== this.lastStage;
    this.lastStage = state.stage;
    const now = this.now();
    if (this.options.mode === 'plain') {
      if (!force && !stageChanged && now - this.lastDrawAt < 1000) return;
    } else if (!force && !stageChanged && now - this.lastDrawAt < (this.options.redrawMs ?? 100)) return;
    const text = progressLine(state);
    if (text === this.lastText && !force) return;
    this.lastDrawAt = now;
    this.lastText = text;
    this.write(text, this.options.mode === 'plain');
  }

  private write(text: string, newline: boolean): void {
    if (this.options.mode === 'plain') {
      this.stream.write(`${text}\n`);
      return;
    }
    const width = this.stream.columns && this.stream.columns > 10 ? this.stream.columns - 1 : 200;
    this.stream.write(`\r${ESC}[2K${text.slice(0, width)}${newline ? '\n' : ''}`);
  }
}

/** Options of {@link syncWithProgress}. */
export interface SyncWithProgressOptions {
  metadata?: Record<string, unknown>;
  enableSegmentThumbnails?: boolean;
  wait: boolean;
  progress: SyncProgressOptions;
}

/** The engine calls `sync` needs. */
export interface SyncEngine extends ProgressSource {
  sync(url: string, options: { metadata?: Record<string, unknown>; enableSegmentThumbnails?: boolean; wait?: boolean }): Promise<IngestFile>;
  waitFor(id: string): Promise<IngestFile>;
}

/** `ingest.sync(url, {wait})` with a progress display on stderr while it waits. */
export async function syncWithProgress(ingest: SyncEngine, url: string, options: SyncWithProgressOptions): Promise<IngestFile> {
  const { progress: progressOptions, wait, ...syncOptions } = options;
  if (!wait || progressOptions.mode === 'none') return ingest.sync(url, { ...syncOptions, wait });
  const display = new SyncProgress(ingest, progressOptions);
  let final: IngestFile | undefined;
  try {
    const started = await ingest.sync(url, { ...syncOptions, wait: false });
    display.follow(started.id);
    final = await ingest.waitFor(started.id);
    return final;
  } finally {
    display.stop(final);
  }
}
