/**
 * Operational events of the engine, beside the File events ({@link IngestEvent}): what metrics (src/metrics) and
 * tracing need and a File does not carry. The engine emits them on itself; they never hold secrets (no URLs, no
 * messages: a source plugin id, a stage name, an error code, a status).
 */
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

/**
 * An HttpClient reporting every exchange made for a file run of `source` (plugins' page and API requests, the media
 * request and its resumes) to `report`. Failures without a response report status 0 with their code; refusals of
 * the guard (`blocked_address`, ...) are not upstream exchanges and are not reported. One client per run: the source
 * travels with the client, not in an async context (AsyncLocalStorage would tax every promise of the process).
 */
export function observeResponses(http: HttpClient, source: string, report: (event: TelemetryEvents['upstream.response']) => void): HttpClient {
  return {
    async request(url, options) {
      try {
        const response = await http.request(url, options);
        report({ source, status: response.status });
        return response;
      } catch (error) {
        if (isIngestError(error) && (error.code === 'upstream_error' || error.code === 'timeout')) {
          report({ source, status: 0, code: error.code });
        }
        throw error;
      }
    },
  };
}

/** The observed client of each run (see {@link observeResponses}), made on its first request and dropped with the run. */
export function observedPerRun(http: HttpClient, report: (event: TelemetryEvents['upstream.response']) => void): (run: { plugin: { id: string } }) => HttpClient {
  const clients = new WeakMap<object, HttpClient>();
  return (run) => {
    let client = clients.get(run);
    if (!client) clients.set(run, client = observeResponses(http, run.plugin.id, report));
    return client;
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
