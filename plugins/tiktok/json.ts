/**
 * Tolerant readers for the loosely-typed JSON TikTok embeds in its pages. Every reader takes `unknown` and
 * returns undefined for anything of the wrong shape, so the mapping code never throws on a surprise.
 */

/** A plain JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

/** The value as a JSON object, or undefined. */
export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

/** The value as a list: an array as is, a single object wrapped in one, anything else empty. */
export function asList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return asObject(value) ? [value] : [];
}

/** A non-empty string (numbers are turned into their decimal form, e.g. numeric ids). */
export function asString(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** A finite number, from a number or a numeric string (TikTok sends counts and times as either). */
export function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

/** The first of several alternative keys (e.g. `PlayAddr` / `playAddr`) that is present and not null. */
export function pick(object: JsonObject | undefined, ...keys: string[]): unknown {
  if (!object) return undefined;
  for (const key of keys) {
    const value = object[key];
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

/** Follows a path of keys through nested objects. */
export function dig(value: unknown, ...path: string[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    const object = asObject(current);
    if (!object) return undefined;
    current = object[key];
  }
  return current;
}

/** `JSON.parse` that returns undefined instead of throwing. */
export function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}
