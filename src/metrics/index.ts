/**
 * Prometheus metrics of an engine, with prom-client: a subscriber to the engine's File events and telemetry
 * events (src/engine/telemetry.ts), plus gauges read at scrape time. Served by the HTTP API at `GET /metrics`;
 * library users attach it with `createIngest({ metrics: ... })` or {@link ingestMetrics}.
 *
 * Every label value is bounded: source plugin ids, stage names, error codes, status classes. No URL, host or file
 * id ever becomes a label.
 */
import { createRequire } from 'node:module';
import type { Gauge, Registry } from 'prom-client';
import type { Ingest } from '../engine/ingest.js';
import type { IngestFile } from '../engine/file-view.js';
import type { TelemetryEvents } from '../engine/telemetry.js';
import { FILE_STATUSES } from '../ports/file-records.js';

/** prom-client, loaded when metrics are first made: engines and commands without metrics never load it. */
const promClient = (): typeof import('prom-client') => createRequire(import.meta.url)('prom-client') as typeof import('prom-client');

/** Options of {@link ingestMetrics}. */
export interface IngestMetricsOptions {
  /**
   * The prom-client registry to register on (yours, next to your own metrics). @default a new registry, which also
   * gets prom-client's default process metrics (CPU, memory, event loop, GC)
   */
  registry?: Registry;
  /** Prefix of every metric name. @default 'media_ingest_' */
  prefix?: string;
}

/** Seconds: from a small probe to a long download. */
const STAGE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600];

/** `2xx` … `5xx` for a status, `network_error` for an exchange that got no response (status 0). */
function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'network_error';
}

/** The metrics of one engine, registered on one registry. */
export class IngestMetrics {
  readonly registry: Registry;
  private readonly detach: Array<() => void> = [];
  /** Bytes already counted per file run in flight (a resumed run starts at its partial length). */
  private readonly counted = new Map<string, number>();

