// Re-exports for the storage tests (one import site for the spool and its real file-system facade).
export { Spool } from '../../src/store/spool.js';
export { nodeStorageFs as nodeStorageFsForTests } from '../../src/store/storage-fs.js';
