import contentDisposition from 'content-disposition';

const MAX_FILENAME_BYTES = 200;

/**
 * Makes a remote name safe as display metadata: no path (last segment after / or \), no control or
 * bidi characters, no leading dots, trimmed, at most 200 bytes. Returns undefined when nothing is left.
 */
export function sanitizeFilename(name: string | undefined): string | undefined {
  if (!name) return undefined;
  let clean = name.normalize('NFC').split(/[/\\]/).pop() ?? '';
  clean = clean.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '');
  clean = clean.replace(/[<>:"|?*]/g, '_').trim().replace(/^\.+/, '').trim();
  while (Buffer.byteLength(clean) > MAX_FILENAME_BYTES) clean = [...clean].slice(0, -1).join('');
  return clean.length > 0 ? clean : undefined;
}

/** The filename of a Content-Disposition header (RFC 6266; `filename*` wins); undefined if absent or malformed. */
export function filenameFromContentDisposition(header: string | undefined): string | undefined {
  if (!header) return undefined;
  try {
    const parsed = contentDisposition.parse(header);
    return sanitizeFilename(parsed.parameters.filename);
  } catch {
    // Malformed headers are common: fall back to a lenient read of filename*= / filename=.
    const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
    if (star?.[1]) {
      try {
        return sanitizeFilename(decodeURIComponent(star[1].trim()));
      } catch {
        /* fall through */
      }
    }
    const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(header);
    return sanitizeFilename(plain?.[1]);
  }
}

/** The last path segment of a URL, percent-decoded and sanitised. */
export function filenameFromUrl(url: string): string | undefined {
  try {
    const segment = new URL(url).pathname.split('/').filter(Boolean).pop();
    if (!segment) return undefined;
    try {
      return sanitizeFilename(decodeURIComponent(segment));
    } catch {
      return sanitizeFilename(segment);
    }
  } catch {
    return undefined;
  }
}
