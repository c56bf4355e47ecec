/**
 * A guarded in-process HTTP proxy on loopback, for helper programs that make their own requests (yt-dlp):
 * they are started with `--proxy <proxy.url>`, and every connection they open passes exactly the same
 * routing (`MEDIA_INGEST_CONNECT_TO`, `MEDIA_INGEST_RESOLVE`) and private-address block as the guarded HTTP
 * client, through the shared {@link planConnection} and {@link createGuardedLookup}.
 *
 * It serves `CONNECT host:port` tunnels (https; TLS stays end to end, so the helper still verifies the real
 * host name) and absolute-form `http://host/path` requests (plain http). Anything else is refused. A
 * refused target answers 403 with the error code in `X-Media-Ingest-Code` and is recorded in
 * {@link GuardedProxy.events}, so the caller can report *why* the helper failed.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync } from 'node:fs';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { IngestError, isIngestError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import type { NetworkConfig } from '../config/define-config.js';
import { createGuardedLookup } from './address-guard.js';
import { parseRouting, planConnection } from './routing.js';
import type { RoutingTable } from './routing.js';

/** Options of {@link GuardedProxy.start}. */
export interface GuardedProxyOptions {
  /** The same network section the guarded client uses (routing, private-address block, deadlines). */
  network: Pick<NetworkConfig, 'connectTo' | 'resolve' | 'allowPrivateNetworks' | 'connectTimeoutMs' | 'idleTimeoutMs'>;
  logger?: Logger;
  /**
   * Require `Proxy-Authorization: Basic base64("proxy:<token>")`, so no other local process can use the proxy
   * while it listens. `true` makes a random token (see {@link GuardedProxy.url}). @default true
   */
  requireToken?: boolean;
  /**
   * Refuses some hosts outright, before any lookup (e.g. YouTube for yt-dlp): return the error to answer with.
   * @default none
   */
  refuseHost?: (hostname: string) => IngestError | undefined;
}

/** One thing the proxy did. */
export interface ProxyEvent {
  /** `CONNECT` or the method of an absolute-form request. */
  method: string;
  /** `host:port` asked for. */
  target: string;
  outcome: 'tunnel' | 'forwarded' | 'refused' | 'failed';
  /** The error code for `refused`/`failed`. */
  code?: ErrorCode;
  message?: string;
}

const HOP_BY_HOP = new Set([
  'connection', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'keep-alive', 'te', 'trailer',
  'transfer-encoding', 'upgrade',
]);

/** Splits `host:port` / `[v6]:port` (a CONNECT target). */
function splitHostPort(value: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(value.trim());
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1]!, port };
}

/** The in-process guarded proxy. Start one with {@link GuardedProxy.start}; close it when the helper is done. */
export class GuardedProxy {
  /** Everything the proxy was asked for, in order. */
  readonly events: ProxyEvent[] = [];
  private readonly routing: RoutingTable;
  private readonly lookup: ReturnType<typeof createGuardedLookup>;
  private readonly sockets = new Set<Duplex>();
  private readonly token: string | undefined;
  private server!: http.Server;
  private readonly unixServers: net.Server[] = [];
  private closed: Promise<void> | undefined;

  private constructor(private readonly options: GuardedProxyOptions) {
    this.routing = parseRouting(options.network.connectTo, options.network.resolve);
    this.lookup = createGuardedLookup(options.network.allowPrivateNetworks);
    this.token = options.requireToken === false ? undefined : randomBytes(18).toString('base64url');
  }

  /** Listens on 127.0.0.1 on a free port. */
  static async start(options: GuardedProxyOptions): Promise<GuardedProxy> {
    const proxy = new GuardedProxy(options);
    await proxy.listen();
    return proxy;
  }

  /** The port it listens on (127.0.0.1). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The value for a client's proxy setting, e.g. `http://proxy:<token>@127.0.0.1:<port>`. */
  get url(): string {
    return this.token === undefined ? `http://127.0.0.1:${this.port}` : `http://proxy:${this.token}@127.0.0.1:${this.port}`;
  }

  /** The refused targets (blocked addresses and the like). */
  refusals(): ProxyEvent[] {
    return this.events.filter((e) => e.outcome === 'refused');
  }

  /**
   * Also serves on a Unix socket at `socketPath` (mode 0600), for a helper in a network namespace of its own that
   * cannot reach 127.0.0.1. Same proxy, same token, same guard.
   */
  async listenUnix(socketPath: string): Promise<void> {
    const unix = net.createServer((socket) => this.server.emit('connection', socket));
    await new Promise<void>((resolve, reject) => {
      unix.once('error', reject);
      unix.listen(socketPath, () => {
        unix.off('error', reject);
        resolve();
      });
    });
    chmodSync(socketPath, 0o600);
    this.unixServers.push(unix);
  }

  /** Stops listening and ends every tunnel. */
  close(): Promise<void> {
    this.closed ??= Promise.all([
      new Promise<void>((resolve) => this.server.close(() => resolve())),
      ...this.unixServers.map((unix) => new Promise<void>((resolve) => unix.close(() => resolve()))),
    ]).then(() => undefined);
    for (const socket of this.sockets) socket.destroy();
    return this.closed;
  }

