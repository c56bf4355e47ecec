// The EventBus port's contract: `makePair` returns a publishing bus and a subscribing one (the same instance for an
// in-process bus, two connections or processes for a networked one).
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { BusEvent, EventBus } from '../../../src/ports/event-bus.js';

/** Collects what a subscription receives; `until(n)` resolves once n events arrived. */
export function collector(): { events: BusEvent[]; listener: (event: BusEvent) => void; until(count: number): Promise<BusEvent[]> } {
  const events: BusEvent[] = [];
  const waiters: Array<{ count: number; resolve: (events: BusEvent[]) => void }> = [];
  return {
    events,
    listener(event) {
      events.push(event);
      for (const waiter of waiters.filter((w) => events.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(events);
      }
    },
    until(count) {
      if (events.length >= count) return Promise.resolve(events);
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
  };
}

const fileEvent = (type: 'file.processing' | 'file.progress' | 'file.completed', id: string, n = 0): BusEvent => ({ type, file: { id, status: type === 'file.completed' ? 'completed' : 'processing', n } });

export function eventBusContract(makePair: () => Promise<[EventBus, EventBus]>, dispose: (buses: [EventBus, EventBus]) => Promise<void>): void {
  let pair: [EventBus, EventBus];
  beforeEach(async () => {
    pair = await makePair();
  });
  afterEach(async () => {
    await dispose(pair);
  });

  it('delivers by filter (all, one file, one job) and in publish order', async () => {
    const [publisher, subscriber] = pair;
    const all = collector();
    const one = collector();
    const job = collector();
    subscriber.subscribe({ all: true }, all.listener);
    subscriber.subscribe({ fileId: 'file_a' }, one.listener);
    subscriber.subscribe({ jobId: 'job_1' }, job.listener);
    for (let n = 0; n < 20; n++) await publisher.publish(fileEvent('file.progress', n % 2 ? 'file_b' : 'file_a', n));
    await publisher.publish({ type: 'run.ready', jobId: 'job_1', file: { id: 'file_a', status: 'processing' } });
    await publisher.publish({ type: 'run.refused', jobId: 'job_2', error: { code: 'invalid_url', message: 'bad' } });
    await publisher.publish(fileEvent('file.completed', 'file_a', 99));
    await all.until(23);
    await one.until(11);
    await job.until(1);
    expect(all.events.slice(0, 20).map((e) => ('file' in e ? (e.file as { n: number }).n : -1))).toEqual([...Array(20).keys()]);
    expect(one.events.map((e) => e.type)).toEqual([...Array(10).fill('file.progress'), 'file.completed']);
    expect(job.events).toEqual([{ type: 'run.ready', jobId: 'job_1', file: { id: 'file_a', status: 'processing' } }]);
  });

  it('calls subscribers of the publishing process synchronously and stops after unsubscribe', async () => {
    const [publisher] = pair;
    const seen = collector();
    const unsubscribe = publisher.subscribe({ fileId: 'file_sync' }, seen.listener);
    const publishing = publisher.publish(fileEvent('file.processing', 'file_sync'));
    expect(seen.events).toHaveLength(1); // before the publish promise settles
    await publishing;
    unsubscribe();
    unsubscribe();
    await publisher.publish(fileEvent('file.completed', 'file_sync'));
    expect(seen.events).toHaveLength(1);
  });
}
