// The same port contracts as the cluster adapters pass, run against the local (embedded) adapters: SQLite registry,
// file-system blob store, in-process event bus. No service needed.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import { EmitterEventBus } from '../../src/adapters/local/emitter-event-bus.js';
import { FsBlobStore } from '../../src/adapters/local/fs-blob-store.js';
import { SqliteRegistry } from '../../src/adapters/local/sqlite-registry.js';
import type { BlobStore } from '../../src/ports/blob-store.js';
import type { Registry } from '../../src/ports/registry.js';
import { blobStoreContract } from './contracts/blob-store-contract.js';
import { eventBusContract } from './contracts/event-bus-contract.js';
import { registryContract } from './contracts/registry-contract.js';

const dirs = new Map<object, string>();
const tempDir = (owner: object) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mi-local-contract-'));
  dirs.set(owner, dir);
  return dir;
};
const removeDir = (owner: object) => rmSync(dirs.get(owner)!, { recursive: true, force: true });

describe('SQLite registry (local)', () => {
  registryContract(
    async () => {
      const holder = {};
      const registry = new SqliteRegistry(path.join(tempDir(holder), 'registry.sqlite'));
      dirs.set(registry, dirs.get(holder)!);
      await registry.open();
      return registry;
    },
    async (registry: Registry) => {
      await registry.close();
      removeDir(registry);
    },
  );
});

describe('file-system blob store (local)', () => {
  blobStoreContract(
    async () => {
      const holder = {};
      const store = new FsBlobStore(tempDir(holder));
      dirs.set(store, dirs.get(holder)!);
      await store.init();
      return store;
    },
    async (store: BlobStore) => {
      await store.close();
      removeDir(store);
    },
  );
});

describe('EventEmitter bus (local)', () => {
  eventBusContract(
    async () => {
      const bus = new EmitterEventBus();
      return [bus, bus];
    },
    async ([bus]) => {
      await bus.close();
    },
  );
});
