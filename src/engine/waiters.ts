import { IngestError } from '../errors.js';
import type { EventBus } from '../ports/event-bus.js';
import { isTerminalStatus } from '../ports/file-records.js';
import type { Registry } from '../ports/registry.js';
import type { WorkQueue } from '../ports/work-queue.js';
import type { FileQueries, FileViews } from './file-queries.js';
import type { IngestFile } from './file-view.js';

/** How often a waiter reads the registry for a file run by another process (whose events may not reach it). */
const POLL_MS = 1000;

const SHUTDOWN = (): IngestError => new IngestError('cancelled', 'The engine was closed while the file was in flight');

/**
 * Waiting for a file to reach a terminal status, across processes: file events from the {@link EventBus}, and the
 * registry read every second while no run of the file is in this process (another process, e.g. `serve` on the same
 * data dir, may own it and its events may not reach this one).
 */
export class Waiters {
  private readonly closing = new AbortController();

  constructor(
    private readonly registry: Registry,
    private readonly bus: EventBus,
    private readonly queue: WorkQueue,
    private readonly views: FileViews,
    private readonly queries: FileQueries,
  ) {}

  /** Resolves with the file once it is in a terminal status; `not_found` when it is deleted; `cancelled` on close. */
  async waitFor(id: string): Promise<IngestFile> {
    let row = await this.queries.requireRow(id);
    const settling = this.queue.settled(id);
    if (settling && isTerminalStatus(row.status)) {
      // Its run has recorded the outcome and is finishing (or a restart is starting): let it settle first.
      await settling;
      if (this.closing.signal.aborted) throw SHUTDOWN();
      row = await this.queries.requireRow(id);
    }
    if (isTerminalStatus(row.status) && !this.queue.settled(id)) return this.views.file(row);
    return new Promise<IngestFile>((resolve, reject) => {
      let done = false;
      const finish = (settle: () => void): void => {
        if (done) return;
        done = true;
        unsubscribe();
        clearInterval(poll);
        this.closing.signal.removeEventListener('abort', onClosed);
        settle();
      };
      const unsubscribe = this.bus.subscribe({ fileId: id }, (event) => {
        if (event.type === 'file.completed' || event.type === 'file.failed') {
          // The run in this process, if any, is finishing: answer once it has (its slot and job are free by then).
          const file = event.file as unknown as IngestFile;
          const settling = this.queue.settled(id);
          if (settling) void settling.then(() => finish(() => resolve(file)));
          else finish(() => resolve(file));
        }
        else if (event.type === 'file.deleted') finish(() => reject(new IngestError('not_found', `File ${id} was deleted`)));
      });
      const check = async (): Promise<void> => {
        if (done || this.queue.settled(id) || this.closing.signal.aborted) return;
        const current = await this.registry.getFile(id).catch(() => null);
        if (current === null) return;
        if (!current) finish(() => reject(new IngestError('not_found', `File ${id} was deleted`)));
        else if (isTerminalStatus(current.status) && !this.queue.settled(id)) {
          const file = await this.views.file(current);
          finish(() => resolve(file));
        }
      };
      const poll = setInterval(() => void check(), POLL_MS);
      const onClosed = (): void => finish(() => reject(SHUTDOWN()));
      this.closing.signal.addEventListener('abort', onClosed, { once: true });
      void check();
    });
  }

  /** Rejects every waiter with `cancelled`. */
  close(): void {
    this.closing.abort();
  }
}
