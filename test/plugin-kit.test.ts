// The plugin kit (media-ingest/plugin): the one implementation of what plugins used to rewrite each.
import { describe, expect, it } from 'vitest';
import {
  IngestError, cancelledBy, errorForStatus, hostIsOrUnder, hostOf, isWebUrl, parseRetryAfter, sanitizeTitle, titleFilename,
} from '../src/plugin-api.js';

describe('plugin kit', () => {
  it('normalises hosts: case, trailing dots, subdomains', () => {
    expect(hostOf(new URL('https://WWW.Loom.COM./share/x'))).toBe('www.loom.com');
    expect(hostIsOrUnder(new URL('https://us02web.zoom.us./rec/1'), 'zoom.us')).toBe(true);
    expect(hostIsOrUnder(new URL('https://notzoom.us/rec/1'), 'zoom.us')).toBe(false);
    expect(isWebUrl(new URL('ftp://example.com/a'))).toBe(false);
  });

  it('reads Retry-After as delta-seconds or an HTTP-date, and nothing else', () => {
    const now = Date.parse('2025-04-01T10:00:00Z');
    expect(parseRetryAfter(' 120 ', now)).toBe(120);
    expect(parseRetryAfter('Tue, 01 Apr 2025 10:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Tue, 01 Apr 2025 09:00:00 GMT', now)).toBe(0);
    for (const bad of ['-5', '1.5', 'soon', '', undefined, null]) expect(parseRetryAfter(bad, now)).toBeUndefined();
  });

  it.each([
    [404, 'source_not_found', false], [410, 'source_not_found', false], [401, 'source_forbidden', false],
    [403, 'source_forbidden', false], [451, 'source_forbidden', false], [429, 'upstream_blocked', true],
    [408, 'timeout', true], [503, 'upstream_error', true], [418, 'upstream_error', false],
  ] as const)('maps HTTP %d to %s (retryable %s)', (status, code, retryable) => {
    const error = errorForStatus(status, { what: 'Example API', retryAfter: '7' });
    expect(error).toMatchObject({ code, retryable });
    expect(error.message).toMatch(new RegExp(`^Example API answered (an unexpected )?${status}`));
    if (status === 429 || status === 503) expect(error.retryAfterSeconds).toBe(7);
  });

  it('gives the IngestError behind an aborted signal, else cancelled', () => {
    const deleted = new IngestError('cancelled', 'File x was deleted');
    const a = new AbortController();
    a.abort(deleted);
    expect(cancelledBy(a.signal)).toBe(deleted);
    const b = new AbortController();
    b.abort(new Error('plain'));
    expect(cancelledBy(b.signal, 'the resolve')).toMatchObject({ code: 'cancelled', message: 'the resolve was cancelled' });
  });

  it('makes display names from titles', () => {
    expect(titleFilename('  a/b\\c: "d"  ', 'id1', 'webm')).toBe('a b c d.webm');
    expect(titleFilename('', 'id1', '../x')).toBe('id1.mp4');
    expect(sanitizeTitle('\u202eevil\u0000.')).toBe('evil');
    expect(sanitizeTitle('x'.repeat(400))).toHaveLength(150);
  });
});
