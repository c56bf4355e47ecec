/**
 * The engine's ports: the only ways the engine reaches storage, queues and other processes. Interfaces only;
 * adapters live under `src/adapters/<kind>/` and are bound in one inversify `ContainerModule` per kind.
 */
export type * from './registry.js';
export type * from './blob-store.js';
export type * from './work-queue.js';
export type * from './event-bus.js';
export { FILE_STATUSES, TERMINAL_STATUSES, IN_FLIGHT_STATUSES, isTerminalStatus } from './file-records.js';
export { FILE_EVENT_TYPES } from './event-bus.js';
export { cancelReasonOf } from './work-queue.js';
export { PORTS } from './tokens.js';
