import { S3Client } from '@aws-sdk/client-s3';
import type { ClusterS3Config } from '../../config/cluster-config.js';

/**
 * An S3 client for the configured endpoint. Checksums are computed only where the API requires them: the SDK's
 * default (a CRC32 trailer in `aws-chunked` bodies) is refused by S3 implementations other than AWS, such as
 * Swift's s3api; integrity is checked by the engine's own SHA-256 of every blob.
 */
export function createS3Client(config: ClusterS3Config): S3Client {
  // The SDK is pinned to a release that supports Node 20 (package.json); its notice that later releases will not
  // would otherwise print on every CLI run in cluster mode. An explicit setting by the host wins.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
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
