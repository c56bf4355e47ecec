// The one assertion for "this throws an IngestError with that code (and a message like that)".
import { expect } from 'vitest';
import { IngestError } from '../../src/errors.js';

/** Calls `fn` and asserts it throws an IngestError with `code` (and, when given, a message matching `message`). */
export function expectIngestError(fn: () => unknown, code: string, message?: RegExp): IngestError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(IngestError);
  expect((caught as IngestError).code).toBe(code);
  if (message) expect((caught as IngestError).message).toMatch(message);
  return caught as IngestError;
}
