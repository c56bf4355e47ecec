/**
 * `GET /v1/files/{id}/events`: Server-Sent Events of one file. The first event (`file`) carries the current
 * File; then every `file.processing`, `file.progress`, `file.completed`, `file.failed` and `file.deleted` of
 * that file follows, each with the File as `data`. The stream ends after a terminal event (or at once when the
 * file is already terminal); comment heartbeats keep proxies from timing it out.
 */
import type { FastifyReply } from 'fastify';
import type { Ingest, IngestEvent } from '../engine/ingest.js';
import type { IngestFile } from '../engine/file-view.js';
import { FILE_EVENT_TYPES } from '../ports/event-bus.js';
import { isTerminalStatus } from '../ports/file-records.js';

const STREAMED: readonly IngestEvent[] = FILE_EVENT_TYPES;
const TERMINAL_EVENTS: ReadonlySet<string> = new Set(['file.completed', 'file.failed', 'file.deleted']);

/** Open event streams, so a closing server can end them (they would otherwise hold `close()` forever). */
export class EventStreams {
  private readonly open = new Set<() => void>();

  /** Ends every open stream. */
  endAll(): void {
    for (const end of [...this.open]) end();
  }

  /**
   * Streams the events of file `id` on the hijacked reply. `ingest.get(id)` runs first, so an unknown id throws
   * `not_found` before anything is written.
   */
  async stream(ingest: Ingest, id: string, reply: FastifyReply, heartbeatMs: number): Promise<void> {
    // Listening starts before the File is read: an event published meanwhile (by any process) is kept, not lost.
    let deliver: ((event: IngestEvent, file: IngestFile) => void) | undefined;
    const early: Array<[IngestEvent, IngestFile]> = [];
    const listeners = STREAMED.map((event) => {
      const listener = (file: IngestFile): void => {
        if (file.id !== id) return;
        if (deliver) deliver(event, file);
        else early.push([event, file]);
      };
      ingest.on(event, listener);
      return [event, listener] as const;
    });
    const unlisten = (): void => {
      for (const [event, listener] of listeners) ingest.off(event, listener);
    };
    let current: IngestFile;
    try {
      current = await ingest.get(id);
    } catch (error) {
      unlisten();
      throw error;
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // HEAD: the headers of the stream, and done (a HEAD must not hold the connection until the file ends).
    if (reply.request.method === 'HEAD') {
      unlisten();
      res.end();
      return;
    }
    let seq = 0;
    let ended = false;
    const send = (event: string, file: IngestFile): void => {
      res.write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(file)}\n\n`);
    };
    const heartbeat = setInterval(() => res.write(': ping\n\n'), heartbeatMs);
    heartbeat.unref();
    const end = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unlisten();
      this.open.delete(end);
      if (!res.writableEnded) res.end();
    };
    this.open.add(end);
    res.on('close', end);
    // The client went away while the File was read: its 'close' has passed already.
    if (res.destroyed || reply.request.raw.destroyed) return end();
    res.write(`retry: 3000\n\n`);
    send('file', current);
    if (isTerminalStatus(current.status)) return end();
    deliver = (event, file) => {
      if (ended) return;
      send(event, file);
      if (TERMINAL_EVENTS.has(event)) end();
    };
    // Events heard while the File was read, unless older than it.
    for (const [event, file] of early.splice(0)) if (file.updated_at >= current.updated_at) deliver(event, file);
  }
}
