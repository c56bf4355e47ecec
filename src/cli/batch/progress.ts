/**
 * Progress of `media-ingest batch` on stderr: a live cli-progress bar when stderr is a TTY, otherwise a plain
 * line every few seconds. Both poll a snapshot, so the runner never waits on rendering.
 */
import cliProgress from 'cli-progress';
import { formatSize } from '../progress/render.js';

/** What the progress display shows. */
export interface ProgressSnapshot {
  /** Results settled so far (any outcome). */
  done: number;
  /** Failed files, refusals and invalid lines so far. */
  failed: number;
  /** Output-producing lines: the known total, or the number read so far when the total is unknown. */
  total: number;
  /** True when `total` is the real total (a counted file), false when it grows as the input is read. */
  totalKnown: boolean;
  /** Bytes downloaded by this run so far. */
  bytes: number;
  /** Milliseconds since the batch started. */
  elapsedMs: number;
}

/** A running progress display. */
export interface ProgressDisplay {
  /** Stops (and, for the bar, finalises) the display; later calls do nothing. */
  stop(): void;
}

/** Options of {@link startProgress}. */
export interface ProgressOptions {
  /** Live bar (true) or plain periodic lines (false). */
  tty: boolean;
  /** Period of the plain lines. @default 5000 */
  plainIntervalMs?: number;
  stream?: NodeJS.WriteStream;
}

/** Time left at the average pace so far: `?` before the first result or while the total is unknown. */
export function etaText(s: ProgressSnapshot): string {
  if (!s.totalKnown || s.done === 0) return '?';
  const seconds = Math.round(((s.elapsedMs / s.done) * Math.max(0, s.total - s.done)) / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/** The plain (non-TTY) progress line. */
export function plainProgressLine(s: ProgressSnapshot): string {
  const total = s.totalKnown ? String(s.total) : `${s.total}+`;
  return `batch: ${s.done}/${total} done, ${s.failed} failed, ${formatSize(s.bytes)}`;
}

/** Starts the display appropriate for the stream. */
export function startProgress(snapshot: () => ProgressSnapshot, options: ProgressOptions): ProgressDisplay {
  const stream = options.stream ?? process.stderr;
  if (!options.tty) {
    const timer = setInterval(() => stream.write(`${plainProgressLine(snapshot())}\n`), options.plainIntervalMs ?? 5000);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
  const payload = (s: ProgressSnapshot): Record<string, string | number> => ({
    failed: s.failed,
    bytes: formatSize(s.bytes),
    rate: `${formatSize(s.elapsedMs > 0 ? Math.round((s.bytes * 1000) / s.elapsedMs) : 0)}/s`,
    etaText: etaText(s),
  });
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'batch [{bar}] {value}/{total} done | {failed} failed | {bytes} at {rate} | ETA {etaText}',
      hideCursor: true,
      fps: 5,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  const first = snapshot();
  bar.start(Math.max(first.total, 1), first.done, payload(first));
  const timer = setInterval(() => {
    const s = snapshot();
    bar.setTotal(Math.max(s.total, 1));
    bar.update(s.done, payload(s));
  }, 200);
  timer.unref();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      const s = snapshot();
      bar.setTotal(Math.max(s.total, 1));
      bar.update(s.done, payload(s));
      bar.stop();
    },
  };
}
