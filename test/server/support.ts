// Harness of the HTTP API tests: a real engine + createServer() listening on loopback, fixture media servers, and
// a fetch-based client that validates every JSON response against OUR /openapi.json and (for Cloudglue's
// schemas) against the Cloudglue reference spec.
import { TERMINAL_STATUSES } from '../../src/ports/file-records.js';
import type { FileStatus } from '../../src/ports/file-records.js';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { createServer } from '../../src/server/index.js';
import type { CreateServerOptions } from '../../src/server/index.js';
import type { CreateIngestOptions } from '../../src/index.js';
import { startEngine } from '../support/engine.js';
import type { TestEngine } from '../support/engine.js';
import { SpecValidator, cloudglueValidator, danglingRefs } from './openapi-validator.js';

type Json = Record<string, unknown>;
export const API_KEY = 'test-key-0123456789';

/** A response as the tests see it. */
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent verbatim (no JSON encoding). */
  rawBody?: string;
  headers?: Record<string, string>;
  /** Bearer key to send; false for none. @default API_KEY */
  key?: string | false;
  /** The route is not in the spec (e.g. a 404 probe): only the Error body is checked. */
  undocumented?: boolean;
}

/** Validators built from the server's own /openapi.json. */
export interface Validators {
  ours: SpecValidator;
  cloudglue: SpecValidator;
}

const escapePointer = (part: string): string => encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1'));

export class ApiClient {
  /** Number of response bodies validated (tests assert it grows). */
  validated = 0;

  constructor(readonly baseUrl: string, private readonly validators: Validators, private readonly prefix = '') {}

  /** Loads and checks the server's spec; returns a client validating against it. */
  static async connect(baseUrl: string, prefix = '', headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` }): Promise<ApiClient> {
    const response = await fetch(`${baseUrl}${prefix}/openapi.json`, { headers });
    expect(response.status).toBe(200);
    const doc = (await response.json()) as Json;
    expect(doc.openapi).toMatch(/^3\.0\./);
    expect(danglingRefs(doc)).toEqual([]);
    return new ApiClient(baseUrl, { ours: new SpecValidator(doc, 'ours.json'), cloudglue: cloudglueValidator(doc) }, prefix);
  }

  get spec(): Json {
    return this.validators.ours.doc;
  }

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key ?? API_KEY;
    if (key !== false) headers.authorization = `Bearer ${key}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${this.prefix}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    const json = type.includes('application/json') ? (JSON.parse(text) as T) : (undefined as T);
    this.validate(method, path.split('?')[0]!, response.status, type, json, options.undocumented === true);
    return { status: response.status, headers: response.headers, text, json };
  }

  get = <T = any>(path: string, options?: RequestOptions): Promise<ApiResponse<T>> => this.request<T>('GET', path, options);
  post = <T = any>(path: string, body: unknown, options?: RequestOptions): Promise<ApiResponse<T>> => this.request<T>('POST', path, { ...options, body });
  put = <T = any>(path: string, body: unknown, options?: RequestOptions): Promise<ApiResponse<T>> => this.request<T>('PUT', path, { ...options, body });
  delete = <T = any>(path: string, options?: RequestOptions): Promise<ApiResponse<T>> => this.request<T>('DELETE', path, options);

  /** Validates a value against a named component schema of both specs (Cloudglue's when it has the name). */
  checkSchema(name: string, value: unknown): void {
    expect(this.validators.ours.check(`components/schemas/${name}`, value)).toBeUndefined();
    if (this.validators.cloudglue.hasSchema(name)) {
      expect(this.validators.cloudglue.check(`components/schemas/${name}`, value)).toBeUndefined();
    }
    this.validated++;
  }

  private validate(method: string, path: string, status: number, type: string, json: unknown, undocumented: boolean): void {
    if (status >= 400) expect(type, `${method} ${path} → ${status} must answer JSON`).toContain('application/json');
    const found = this.validators.ours.operation(method, path);
    if (!found) {
      expect(undocumented, `${method} ${path} is not in /openapi.json`).toBe(true);
      if (json !== undefined) this.checkSchema('Error', json);
      return;
    }
    const responses = found.operation.responses as Record<string, Json>;
    let response = responses[String(status)];
    expect(response, `${method} ${found.template}: status ${status} is not documented`).toBeDefined();
    if (typeof response!.$ref === 'string') {
      response = (this.spec.components as Json).responses as Json;
      response = (response as Record<string, Json>)[String(responses[String(status)]!.$ref).split('/').pop()!];
    }
    const schema = ((response!.content as Json | undefined)?.['application/json'] as Json | undefined)?.schema as Json | undefined;
    if (!schema) return;
    expect(json, `${method} ${path} → ${status} must be JSON`).toBeDefined();
    if (typeof schema.$ref === 'string') {
      this.checkSchema(schema.$ref.split('/').pop()!, json);
      return;
    }
    const pointer = ['paths', found.template, method.toLowerCase(), 'responses', String(status), 'content', 'application/json', 'schema'].map(escapePointer).join('/');
    expect(this.validators.ours.check(pointer, json)).toBeUndefined();
    this.validated++;
  }
}

export interface ApiHarness {
  engine: TestEngine;
  app: FastifyInstance;
  baseUrl: string;
  api: ApiClient;
  close(): Promise<void>;
}

/** An engine (fresh data dir, hosts routed by `connectTo`) served by createServer() on a loopback port. */
export async function startApi(
  engineOptions: CreateIngestOptions & { connectTo?: string[] } = {},
  serverOptions: Partial<CreateServerOptions> = {},
): Promise<ApiHarness> {
  const engine = await startEngine({ thumbnails: { width: 160 }, ...engineOptions });
  const app = createServer({ ingest: engine.ingest, apiKeys: [API_KEY, 'second-key'], logger: false, ...serverOptions });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const api = await ApiClient.connect(baseUrl);
  return {
    engine, app, baseUrl, api,
    async close() {
      await app.close();
      await engine.close();
    },
  };
}

/** Polls GET /v1/files/{id} until the status is terminal. */
export async function pollUntilTerminal(api: ApiClient, id: string, options?: RequestOptions, timeoutMs = 30_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, json } = await api.get<Json>(`/v1/files/${id}`, options);
    expect(status).toBe(200);
    if (TERMINAL_STATUSES.has(json.status as FileStatus)) return json;
    if (Date.now() > deadline) throw new Error(`file ${id} still ${String(json.status)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** POST /v1/files/sync expecting 200 (the failure message shows the error body). */
export async function syncOk(api: ApiClient, body: Json, options?: RequestOptions): Promise<Json> {
  const response = await api.post<Json>('/v1/files/sync', body, options);
  expect(response.status, `sync ${JSON.stringify(body)} answered ${response.text}`).toBe(200);
  return response.json;
}
