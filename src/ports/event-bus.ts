import type { FileStatus } from './file-records.js';

/** File events, as the library's `on(...)`, SSE and webhooks deliver them. */
export const FILE_EVENT_TYPES = ['file.processing', 'file.progress', 'file.completed', 'file.failed', 'file.deleted'] as const;
export type FileEventType = (typeof FILE_EVENT_TYPES)[number];

/** The File object an event carries (the contract's File view; JSON, so it crosses processes). */
export interface FileEventPayload {
  id: string;
  status: FileStatus;
  [field: string]: unknown;
}

/**
 * What the bus carries. File events are public; run events tell the process that enqueued a run how its start went
 * (`run.ready`: the file exists and its media response is open, or it was found to exist; `run.refused`: the run
 * failed before a file existed, so there is no file to carry the error).
 */
export type BusEvent =
  | { type: FileEventType; file: FileEventPayload; /** The run token of the run that emitted it (a file run's events). */ run?: string }
  | { type: 'run.ready'; jobId: string; file: FileEventPayload }
  | { type: 'run.refused'; jobId: string; error: { code: string; message: string } };

/** Which events a subscriber gets. */
export type BusFilter = { all: true } | { fileId: string } | { jobId: string };

/** Stops a subscription. Idempotent. */
export type Unsubscribe = () => void;

/**
 * The event bus port: file and run events across every process sharing the registry. The local adapter is an
 * in-process EventEmitter; a cluster adapter (Redis pub/sub) delivers to every node. Delivery is at most once per
 * subscriber and in publish order per file; a subscriber that must not miss a terminal status also reads the
 * registry (see waitFor).
 */
export interface EventBus {
  /** Delivers `event` to every matching subscriber, in this process and others. */
  publish(event: BusEvent): Promise<void>;
  /** Subscribes; the listener is called synchronously for events published in this process. */
  subscribe(filter: BusFilter, listener: (event: BusEvent) => void): Unsubscribe;
  close(): Promise<void>;
}
