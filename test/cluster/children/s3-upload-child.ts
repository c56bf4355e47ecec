// A worker process uploading one large blob to S3; prints each progress event (the test SIGKILLs it mid-upload).
import { S3BlobStore } from '../../../src/adapters/cluster/s3-blob-store.js';

const store = new S3BlobStore({
  s3: JSON.parse(process.env.CHILD_S3!),
  partSize: 5 * 1024 * 1024,
  queueSize: 1,
  onUploadProgress: (sha256, loaded) => process.stdout.write(`${JSON.stringify({ sha256, loaded })}\n`),
});
await store.putBlob(process.env.CHILD_FILE!, process.env.CHILD_SHA256!);
process.stdout.write(`${JSON.stringify({ done: true })}\n`);
await store.close();
