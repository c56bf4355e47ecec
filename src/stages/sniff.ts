import type { SniffedKind } from '../plugin-api.js';

const ascii = (buf: Buffer, start: number, end: number): string => buf.subarray(start, end).toString('latin1');

/**
 * Classifies a body by its first bytes. `media` means a known audio/video container signature;
 * `unknown` leaves the decision to ffprobe (with its format allowlist).
 */
export function sniffKind(first: Buffer): SniffedKind {
  if (first.length === 0) return 'unknown';
  const box = ascii(first, 4, 8);
  if (['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip', 'pnot'].includes(box)) return 'media';
  if (first[0] === 0x1a && first[1] === 0x45 && first[2] === 0xdf && first[3] === 0xa3) return 'media';
  const head4 = ascii(first, 0, 4);
  if (head4 === 'RIFF') {
    const form = ascii(first, 8, 12);
    if (form === 'WEBP') return 'image';
    return form === 'WAVE' || form === 'AVI ' ? 'media' : 'unknown';
  }
  if (head4 === 'OggS' || head4 === 'fLaC' || head4 === 'caf ' || ascii(first, 0, 3) === 'ID3' || ascii(first, 0, 3) === 'FLV') return 'media';
  if (head4 === 'FORM' && ['AIFF', 'AIFC'].includes(ascii(first, 8, 12))) return 'media';
  if (ascii(first, 0, 5) === '#!AMR') return 'media';
  if (first[0] === 0x30 && first[1] === 0x26 && first[2] === 0xb2 && first[3] === 0x75) return 'media';
  if (first[0] === 0x47 && (first.length < 189 || first[188] === 0x47)) return 'media';
  if (first[0] === 0x89 && ascii(first, 1, 4) === 'PNG') return 'image';
  if (first[0] === 0xff && first[1] === 0xd8 && first[2] === 0xff) return 'image';
  if (ascii(first, 0, 4) === 'GIF8' || ascii(first, 0, 2) === 'BM' && first.length > 14 && first[14]! <= 124 && first[6] === 0) return 'image';
  if (first[0] === 0xff && first[1] !== undefined && (first[1] & 0xe0) === 0xe0) return 'media';
  if (head4 === 'PK\x03\x04' || head4 === 'PK\x05\x06') return 'zip';
  if (head4 === '%PDF') return 'pdf';
  const text = first.subarray(0, 1024).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('#EXTM3U') || text.startsWith('#EXTINF') || text.startsWith('#EXT-X-')) return 'hls';
  if (/^ffconcat/i.test(text) || /^file\s+['"]?[^\s]/.test(text)) return 'hls';
  if (/^<\?xml[^>]*>\s*<MPD/i.test(text) || /^<MPD/i.test(text)) return 'dash';
  if (text.startsWith('<')) return 'html';
  if (text.startsWith('{') || text.startsWith('[')) return 'json';
  const printable = first.subarray(0, 512).every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  return printable ? 'text' : 'unknown';
}

/** Content types that are never audio or video. */
export function isNonMediaContentType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'text/html' || type === 'application/xhtml+xml') return 'an HTML page';
  if (type === 'application/vnd.apple.mpegurl' || type === 'application/x-mpegurl' || type === 'audio/mpegurl' || type === 'audio/x-mpegurl') return 'an HLS playlist';
  if (type === 'application/dash+xml') return 'a DASH manifest';
  if (type.startsWith('image/')) return 'an image';
  if (type === 'application/zip' || type === 'application/x-zip-compressed') return 'a ZIP archive';
  if (type === 'application/pdf') return 'a PDF document';
  if (type === 'application/json') return 'JSON';
  return undefined;
}

/** A human name of a non-media sniffed kind. */
export function describeKind(kind: SniffedKind): string {
  switch (kind) {
    case 'html': return 'an HTML page';
    case 'hls': return 'a playlist or concat script (HLS/ffconcat)';
    case 'dash': return 'a DASH manifest';
    case 'zip': return 'a ZIP archive';
    case 'image': return 'an image';
    case 'pdf': return 'a PDF document';
    case 'json': return 'JSON';
    case 'text': return 'plain text';
    default: return 'not audio or video';
  }
}
