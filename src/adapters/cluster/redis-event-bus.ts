/**
 * The {@link EventBus} port on Redis pub/sub: every node (API or worker) sees the file and run events of every
 * other. Events published here reach this process's subscribers synchronously (as the local bus does) and other
 * processes through one channel; a process ignores its own echo. Pub/sub is at most once: a node that is
 * disconnected misses what was published meanwhile (waiters also read the registry for terminal states).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { IngestError } from '../../errors.js';
import type { BusEvent, BusFilter, EventBus, Unsubscribe } from '../../ports/event-bus.js';
import { createRedis } from './redis-connection.js';

/** Options of {@link RedisEventBus}. */
export interface RedisEventBusOptions {
  redisUrl: string;
  /** Prefix of the channel name. @default 'media-ingest' */
  prefix?: string;
}

interface Envelope {
  from: string;
  event: BusEvent;
}

function matches(filter: BusFilter, event: BusEvent): boolean {
  if ('all' in filter) return true;
  if ('jobId' in filter) return 'jobId' in event && event.jobId === filter.jobId;
  return 'file' in event && !('jobId' in event) && event.file.id === filter.fileId;
}

export class RedisEventBus implements EventBus {
  private readonly id = randomUUID();
  private readonly channel: string;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly emitter = new EventEmitter();
  private closed = false;

  constructor(options: RedisEventBusOptions) {
    this.channel = `${options.prefix ?? 'media-ingest'}:events`;
    this.publisher = createRedis(options.redisUrl, { name: 'media-ingest-events' });
    this.subscriber = createRedis(options.redisUrl, { blocking: true, name: 'media-ingest-events-sub' });
    this.emitter.setMaxListeners(0);
  }

  /** Subscribes to the channel; events of other processes arrive from then on. */
  async open(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel);
    } catch (error) {
      throw new IngestError('storage_error', `Redis event bus: cannot reach Redis (${(error as Error).message})`, { cause: error });
    }
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let envelope: Envelope;
      try {
        envelope = JSON.parse(message) as Envelope;
      } catch {
        return;
      }
      if (envelope.from !== this.id && envelope.event && typeof envelope.event.type === 'string') this.emitter.emit('event', envelope.event);
    });
  }

  /**
   * Delivers here at once and to other nodes through Redis. While Redis is unreachable (restarting) the event is
   * dropped for other nodes (delivery is at most once) instead of failing the run that published it: its state is
   * in the registry, which waiters and enqueuers read too.
   */
  async publish(event: BusEvent): Promise<void> {
    if (this.closed) return;
    this.emitter.emit('event', event);
    await this.publisher.publish(this.channel, JSON.stringify({ from: this.id, event } satisfies Envelope)).catch(() => {
      this.dropped++;
    });
  }

  /** Events this node could not hand to Redis (it was unreachable). */
  dropped = 0;

  subscribe(filter: BusFilter, listener: (event: BusEvent) => void): Unsubscribe {
    const onEvent = (event: BusEvent): void => {
      if (matches(filter, event)) listener(event);
    };
    this.emitter.on('event', onEvent);
    return () => void this.emitter.off('event', onEvent);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.emitter.removeAllListeners();
    this.subscriber.disconnect();
    await this.publisher.quit().catch(() => undefined);
  }
}
