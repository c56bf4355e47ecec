// Validates HTTP responses against OpenAPI 3.0 documents with ajv: OUR /openapi.json, and Cloudglue's reference
// spec (vendored in test/vendor/cloudglue, Apache-2.0) with exactly the documented media-ingest departures allowed.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

type Json = Record<string, unknown>;
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** The Cloudglue Files subset the tests validate against, inside the repository (see its README for provenance and cuts). */
export const CLOUDGLUE_SPEC_PATH = fileURLToPath(new URL('../vendor/cloudglue/files-openapi.json', import.meta.url));

/** OpenAPI 3.0 schema → JSON Schema: `nullable` becomes a null type (or an anyOf with null); doc-only keywords go. */
export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) {
    if (['discriminator', 'example', 'xml', 'externalDocs', 'nullable'].includes(key)) continue;
    out[key] = key === 'properties' || key === 'schemas' || key === 'paths' || key === 'responses' || key === 'content'
      ? Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, toJsonSchema(v)]))
      : toJsonSchema(value);
  }
  if ((node as Json).nullable !== true) return out;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

function newAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('binary', true);
  return ajv;
}

/** Every `$ref` in a document points at something that exists. */
export function danglingRefs(doc: Json): string[] {
  const missing: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node as Json)) {
      if (key === '$ref' && typeof value === 'string') {
        const target = value.replace(/^#\//, '').split('/').reduce<unknown>((at, part) => (at as Json | undefined)?.[part], doc);
        if (target === undefined) missing.push(value);
      } else visit(value);
    }
  };
  visit(doc);
  return missing;
}

/** One OpenAPI document, compiled lazily per schema. */
export class SpecValidator {
  private readonly ajv = newAjv();
  private readonly cache = new Map<string, ValidateFunction>();
  readonly doc: Json;

  constructor(doc: Json, private readonly id: string) {
    this.doc = toJsonSchema(doc) as Json;
    this.ajv.addSchema(this.doc, id);
  }

  /** Validates `value` against `#/<pointer>`; returns ajv's error text, or undefined when valid. */
  check(pointer: string, value: unknown): string | undefined {
    let validate = this.cache.get(pointer);
    if (!validate) {
      validate = this.ajv.getSchema(`${this.id}#/${pointer}`);
      if (!validate) throw new Error(`${this.id}: no schema at #/${pointer}`);
      this.cache.set(pointer, validate);
    }
    return validate(value) ? undefined : `${this.id} #/${pointer}: ${this.ajv.errorsText(validate.errors, { separator: '\n  ' })}`;
  }

  hasSchema(name: string): boolean {
    return Boolean(((this.doc.components as Json).schemas as Json)[name]);
  }

  /** The operation and path template of a request path (without server prefix). */
  operation(method: string, path: string): { template: string; operation: Json } | undefined {
    const paths = this.doc.paths as Record<string, Json>;
    const templates = Object.keys(paths).sort((a, b) => a.split('{').length - b.split('{').length);
    for (const template of templates) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      const operation = paths[template]![method.toLowerCase()] as Json | undefined;
      if (pattern.test(path) && operation) return { template, operation };
    }
    return undefined;
  }
}

/**
 * The Cloudglue reference spec with exactly our documented departures: `tiktok` added to `File.source`, and our
 * `HttpSourceMetadata`, `TikTokSourceMetadata` and `LoomSourceMetadata` (copied from OUR spec) added to the
 * `SourceMetadata` oneOf. Everything else (extra File fields, Thumbnail/FileSegment extras) must already pass
 * Cloudglue's own schemas, which allow additional properties.
 */
export function cloudglueValidator(ours: Json): SpecValidator {
  const doc = JSON.parse(readFileSync(CLOUDGLUE_SPEC_PATH, 'utf8')) as Json;
  const schemas = (doc.components as Json).schemas as Record<string, Json>;
  const ourSchemas = (ours.components as Json).schemas as Record<string, Json>;
  const file = schemas.File!.properties as Record<string, Json>;
  file.source = { ...file.source, enum: [...(file.source!.enum as string[]), 'tiktok'] };
  // Each registered plugin documents its own shape; only those of the server's plugins are in its document.
  for (const name of ['HttpSourceMetadata', 'TikTokSourceMetadata', 'LoomSourceMetadata'].filter((n) => ourSchemas[n])) {
    schemas[`MediaIngest${name}`] = ourSchemas[name]!;
    (schemas.SourceMetadata!.oneOf as Json[]).push({ $ref: `#/components/schemas/MediaIngest${name}` });
  }
  return new SpecValidator(doc, 'cloudglue.json');
}
