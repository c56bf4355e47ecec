import { IngestError } from '../errors.js';
import { assertAddressAllowed, isIpLiteral } from './address-guard.js';

/** One `--connect-to` route: requests for host:port connect to connectHost:connectPort. */
export interface ConnectRoute {
  connectHost: string;
  connectPort: number;
}

/** Parsed operator routing: `MEDIA_INGEST_CONNECT_TO` and `MEDIA_INGEST_RESOLVE`. Keys are `host:port`, host lower case. */
export interface RoutingTable {
  connectTo: Map<string, ConnectRoute>;
  resolve: Map<string, string>;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Splits `a:b:[::1]:d` on colons outside brackets. */
function splitRouteFields(entry: string): string[] {
  const fields: string[] = [];
  let current = '';
  let depth = 0;
  for (const ch of entry) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ':' && depth === 0) {
      fields.push(current);
      current = '';
    } else current += ch;
  }
  fields.push(current);
  return fields;
}

function parsePort(value: string | undefined, entry: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new IngestError('invalid_request', `Bad port in routing entry "${entry}"`);
  }
  return port;
}

/** Routing key of a host and port. */
export function routeKey(host: string, port: number): string {
  return `${stripBrackets(host).toLowerCase().replace(/\.$/, '')}:${port}`;
}

/** Parses curl-style `HOST:PORT:CONNECT_HOST:CONNECT_PORT` and `HOST:PORT:ADDRESS` lists. */
export function parseRouting(connectTo: readonly string[], resolve: readonly string[]): RoutingTable {
  const table: RoutingTable = { connectTo: new Map(), resolve: new Map() };
  for (const entry of connectTo.flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean)) {
    const [host, port, connectHost, connectPort] = splitRouteFields(entry);
    if (host === undefined || connectHost === undefined || connectPort === undefined) {
      throw new IngestError('invalid_request', `Bad MEDIA_INGEST_CONNECT_TO entry "${entry}" (want HOST:PORT:CONNECT_HOST:CONNECT_PORT)`);
    }
    table.connectTo.set(routeKey(host, parsePort(port, entry)), {
      connectHost: stripBrackets(connectHost),
      connectPort: parsePort(connectPort, entry),
    });
  }
  for (const entry of resolve.flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean)) {
    const [host, port, address] = splitRouteFields(entry);
    if (host === undefined || address === undefined) {
      throw new IngestError('invalid_request', `Bad MEDIA_INGEST_RESOLVE entry "${entry}" (want HOST:PORT:ADDRESS)`);
    }
    table.resolve.set(routeKey(host, parsePort(port, entry)), stripBrackets(address));
  }
  return table;
}

/**
 * Where a connection to `host:port` goes, decided the same way for every outbound socket (the guarded HTTP
 * client and the guarded proxy that yt-dlp talks through):
 * - `route`: an operator's `MEDIA_INGEST_CONNECT_TO` entry; exempt from the private-address block;
 * - `address`: a `MEDIA_INGEST_RESOLVE` override or an IP-literal host, already checked against the block;
 * - `lookup`: a name to resolve with the guarded lookup (`createGuardedLookup`), which checks every answer.
 */
export type ConnectPlan =
  | { kind: 'route'; host: string; port: number }
  | { kind: 'address'; address: string; port: number }
  | { kind: 'lookup'; hostname: string; port: number };

/**
 * Plans a connection to `host:port` (host as in a URL, brackets allowed). Throws `blocked_address` when a
 * resolve override or an IP literal is not public and private networks are not allowed.
 */
export function planConnection(table: RoutingTable, host: string, port: number, allowPrivateNetworks: boolean): ConnectPlan {
  const hostname = stripBrackets(host);
  const key = routeKey(hostname, port);
  const route = table.connectTo.get(key);
  if (route) return { kind: 'route', host: route.connectHost, port: route.connectPort };
  const override = table.resolve.get(key);
  if (override !== undefined) {
    assertAddressAllowed(override, hostname, allowPrivateNetworks);
    return { kind: 'address', address: override, port };
  }
  if (isIpLiteral(hostname)) {
    assertAddressAllowed(hostname, hostname, allowPrivateNetworks);
    return { kind: 'address', address: hostname, port };
  }
  return { kind: 'lookup', hostname, port };
}
