/**
 * What a response says about how its body is encoded, and whether media-ingest accepts it.
 *
 * Rule: a body is taken only as it is on the wire. media-ingest asks for `Accept-Encoding: identity` and sends no
 * `TE`, so a conforming server answers unencoded and chunked at most (RFC 9110 §12.5.3, RFC 9112 §6.1); any other
 * content coding (gzip, x-gzip, br, deflate, compress, zstd, unknown, stacked `gzip, br`) or transfer coding
 * (`Transfer-Encoding: gzip, chunked`) comes from a broken or hostile server, and a decoder is exactly where an
 * 841-byte body becomes a gigabyte. Media bodies with such codings are refused with `unsupported_encoding`
 * before a byte is stored. Only small page/API answers read with `text()`/`json()` may be decoded (one gzip,
 * deflate or br layer), their decoded and their wire bytes both capped by the read limit.
 */
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';

/** The coding of one response. */
export type BodyCoding =
  | { kind: 'identity' }
  /** One content coding a page read may decode; media bodies still refuse it. */
  | { kind: 'decodable'; coding: 'gzip' | 'deflate' | 'br'; description: string }
  | { kind: 'refused'; description: string };

function tokens(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '');
}

/**
 * Classifies `Content-Encoding` and `Transfer-Encoding` (any casing, whitespace, repeated headers, comma lists).
 * `identity` tokens are ignored; `chunked` is the only transfer coding accepted, and only last.
 */
export function bodyCodingOf(headers: Record<string, string | string[] | undefined>): BodyCoding {
  const transfer = tokens(headers['transfer-encoding']);
  if (transfer.some((token) => token !== 'chunked') || transfer.length > 1) {
    return { kind: 'refused', description: `Transfer-Encoding "${transfer.join(', ').slice(0, 100)}"` };
  }
  const content = tokens(headers['content-encoding']).filter((token) => token !== 'identity');
  if (content.length === 0) return { kind: 'identity' };
  const description = `Content-Encoding "${content.join(', ').slice(0, 100)}"`;
  if (content.length > 1) return { kind: 'refused', description };
  const only = content[0]!;
  if (only === 'gzip' || only === 'x-gzip') return { kind: 'decodable', coding: 'gzip', description };
  if (only === 'deflate' || only === 'br') return { kind: 'decodable', coding: only, description };
  return { kind: 'refused', description };
}

/** A streaming decoder for a decodable coding. */
export function decoderFor(coding: 'gzip' | 'deflate' | 'br'): Transform {
  if (coding === 'gzip') return zlib.createGunzip();
  if (coding === 'deflate') return zlib.createInflate();
  return zlib.createBrotliDecompress();
}
