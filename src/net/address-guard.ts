import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { IngestError } from '../errors.js';

/**
 * True when `address` (an IPv4 or IPv6 literal) is ordinary public unicast. Everything else — loopback,
 * private, link-local (cloud metadata), CGNAT, unspecified, multicast, broadcast, reserved, documentation,
 * unique-local, and every IPv6 form that embeds IPv4 (mapped, compatible, NAT64, 6to4, Teredo) — is not.
 * The classification comes from ipaddr.js' range tables; only its `unicast` class passes.
 */
export function isPublicAddress(address: string): boolean {
  const literal = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zoneless = literal.split('%')[0] ?? literal;
  if (!ipaddr.isValid(zoneless)) return false;
  const parsed = ipaddr.parse(zoneless);
  // ipaddr.js calls `::7f00:1` (IPv4-compatible, the form WHATWG gives `[::127.0.0.1]`) unicast: block all of ::/8,
  // which IANA reserves (it holds the unspecified, loopback, IPv4-compatible and IPv4-mapped forms).
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).parts[0]! < 0x100) return false;
  return parsed.range() === 'unicast';
}

/** Throws `blocked_address` unless `address` is public (or private networks are allowed). */
export function assertAddressAllowed(address: string, host: string, allowPrivateNetworks: boolean): void {
  if (allowPrivateNetworks || isPublicAddress(address)) return;
  throw blockedAddress(host, address);
}

/**
 * The `blocked_address` error for `host`. Its message never names the address a name resolved to (that would tell
 * a caller what an internal name resolves to); the address is kept in the cause, which only the log shows.
 */
export function blockedAddress(host: string, address: string): IngestError {
  const what = isIpLiteral(host) ? 'a' : 'its address is a';
  return new IngestError(
    'blocked_address',
    `Refused to connect to ${host}: ${what} private, loopback, link-local or reserved address, which is blocked`,
    { cause: new Error(`${host} -> ${address}`) },
  );
}

/** True when `host` (a URL hostname, brackets allowed) is an IP literal. */
export function isIpLiteral(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(bare) !== 0;
}

/** The callback shape of `dns.lookup` (single answer or, with `all`, every answer). */
export type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup` replacement for sockets (`net.connect({lookup})`, undici's connector): resolves every answer
 * and refuses with `blocked_address` when ANY of them is not public (unless private networks are allowed), so
 * the address checked is the address connected to (no DNS-rebinding gap). Shared by the guarded HTTP client
 * and the guarded proxy.
 */
export function createGuardedLookup(allowPrivateNetworks: boolean): (hostname: string, options: LookupOptions, callback: LookupCallback) => void {
  return (hostname, lookupOptions, callback) => {
    dns.lookup(hostname, { ...lookupOptions, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const blocked = addresses.find((a) => !allowPrivateNetworks && !isPublicAddress(a.address));
      if (blocked) return callback(blockedAddress(hostname, blocked.address) as unknown as NodeJS.ErrnoException, []);
      if (lookupOptions.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`No address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      return callback(null, first.address, first.family);
    });
  };
}