  constructor(private readonly ingest: Ingest, options: IngestMetricsOptions = {}) {
    const prefix = options.prefix ?? 'media_ingest_';
    const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = promClient();
    this.registry = options.registry ?? new Registry();
    if (!options.registry) collectDefaultMetrics({ register: this.registry, prefix });
    const registers = [this.registry];

    new Gauge({
      name: `${prefix}files`, help: 'Files in the registry, by status', labelNames: ['status'], registers,
      async collect() {
        for (const status of FILE_STATUSES) {
          try {
            this.set({ status }, (await ingest.list({ status, limit: 1 })).total);
          } catch {
            // The engine is closed: nothing to report.
          }
        }
      },
    });
    const workload = (pick: (w: ReturnType<Ingest['workload']>) => { network: number; cpu: number }) =>
      function collect(this: Gauge): void {
        const counts = pick(ingest.workload());
        this.set({ queue: 'network' }, counts.network);
        this.set({ queue: 'cpu' }, counts.cpu);
      };
    new Gauge({
      name: `${prefix}queue_depth`, help: 'Work waiting for a slot (network: resolve + download, per host and overall; cpu: probe + thumbnails)',
      labelNames: ['queue'], registers, collect: workload((w) => ({ network: w.network.queued, cpu: w.cpu.queued })),
    });
    new Gauge({
      name: `${prefix}running`, help: 'Work running now, by queue', labelNames: ['queue'], registers,
      collect: workload((w) => ({ network: w.network.running, cpu: w.cpu.running })),
    });
    new Gauge({
      name: `${prefix}file_runs_in_flight`, help: 'File runs started and not finished (queued, downloading or processing)', registers,
      collect() {
        this.set(ingest.workload().files);
      },
    });
    const accepted = new Counter({ name: `${prefix}syncs_accepted_total`, help: 'sync calls that returned a file, by source plugin', labelNames: ['source'], registers });
    const refused = new Counter({ name: `${prefix}syncs_refused_total`, help: 'sync calls refused, by error code', labelNames: ['code'], registers });
    const finished = new Counter({ name: `${prefix}files_finished_total`, help: 'File runs that ended, by status and error code ("" when completed)', labelNames: ['status', 'code'], registers });
    const bytes = new Counter({ name: `${prefix}downloaded_bytes_total`, help: 'Bytes received from sources, by source plugin', labelNames: ['source'], registers });
    const stages = new Histogram({
      name: `${prefix}stage_duration_seconds`, help: 'Wall time of a file run stage (resolve = resolve + open with retries; queue waits excluded)',
      labelNames: ['stage', 'source', 'outcome'], buckets: STAGE_BUCKETS, registers,
    });
    const retries = new Counter({ name: `${prefix}retries_total`, help: 'Retries granted, by source plugin and the error retried', labelNames: ['source', 'code'], registers });
    const upstream = new Counter({
      name: `${prefix}upstream_responses_total`, help: 'Upstream HTTP exchanges of file runs, by source plugin and status class (network_error: no response)',
      labelNames: ['source', 'class'], registers,
    });

    this.on('sync.accepted', (e: TelemetryEvents['sync.accepted']) => accepted.inc({ source: e.source }));
    this.on('sync.refused', (e: TelemetryEvents['sync.refused']) => refused.inc({ code: e.code }));
    this.on('stage.finished', (e: TelemetryEvents['stage.finished']) =>
      stages.observe({ stage: e.stage, source: e.source, outcome: e.ok ? 'ok' : 'error' }, e.seconds));
    this.on('file.retried', (e: TelemetryEvents['file.retried']) => retries.inc({ source: e.source, code: e.code }));
    this.on('upstream.response', (e: TelemetryEvents['upstream.response']) => upstream.inc({ source: e.source, class: statusClass(e.status) }));
    // Bytes: the growth of progress.bytes_received between reports, and what arrived after the last report.
    this.on('file.processing', (file: IngestFile) => this.counted.set(file.id, file.progress?.bytes_received ?? 0));
    this.on('file.progress', (file: IngestFile) => {
      const received = file.progress?.bytes_received;
      if (received === undefined || !this.counted.has(file.id)) return;
      const before = this.counted.get(file.id)!;
      // Lower than before: the download restarted from zero, and these bytes came again.
      const delta = received >= before ? received - before : received;
      if (delta > 0) bytes.inc({ source: file.source }, delta);
      this.counted.set(file.id, received);
    });
    this.on('file.completed', (file: IngestFile) => {
      const before = this.counted.get(file.id);
      if (before !== undefined && file.bytes !== null && file.bytes > before) bytes.inc({ source: file.source }, file.bytes - before);
      this.counted.delete(file.id);
      finished.inc({ status: 'completed', code: '' });
    });
    this.on('file.failed', (file: IngestFile) => {
      this.counted.delete(file.id);
      finished.inc({ status: 'failed', code: file.error?.code ?? 'internal' });
    });
    this.on('file.deleted', (file: IngestFile) => this.counted.delete(file.id));
  }

  /** The exposition text of the whole registry (the body of `GET /metrics`). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The Content-Type of {@link IngestMetrics.text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops listening to the engine (the metrics stay registered with their last values). */
  close(): void {
    for (const off of this.detach.splice(0)) off();
    attached.delete(this.ingest);
  }

  private on<T>(event: string, listener: (payload: T) => void): void {
    this.ingest.on(event, listener);
    this.detach.push(() => this.ingest.off(event, listener));
  }
}

const attached = new WeakMap<Ingest, IngestMetrics>();

/**
 * The metrics of `ingest`: attaches them on first call (counting from then on), returns the same instance after.
 * Passing a different `registry` once they are attached is an error.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * const registry = new Registry();
 * ingestMetrics(ingest, { registry });          // or createIngest({ metrics: { registry } })
 * app.get('/metrics', async () => registry.metrics());
 * ```
 */
export function ingestMetrics(ingest: Ingest, options: IngestMetricsOptions = {}): IngestMetrics {
  const existing = attached.get(ingest);
  if (existing) {
    if (options.registry && options.registry !== existing.registry) throw new TypeError('ingestMetrics: this engine already reports to another registry');
    return existing;
  }
  const metrics = new IngestMetrics(ingest, options);
  attached.set(ingest, metrics);
  return metrics;
}
