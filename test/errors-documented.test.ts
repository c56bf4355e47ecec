// Every stable error code is documented in the README with its HTTP status (and nowhere else invented).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, IngestError } from '../src/errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('error codes', () => {
  it.each(Object.entries(ERROR_CODES))('%s is in the README table with status %s', (code, { httpStatus }) => {
    expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\| ${httpStatus} \\|`));
  });

  it('carries code, status, retryability and cause', () => {
    const cause = new Error('socket hang up');
    const error = new IngestError('upstream_error', 'GET https://x.test/a.mp4 failed', { cause });
    expect(error).toMatchObject({ name: 'IngestError', code: 'upstream_error', httpStatus: 502, retryable: true, cause });
    expect(error.toJSON()).toEqual({ error: 'GET https://x.test/a.mp4 failed', code: 'upstream_error' });
  });
});
