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
  return parsed.range() === 'unicast';
}

/** Throws `blocked_address` unless `address` is public (or private networks are allowed). */
export function assertAddressAllowed(address: string, host: string, allowPrivateNetworks: boolean): void {
  if (allowPrivateNetworks || isPublicAddress(address)) return;
  const shown = host === address ? address : `${host} (${address})`;
  throw new IngestError(
    'blocked_address',
    `Refused to connect to ${shown}: private, loopback, link-local or reserved addresses are blocked`,
  );
}

/** True when `host` (a URL hostname, brackets allowed) is an IP literal. */
export function isIpLiteral(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(bare) !== 0;
}
