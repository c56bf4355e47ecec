import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Agent, buildConnector } from 'undici';
import type { Logger } from 'pino';
import { IngestError } from '../errors.js';
import type { HttpClient, HttpRequestOptions, HttpResponse } from '../plugin-api.js';
import type { NetworkConfig } from '../config/define-config.js';
import { createGuardedLookup, isIpLiteral } from './address-guard.js';
import { parseRouting, planConnection } from './routing.js';
import type { ConnectPlan, RoutingTable } from './routing.js';
import { mapNetworkError } from './network-errors.js';
import { bodyCodingOf, decoderFor } from './body-coding.js';
import { ThroughputFloor } from './throughput-floor.js';

type UndiciResponse = Awaited<ReturnType<typeof import('undici')['request']>>;
type UndiciRequestOptions = Parameters<Agent['request']>[0];
/** The parts of undici this client uses. */
interface Undici {
  Agent: typeof Agent;
  buildConnector: typeof buildConnector;
  /** `Dispatcher.prototype.request`, called with the agent as `this`. */
  request: (this: Agent, options: UndiciRequestOptions) => Promise<UndiciResponse>;
}
let undiciModule: Promise<Undici> | undefined;
/**
 * undici, loaded on the first request: commands that make none (`list`, `get`) never pay for loading it. Only the
 * agent, the connector and the request API are loaded (its entry point also loads fetch, WebSocket, mocks and caches:
 * about twice the start-up time); the entry point is the fallback should a release move those files.
 */
const loadUndici = (): Promise<Undici> => (undiciModule ??= Promise.resolve().then((): Undici => {
  const require = createRequire(import.meta.url);
  try {
    return {
      Agent: require('undici/lib/dispatcher/agent.js') as typeof Agent,
      buildConnector: require('undici/lib/core/connect.js') as typeof buildConnector,
      request: require('undici/lib/api/api-request.js') as Undici['request'],
    };
  } catch {
    const undici = require('undici') as typeof import('undici');
    return { Agent: undici.Agent, buildConnector: undici.buildConnector, request: undici.Dispatcher.prototype.request as Undici['request'] };
  }
}));

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Options of {@link GuardedHttpClient}. */
export interface GuardedHttpClientOptions {
  network: NetworkConfig;
  /** Default byte limit on every body. */
  maxBytes: number;
  logger: Logger;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The one HTTP client of media-ingest. The private-address block runs inside the connector (on the IP
 * literal, the `--resolve` override, or every DNS answer), so it holds for the first request, every
 * redirect hop and DNS rebinding alike. Redirects are followed here, one hop at a time, with a cap.
 */
export class GuardedHttpClient implements HttpClient {
  private readonly routing: RoutingTable;
  private dispatcher: Agent | undefined;

  constructor(private readonly options: GuardedHttpClientOptions) {
    this.routing = parseRouting(options.network.connectTo, options.network.resolve);
  }

  /** The connection pool with the guarded connector, made on first use. */
  private agent({ Agent, buildConnector }: Undici): Agent {
    if (this.dispatcher) return this.dispatcher;
    const { network } = this.options;
    const allowPrivate = network.allowPrivateNetworks;
    const guardedLookup = createGuardedLookup(allowPrivate);
    const guardedConnect = buildConnector({ timeout: network.connectTimeoutMs, lookup: guardedLookup } as buildConnector.BuildOptions);
    const routedConnect = buildConnector({ timeout: network.connectTimeoutMs });
    const connect: buildConnector.connector = (opts, callback) => {
      const hostname = stripBrackets(opts.hostname);
      const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
      const servername = isIpLiteral(hostname) ? undefined : hostname.replace(/\.$/, '');
      let plan: ConnectPlan;
      try {
        plan = planConnection(this.routing, hostname, port, allowPrivate);
      } catch (error) {
        return callback(error as Error, null);
      }
      if (plan.kind === 'route') {
        // An operator's explicit route: exempt from the block, TLS still verifies the original name.
        return routedConnect({ ...opts, hostname: plan.host, port: String(plan.port), servername }, callback);
      }
      const target = plan.kind === 'address' ? plan.address : plan.hostname;
      return guardedConnect({ ...opts, hostname: target, port: String(port), servername }, callback);
    };
    this.dispatcher = new Agent({
      connect,
      headersTimeout: network.idleTimeoutMs,
      bodyTimeout: network.idleTimeoutMs,
      keepAliveTimeout: 4_000,
      connections: 64,
    });
    return this.dispatcher;
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.dispatcher?.close().catch(() => undefined);
  }

