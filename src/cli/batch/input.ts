/**
 * The input side of `media-ingest batch`: a streaming line reader (constant memory, physical 1-based line
 * numbers) and the parser that turns each line into a URL entry, a malformed entry, or nothing (blank lines
 * and `#` comments).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** Lines longer than this are answered with `invalid_request` instead of being buffered further. */
export const MAX_LINE_CHARS = 1024 * 1024;

/** One physical line of the input. `tooLong` lines carry only their first {@link MAX_LINE_CHARS} characters. */
export interface InputLine {
  /** 1-based physical line number. */
  line: number;
  text: string;
  tooLong: boolean;
}

/** A line that asks for a sync. */
export interface UrlEntry {
  kind: 'url';
  line: number;
  url: string;
  metadata?: Record<string, unknown> | null;
  /** Per-line override of `--no-segment-thumbnails` (JSON lines: `enable_segment_thumbnails`). */
  enableSegmentThumbnails?: boolean;
}

/** A line that produces an `invalid_request` result without touching the engine. */
export interface InvalidEntry {
  kind: 'invalid';
  line: number;
  url: string | null;
  error: string;
}

/** What one output-producing input line is. */
export type BatchEntry = UrlEntry | InvalidEntry;

/** A readable input plus a way to stop reading it early. */
export interface BatchInput {
  stream: Readable;
  /** Stops reading (destroys the stream, so a pending read on stdin ends). */
  close(): void;
}

/** Opens `-` (stdin) or a file path as a stream. The caller checks readability first. */
export function openInput(source: string): BatchInput {
  const stream = source === '-' ? process.stdin : createReadStream(source);
  return { stream, close: () => stream.destroy() };
}

/**
 * Splits a byte stream into physical lines (`\n`, with an optional `\r` before it removed). Pulls from the
 * stream only as fast as the consumer asks, so a huge file is never held in memory.
 */
export async function* readLines(stream: Readable): AsyncGenerator<InputLine> {
  const decoder = new StringDecoder('utf8');
  let line = 1;
  let pending = '';
  let tooLong = false;
  const append = (text: string): void => {
    if (tooLong || text === '') return;
    pending += text;
    if (pending.length > MAX_LINE_CHARS) {
      pending = pending.slice(0, MAX_LINE_CHARS);
      tooLong = true;
    }
  };
  const take = (): InputLine => {
    const item: InputLine = { line, text: pending.endsWith('\r') ? pending.slice(0, -1) : pending, tooLong };
    line += 1;
    pending = '';
    tooLong = false;
    return item;
  };
  for await (const chunk of stream) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    let start = 0;
    let newline = text.indexOf('\n');
    while (newline >= 0) {
      append(text.slice(start, newline));
      yield take();
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    append(text.slice(start));
  }
  append(decoder.end());
  if (pending !== '' || tooLong) yield take();
}

/** Parses one line; `undefined` for blank lines and `#` comments (they produce no output). */
export function parseLine(input: InputLine): BatchEntry | undefined {
  const text = input.text.trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const invalid = (error: string, url: string | null = null): InvalidEntry => ({ kind: 'invalid', line: input.line, url, error });
  if (input.tooLong) return invalid(`Line ${input.line} is longer than ${MAX_LINE_CHARS} characters`);
  if (!text.startsWith('{')) return { kind: 'url', line: input.line, url: text };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return invalid(`Line ${input.line} is not valid JSON: ${(error as Error).message}`);
  }
  const record = value as Record<string, unknown>;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid(`Line ${input.line} is not a JSON object`);
  if (typeof record.url !== 'string') return invalid(`Line ${input.line} has no string "url"`);
  const entry: UrlEntry = { kind: 'url', line: input.line, url: record.url };
  const metadata = record.metadata;
  if (metadata !== undefined) {
    if (metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) {
      return invalid(`Line ${input.line}: "metadata" must be a JSON object`, record.url);
    }
    entry.metadata = metadata as Record<string, unknown> | null;
  }
  const segments = record.enable_segment_thumbnails;
  if (segments !== undefined) {
    if (typeof segments !== 'boolean') return invalid(`Line ${input.line}: "enable_segment_thumbnails" must be a boolean`, record.url);
    entry.enableSegmentThumbnails = segments;
  }
  return entry;
}

/** The output-producing entries of a stream, in input order. */
export async function* readEntries(stream: Readable): AsyncGenerator<BatchEntry> {
  for await (const line of readLines(stream)) {
    const entry = parseLine(line);
    if (entry) yield entry;
  }
}

/** Counts the output-producing lines of a file in one streaming pass (for the progress bar's total). */
export async function countEntries(path: string): Promise<number> {
  let count = 0;
  for await (const line of readLines(createReadStream(path))) {
    const text = line.text.trim();
    if (line.tooLong || (text !== '' && !text.startsWith('#'))) count += 1;
  }
  return count;
}
