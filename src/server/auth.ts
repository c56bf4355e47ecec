/**
 * Bearer-key authentication of the API. Keys are compared as SHA-256 digests with `crypto.timingSafeEqual`,
 * against every configured key (no early exit), so neither the key length nor the matching key leaks by timing.
 */
import crypto, { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** A host-provided check: resolve true to let the request in. */
export type AuthHook = (request: FastifyRequest) => boolean | Promise<boolean>;

/** SHA-256 of a UTF-8 string: Node's one-shot `crypto.hash` where it exists (no Hash object per request). */
const digest: (text: string) => Buffer = typeof (crypto as { hash?: unknown }).hash === 'function'
  ? (text) => (crypto as unknown as { hash(algorithm: string, data: string, encoding: 'buffer'): Buffer }).hash('sha256', text, 'buffer')
  : (text) => createHash('sha256').update(text, 'utf8').digest();

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value) : null;
  return match?.[1];
}

/** Matches bearer tokens against a fixed set of keys in constant time. */
export class BearerKeys {
  private readonly digests: Buffer[];

  /** Empty and blank keys are ignored. */
  constructor(keys: readonly string[]) {
    this.digests = keys.map((k) => k.trim()).filter(Boolean).map(digest);
  }

  /** Number of usable keys. */
  get size(): number {
    return this.digests.length;
  }

  /** True when `token` equals one of the keys. */
  accepts(token: string | undefined): boolean {
    if (token === undefined) return false;
    const candidate = digest(token);
    let ok = false;
    for (const key of this.digests) ok = timingSafeEqual(candidate, key) || ok;
    return ok;
  }
}

/**
 * The access rule of the plugin: a request passes when its bearer token matches one of the keys, or when the
 * host's `auth` hook says yes. With neither keys nor hook, everything passes (only reachable with an explicit
 * `allowUnauthenticated: true`).
 */
export function accessRule(keys: BearerKeys, hook: AuthHook | undefined): (request: FastifyRequest) => boolean | Promise<boolean> {
  // Synchronous unless the host's hook is asked: a matching key costs no promise.
  return (request) => {
    if (keys.size === 0 && !hook) return true;
    if (keys.size > 0 && keys.accepts(bearerToken(request.headers.authorization))) return true;
    if (!hook) return false;
    const verdict = hook(request);
    return typeof verdict === 'boolean' ? verdict : Promise.resolve(verdict).then(Boolean);
  };
}