  async request(input: string | URL, requestOptions: HttpRequestOptions = {}): Promise<HttpResponse> {
    const { network } = this.options;
    let url = new URL(String(input));
    let method: string = requestOptions.method ?? 'GET';
    let body = requestOptions.body;
    const redirects: string[] = [];
    const maxRedirects = requestOptions.maxRedirects ?? network.maxRedirects;
    const deadline = new AbortController();
    const totalTimer = setTimeout(
      // Not retryable: a retry would get the same deadline and, most likely, the same fate.
      () => deadline.abort(new IngestError('timeout', `Transfer of ${url.href} took longer than ${network.totalTimeoutMs} ms`, { retryable: false })),
      network.totalTimeoutMs,
    );
    totalTimer.unref();
    // One controller for both deadlines and the caller's signal (AbortSignal.any signals can be collected early on Node 20).
    const callerSignal = requestOptions.signal;
    const forwardAbort = (): void => deadline.abort(callerSignal?.reason);
    if (callerSignal?.aborted) forwardAbort();
    else callerSignal?.addEventListener('abort', forwardAbort, { once: true });
    const signal = deadline.signal;
    const finish = (): void => {
      clearTimeout(totalTimer);
      callerSignal?.removeEventListener('abort', forwardAbort);
    };
    try {
      for (;;) {
        assertFetchableUrl(url, redirects.length > 0);
        const headers = await this.buildHeaders(url, requestOptions);
        let response: UndiciResponse;
        try {
          const undici = await loadUndici();
          const path = url.search ? `${url.pathname}${url.search}` : url.pathname;
          response = await undici.request.call(this.agent(undici), { origin: url.origin, path, method: method as 'GET', headers, body, signal });
        } catch (error) {
          throw mapNetworkError(signal.aborted ? (signal.reason ?? error) : error, url.href);
        }
        await storeCookies(requestOptions, url, response.headers['set-cookie']);
        const location = firstHeader(response.headers.location);
        const follow = requestOptions.followRedirects !== false;
        if (follow && REDIRECT_STATUSES.has(response.statusCode) && location) {
          response.body.resume();
          redirects.push(url.href);
          let next: URL;
          try {
            next = new URL(location, url);
          } catch (error) {
            throw new IngestError('upstream_error', `${url.href} redirected to an invalid URL "${location.slice(0, 200)}"`, { cause: error });
          }
          if (redirects.length > maxRedirects) {
            const loop = redirects.includes(next.href) ? ' (a redirect loop)' : '';
            throw new IngestError('too_many_redirects', `More than ${maxRedirects} redirects starting at ${redirects[0]}${loop}`);
          }
          if (response.statusCode === 303 || ((response.statusCode === 301 || response.statusCode === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
          }
          this.options.logger.debug({ from: url.href, to: next.href, status: response.statusCode }, 'redirect');
          url = next;
          continue;
        }
        return this.wrapResponse(response, url, redirects, requestOptions, signal, finish, (reason) => deadline.abort(reason));
      }
    } catch (error) {
      finish();
      throw error;
    }
  }

  private async buildHeaders(url: URL, requestOptions: HttpRequestOptions): Promise<Record<string, string>> {
    const headers: Record<string, string> = {
      'user-agent': this.options.network.userAgent,
      accept: '*/*',
      'accept-encoding': 'identity',
    };
    for (const [name, value] of Object.entries(requestOptions.headers ?? {})) headers[name.toLowerCase()] = value;
    if (requestOptions.cookieJar) {
      const cookie = await requestOptions.cookieJar.getCookieString(url.href);
      if (cookie) headers.cookie = cookie;
    }
    if (requestOptions.rangeStart !== undefined) headers.range = `bytes=${requestOptions.rangeStart}-`;
    return headers;
  }

  private wrapResponse(
    response: UndiciResponse,
    url: URL,
    redirects: string[],
    requestOptions: HttpRequestOptions,
    signal: AbortSignal,
    finish: () => void,
    abort: (reason: IngestError) => void,
  ): HttpResponse {
    const headers = response.headers as Record<string, string | string[] | undefined>;
    // undici's body emits RequestAbortedError when destroyed before its end (dump, cancellation, a reader that
    // stops early): readers see failures through iteration, so this listener only keeps that from being unhandled.
    response.body.on('error', () => undefined);
    const maxBytes = requestOptions.maxBytes ?? this.options.maxBytes;
    const coding = bodyCodingOf(headers);
    const declared = Number(firstHeader(headers['content-length']));
    if (coding.kind === 'identity' && Number.isFinite(declared) && declared > maxBytes && response.statusCode < 300) {
      response.body.destroy();
      finish();
      throw new IngestError('file_too_large', `${url.href} declares ${declared} bytes, over the limit of ${maxBytes}`);
    }
    const mapError = (error: unknown): Error => mapNetworkError(signal.aborted ? (signal.reason ?? error) : error, url.href);
    const href = url.href;
    const { minBytesPerSecond, minSpeedWindowMs } = this.options.network;
    /** The wire bytes, counted, with the throughput floor; the caller's deadline covers the rest. */
    async function* wire(limit: number, tooLarge: () => IngestError): AsyncGenerator<Buffer> {
      const floor = new ThroughputFloor(minBytesPerSecond ?? 0, minSpeedWindowMs ?? 0, abort);
      let received = 0;
      try {
        const chunks = (response.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
        for (;;) {
          floor.waiting();
          const next = await chunks.next();
          floor.received(next.done ? 0 : next.value.length);
          if (next.done) return;
          received += next.value.length;
          if (received > limit) throw tooLarge();
          yield next.value;
        }
      } finally {
        floor.stop();
      }
    }
    async function* media(): AsyncGenerator<Buffer> {
      try {
        if (coding.kind !== 'identity') {
          // Never decoded: refused before a byte reaches the reader (see body-coding.ts).
          throw new IngestError('unsupported_encoding', `${href} sent its body with ${coding.description}; media bodies are accepted only unencoded (identity)`);
        }
        yield* wire(maxBytes, () => new IngestError('file_too_large', `${href} sent more than the limit of ${maxBytes} bytes`));
      } catch (error) {
        throw mapError(error);
      } finally {
        finish();
        if (!response.body.destroyed) response.body.destroy();
      }
    }
    // Async iteration, not pipe(): one consumer pulls from undici's body, so backpressure is plain awaiting.
    // Created on first use: a page read (text/json) takes the body another way, and must not start this one.
    let output: Readable | undefined;
    // One received chunk at a time (64 KiB, the socket read size): a larger buffer only makes its reader concatenate.
    const body = (): Readable => (output ??= Readable.from(media(), { objectMode: false, highWaterMark: 64 << 10 }));
    const header = (name: string): string | undefined => firstHeader(headers[name.toLowerCase()]);
    const readAll = async (limit: number): Promise<Buffer> => {
      const tooLarge = (): IngestError => new IngestError('upstream_error', `The answer of ${href} is larger than ${limit} bytes`);
      if (output) return collect(output, limit, tooLarge);
      try {
        if (coding.kind === 'refused') {
          throw new IngestError('unsupported_encoding', `${href} answered with ${coding.description}, which is never decoded`);
        }
        const raw = Readable.from(wire(Math.min(limit, maxBytes), tooLarge), { objectMode: false });
        if (coding.kind === 'identity') return await collect(raw, limit, tooLarge);
        // A small page answer in one gzip/deflate/br layer: wire bytes and decoded bytes both capped by `limit`.
        const decoder = decoderFor(coding.coding);
        raw.on('error', (error) => decoder.destroy(error));
        return await collect(raw.pipe(decoder), limit, tooLarge);
      } catch (error) {
        throw mapError(error);
      } finally {
        finish();
        if (!response.body.destroyed) response.body.destroy();
      }
    };
    return {
      url: url.href,
      status: response.statusCode,
      headers,
      redirects,
      get body() {
        return body();
      },
      header,
      text: async (limit = 5 << 20) => (await readAll(limit)).toString('utf8'),
      json: async <T>(limit = 5 << 20): Promise<T> => {
        const text = (await readAll(limit)).toString('utf8');
        try {
          return JSON.parse(text) as T;
        } catch (error) {
          throw new IngestError('upstream_error', `The answer of ${url.href} is not JSON`, { cause: error });
        }
      },
      dump: async () => {
        // The reader may never have started: release undici's body and the deadline directly too.
        output?.destroy();
        if (!response.body.destroyed) response.body.destroy();
        finish();
      },
    };
  }
}

/** Only http(s) URLs without credentials are fetched, on the first request and on every redirect hop. */
function assertFetchableUrl(url: URL, isRedirect: boolean): void {
  const via = isRedirect ? 'a redirect to ' : '';
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new IngestError('unsupported_scheme', `Refused ${via}a ${url.protocol} URL: only http and https are fetched`);
  }
  if (url.username || url.password) {
    throw new IngestError('invalid_url', `Refused ${via}a URL with credentials`);
  }
}

async function storeCookies(options: HttpRequestOptions, url: URL, setCookie: string | string[] | undefined): Promise<void> {
  if (!options.cookieJar || setCookie === undefined) return;
  for (const cookie of Array.isArray(setCookie) ? setCookie : [setCookie]) {
    await options.cookieJar.setCookie(cookie, url.href, { ignoreError: true });
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads a stream into one buffer, failing with `tooLarge()` past `limit` bytes. */
async function collect(stream: Readable, limit: number, tooLarge: () => IngestError): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      stream.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