  private async listen(): Promise<void> {
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onConnect(req, socket, head));
    this.server.on('connection', (socket: Socket) => this.track(socket));
    this.server.on('clientError', (_error, socket: Duplex) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private authorised(headers: IncomingHttpHeaders): boolean {
    if (this.token === undefined) return true;
    const expected = Buffer.from(`Basic ${Buffer.from(`proxy:${this.token}`).toString('base64')}`);
    const given = Buffer.from(String(headers['proxy-authorization'] ?? ''));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private record(event: ProxyEvent): void {
    this.events.push(event);
    if (event.outcome === 'refused' || event.outcome === 'failed') {
      this.options.logger?.warn({ proxy: event }, 'guarded proxy refused or failed a connection');
    } else {
      this.options.logger?.debug({ proxy: event }, 'guarded proxy connection');
    }
  }

  /**
   * Opens a socket to `host:port` the way the guarded client would: an operator route as given, else a checked
   * address, else a name resolved by the guarded lookup. Rejects with `blocked_address` for a refused target.
   */
  private openSocket(host: string, port: number): Promise<Socket> {
    const { network, refuseHost } = this.options;
    const refused = refuseHost?.(host.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, ''));
    if (refused) throw refused;
    const plan = planConnection(this.routing, host, port, network.allowPrivateNetworks);
    const socket =
      plan.kind === 'route'
        ? net.connect({ host: plan.host, port: plan.port })
        : net.connect({ host: plan.kind === 'address' ? plan.address : plan.hostname, port, lookup: this.lookup });
    this.track(socket);
    return new Promise<Socket>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy(new IngestError('timeout', `Connecting to ${host}:${port} took longer than ${network.connectTimeoutMs} ms`));
      }, network.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setTimeout(network.idleTimeoutMs, () => socket.destroy());
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  private failure(error: unknown, target: string): { status: number; code: ErrorCode; message: string; refused: boolean } {
    if (isIngestError(error)) {
      const refused = !error.retryable && error.code !== 'upstream_error';
      return { status: refused ? 403 : error.code === 'timeout' ? 504 : 502, code: error.code, message: error.message, refused };
    }
    const detail = error instanceof Error ? error.message : String(error);
    return { status: 502, code: 'upstream_error', message: `Could not connect to ${target}: ${detail}`, refused: false };
  }

  private onConnect(req: IncomingMessage, client: Duplex, head: Buffer): void {
    this.track(client);
    client.on('error', () => client.destroy());
    const target = req.url ?? '';
    const reply = (status: number, reason: string, code: string, body: string, extra = ''): void => {
      client.end(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Media-Ingest-Code: ${code}\r\n${extra}` +
          `Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    };
    if (!this.authorised(req.headers)) {
      reply(407, 'Proxy Authentication Required', 'unauthorized', 'proxy authentication required\n', 'Proxy-Authenticate: Basic realm="media-ingest"\r\n');
      return;
    }
    const parsed = splitHostPort(target);
    if (!parsed) {
      this.record({ method: 'CONNECT', target, outcome: 'refused', code: 'invalid_request', message: 'bad CONNECT target' });
      reply(400, 'Bad Request', 'invalid_request', 'CONNECT needs host:port\n');
      return;
    }
    let opening: Promise<Socket>;
    try {
      opening = this.openSocket(parsed.host, parsed.port);
    } catch (error) {
      opening = Promise.reject(error);
    }
    opening.then(
      (upstream) => {
        this.record({ method: 'CONNECT', target, outcome: 'tunnel' });
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      },
      (error: unknown) => {
        const failed = this.failure(error, target);
        this.record({ method: 'CONNECT', target, outcome: failed.refused ? 'refused' : 'failed', code: failed.code, message: failed.message });
        reply(failed.status, failed.refused ? 'Forbidden' : 'Bad Gateway', failed.code, `${failed.message}\n`);
      },
    );
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const send = (status: number, code: string, message: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-media-ingest-code': code, connection: 'close', ...headers });
      res.end(`${message}\n`);
    };
    if (!this.authorised(req.headers)) {
      send(407, 'unauthorized', 'proxy authentication required', { 'proxy-authenticate': 'Basic realm="media-ingest"' });
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      send(400, 'invalid_request', 'only absolute-form http:// requests and CONNECT are served');
      return;
    }
    const port = Number(url.port) || 80;
    const target = `${url.hostname}:${port}`;
    if (url.protocol !== 'http:') {
      this.record({ method, target, outcome: 'refused', code: 'invalid_request', message: `${url.protocol} not proxied` });
      send(400, 'invalid_request', 'only http:// requests are forwarded; use CONNECT for https');
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    headers.host = url.host;
    headers.connection = 'close';
    let opening: Promise<Socket>;
    try {
      opening = this.openSocket(url.hostname, port);
    } catch (error) {
      opening = Promise.reject(error);
    }
    opening.then(
      (socket) => {
        this.record({ method, target, outcome: 'forwarded' });
        const upstream = http.request({ method, path: `${url.pathname}${url.search}`, headers, createConnection: () => socket });
        upstream.on('response', (answer) => {
          const out: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(answer.headers)) {
            if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
          }
          res.writeHead(answer.statusCode ?? 502, { ...out, connection: 'close' });
          answer.pipe(res);
        });
        upstream.on('error', (error) => {
          if (!res.headersSent) send(502, 'upstream_error', `Request to ${target} failed: ${error.message}`);
          else res.destroy();
        });
        res.on('close', () => upstream.destroy());
        req.pipe(upstream);
      },
      (error: unknown) => {
        const failed = this.failure(error, target);
        this.record({ method, target, outcome: failed.refused ? 'refused' : 'failed', code: failed.code, message: failed.message });
        send(failed.status, failed.code, failed.message);
      },
    );
  }
}
