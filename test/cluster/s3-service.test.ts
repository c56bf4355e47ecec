// The S3 service the cluster adapters rely on (Swift s3api here), checked with the AWS SDK the adapters use:
// streamed multipart upload, range GET, presigned GET with a real signature check.
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createS3Client } from '../../src/adapters/cluster/s3-client.js';
import { clusterServices } from '../support/cluster-services.js';

const cluster = await clusterServices('cluster: S3 service (Swift s3api)');

/** Deterministic pseudo-random bytes, produced in 64 KiB chunks (never one buffer for the whole body). */
function* pattern(total: number): Generator<Buffer> {
  let counter = 0;
  for (let sent = 0; sent < total; ) {
    const chunk = createHash('sha512').update(String(counter++)).digest();
    const block = Buffer.alloc(Math.min(65536, total - sent));
    for (let i = 0; i < block.length; i += chunk.length) chunk.copy(block, i);
    sent += block.length;
    yield block;
  }
}

describe.skipIf(!cluster)('S3 service (real signatures, multipart, ranges)', () => {
  const config = cluster!;
  const s3 = cluster ? createS3Client(config.s3) : undefined!;
  const key = `test-s3-service/${randomUUID()}`;
  const total = 11 * 1024 * 1024 + 12345; // three parts of 5 MiB, the last one short
  const whole = () => Buffer.concat([...pattern(total)]);

  afterAll(async () => {
    if (!cluster) return;
    await s3.send(new DeleteObjectCommand({ Bucket: config.s3.bucket, Key: key })).catch(() => undefined);
    s3.destroy();
  });

  it('stores a streamed multipart upload byte for byte', async () => {
    const upload = new Upload({
      client: s3,
      params: { Bucket: config.s3.bucket, Key: key, Body: Readable.from(pattern(total)) },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    const result = await upload.done();
    expect(result.ETag).toMatch(/-3"$/); // a multipart ETag: md5-of-parts, three parts
    const head = await s3.send(new HeadObjectCommand({ Bucket: config.s3.bucket, Key: key }));
    expect(head.ContentLength).toBe(total);
    const body = await s3.send(new GetObjectCommand({ Bucket: config.s3.bucket, Key: key }));
    const bytes = Buffer.from(await body.Body!.transformToByteArray());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(whole()).digest('hex'));
  });

  it('answers a range GET with exactly the range', async () => {
    const from = 5 * 1024 * 1024 - 10;
    const response = await s3.send(new GetObjectCommand({ Bucket: config.s3.bucket, Key: key, Range: `bytes=${from}-${from + 99}` }));
    const bytes = Buffer.from(await response.Body!.transformToByteArray());
    expect(response.ContentRange).toBe(`bytes ${from}-${from + 99}/${total}`);
    expect(bytes.equals(whole().subarray(from, from + 100))).toBe(true);
  });

  it('serves a presigned GET and refuses a tampered signature with 403', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: config.s3.bucket, Key: key, Range: undefined }), { expiresIn: 60 });
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(Number(ok.headers.get('content-length'))).toBe(total);
    await ok.body?.cancel();

    const tampered = new URL(url);
    const signature = tampered.searchParams.get('X-Amz-Signature')!;
    tampered.searchParams.set('X-Amz-Signature', (signature[0] === '0' ? '1' : '0') + signature.slice(1));
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('SignatureDoesNotMatch');

    const otherKey = new URL(url);
    otherKey.pathname = `${otherKey.pathname}-other`;
    expect((await fetch(otherKey)).status).toBe(403);
  });
});
