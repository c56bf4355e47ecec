// Re-exports for the storage tests (one import site for the store and its real file-system facade).
export { ContentAddressedStore } from '../../src/store/blob-store.js';
export { nodeStorageFs as nodeStorageFsForTests } from '../../src/store/storage-fs.js';
