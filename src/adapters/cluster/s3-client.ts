import { S3Client } from '@aws-sdk/client-s3';
import type { ClusterS3Config } from '../../config/cluster-config.js';

/**
 * An S3 client for the configured endpoint. Checksums are computed only where the API requires them: the SDK's
 * default (a CRC32 trailer in `aws-chunked` bodies) is refused by S3 implementations other than AWS, such as
 * Swift's s3api; integrity is checked by the engine's own SHA-256 of every blob.
 */
export function createS3Client(config: ClusterS3Config): S3Client {
  return new S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    ...(config.credentials ? { credentials: { ...config.credentials } } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}
