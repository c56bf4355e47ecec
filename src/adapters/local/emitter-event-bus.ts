import { EventEmitter } from 'node:events';
import type { BusEvent, BusFilter, EventBus, Unsubscribe } from '../../ports/event-bus.js';

/**
 * The local {@link EventBus}: an in-process EventEmitter. Processes sharing a data dir do not see each other's
 * events; waiters also watch the registry for that case.
 */
export class EmitterEventBus implements EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  async publish(event: BusEvent): Promise<void> {
    this.emitter.emit('event', event);
  }

  subscribe(filter: BusFilter, listener: (event: BusEvent) => void): Unsubscribe {
    const matching = (event: BusEvent): void => {
      if ('all' in filter) listener(event);
      else if ('jobId' in filter) {
        if ('jobId' in event && event.jobId === filter.jobId) listener(event);
      } else if ('file' in event && event.file.id === filter.fileId && !('jobId' in event)) listener(event);
    };
    this.emitter.on('event', matching);
    return () => void this.emitter.off('event', matching);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
