/**
 * Operational events of the engine, beside the File events ({@link IngestEvent}): what metrics (src/metrics) and
 * tracing need and a File does not carry. The engine emits them on itself; they never hold secrets (no URLs, no
 * messages: a source plugin id, a stage name, an error code, a status).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';
import { isIngestError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { HttpClient } from '../plugin-api.js';

/** The timed steps of a file run. `resolve` is resolve + open (with its retries). */
export type TelemetryStage = 'resolve' | 'download' | 'probe' | 'thumbnails';

/** Payloads of the telemetry events, by event name. `source` is the source plugin id (the File's `source`). */
export interface TelemetryEvents {
  /** `sync()` accepted a URL: a new, resumed or existing file was returned. */
  'sync.accepted': { source: string };
  /** `sync()` refused a URL (policy, validation, the source's answer before the file existed, ...). */
  'sync.refused': { code: ErrorCode };
  /** A stage of a file run ended, successfully or not. Queue waits are not included. */
  'stage.finished': { stage: TelemetryStage; source: string; seconds: number; ok: boolean };
  /** A retry was granted (the same decision a File's `progress.retries` counts). */
  'file.retried': { source: string; code: ErrorCode };
  /** An upstream HTTP exchange of a file run ended: its final status (after redirects), or 0 when no response came. */
  'upstream.response': { source: string; status: number; code?: ErrorCode };
}

/** Event names of {@link TelemetryEvents}. */
export type TelemetryEvent = keyof TelemetryEvents;

/** Every telemetry event name (the Ingest facade re-emits them from the engine's telemetry emitter). */
export const TELEMETRY_EVENTS: readonly TelemetryEvent[] = ['sync.accepted', 'sync.refused', 'stage.finished', 'file.retried', 'upstream.response'];

/** The source plugin of the file run the current async context belongs to. */
const runSource = new AsyncLocalStorage<string>();

/** Runs `work` as part of a file run of `source` (for {@link observeResponses}). */
export function withSource<T>(source: string, work: () => T): T {
  return runSource.run(source, work);
}

/**
 * An HttpClient reporting every exchange made inside a file run (plugins' page and API requests, the media request
 * and its resumes) to `report`, with that run's source plugin. Failures without a response report status 0 with
 * their code; refusals of the guard (`blocked_address`, ...) are not upstream exchanges and are not reported.
 */
export function observeResponses(http: HttpClient, report: (event: TelemetryEvents['upstream.response']) => void): HttpClient {
  return {
    async request(url, options) {
      const source = runSource.getStore();
      try {
        const response = await http.request(url, options);
        if (source) report({ source, status: response.status });
        return response;
      } catch (error) {
        if (source && isIngestError(error) && (error.code === 'upstream_error' || error.code === 'timeout')) {
          report({ source, status: 0, code: error.code });
        }
        throw error;
      }
    },
  };
}

/** Runs one stage of a file run and emits `stage.finished` with its wall time. */
export async function timedStage<T>(events: EventEmitter, stage: TelemetryStage, source: string, work: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  let ok = false;
  try {
    const result = await work();
    ok = true;
    return result;
  } finally {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    events.emit('stage.finished', { stage, source, seconds, ok } satisfies TelemetryEvents['stage.finished']);
  }
}
