/**
 * Component schemas of this server's OpenAPI 3.0 document. They start from the Cloudglue Files API subset
 * (`File`, `FileList`, `Thumbnail`, `ThumbnailList`, `FileSegment`, `FileSegmentListResponse`, `FileDelete`,
 * `FileUpdate`, `Error`) and add media-ingest's documented extras. Every response we send satisfies both these
 * schemas and Cloudglue's (with `tiktok` in `File.source` and our `source_metadata` variants as the only departures).
 */
import { ERROR_CODES } from '../errors.js';
import { FILE_STATUSES } from '../ports/file-records.js';

type Schema = Record<string, unknown>;

const nullable = (type: string, description?: string, extra: Schema = {}): Schema => ({
  type, nullable: true, ...(description ? { description } : {}), ...extra,
});
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

const mediaInfo: Schema = {
  type: 'object',
  description: 'Unified media information for video and audio files (nulls where not applicable)',
  properties: {
    duration_seconds: nullable('number', 'Duration in seconds'),
    width: nullable('integer', 'Width in pixels (null for audio files)'),
    height: nullable('integer', 'Height in pixels (null for audio files)'),
    sample_rate: nullable('integer', 'Audio sample rate in Hz'),
    channels: nullable('integer', 'Number of audio channels'),
    bitrate: nullable('integer', 'Bitrate in bps'),
    format: nullable('string', 'Container format'),
    has_audio: nullable('boolean', 'Whether the file has audio'),
  },
};

const videoInfo: Schema = {
  type: 'object',
  description: 'Legacy subset of media_info, for video files',
  properties: {
    duration_seconds: nullable('number'),
    height: nullable('integer'),
    width: nullable('integer'),
    format: nullable('string'),
    has_audio: nullable('boolean'),
  },
};

/** A source plugin as the OpenAPI document sees it: its id (the `source_type`) and its declared schema. */
export interface DocumentedSource {
  id: string;
  sourceMetadataSchema?: Record<string, unknown>;
}

/**
 * `SourceMetadata`, discriminated by `source_type`: one component per plugin that declares its schema (named by the
 * schema's `title`), and `PluginSourceMetadata` for every other source (free-form besides `source_type`).
 */
function sourceMetadataSchemas(sources: readonly DocumentedSource[]): Record<string, Schema> {
  const declared = sources.filter((s) => s.sourceMetadataSchema);
  const nameOf = (s: DocumentedSource): string => String(s.sourceMetadataSchema!.title ?? `${s.id}SourceMetadata`);
  return {
    SourceMetadata: {
      description:
        'Provenance captured when the file was synced, discriminated by source_type. Source plugins declare their ' +
        'own shape; a plugin that does not is documented as PluginSourceMetadata.',
      oneOf: [...declared.map(nameOf), 'PluginSourceMetadata'].map(ref),
      discriminator: {
        propertyName: 'source_type',
        mapping: Object.fromEntries(declared.map((s) => [s.id, `#/components/schemas/${nameOf(s)}`])),
      },
    },
    ...Object.fromEntries(declared.map((s) => [nameOf(s), s.sourceMetadataSchema!])),
    PluginSourceMetadata: {
      type: 'object',
      description: 'Provenance from a source plugin that declares no schema (free-form besides source_type).',
      required: ['source_type'],
      properties: { source_type: { type: 'string', ...(declared.length ? { not: { enum: declared.map((s) => s.id) } } : {}) } },
      additionalProperties: true,
    },
  };
}

const listOf = (item: string, description: string): Schema => ({
  type: 'object',
  required: ['object', 'data', 'total', 'limit', 'offset'],
  properties: {
    object: { type: 'string', enum: ['list'] },
    data: { type: 'array', items: ref(item), description },
    total: { type: 'integer', description: 'Total number of items matching the query' },
    limit: { type: 'integer', description: 'Page size used' },
    offset: { type: 'integer', description: 'Offset from the start of the list' },
  },
});

/** `components.schemas` of the document, with the `source_metadata` shapes the given plugins declare. */
export function componentSchemas(sources: readonly DocumentedSource[]): Record<string, Schema> {
  return {
    ...COMPONENT_SCHEMAS,
    ...sourceMetadataSchemas(sources),
  };
}

const COMPONENT_SCHEMAS: Record<string, Schema> = {
  ErrorCode: { type: 'string', enum: Object.keys(ERROR_CODES), description: 'Stable error code' },
  Error: {
    type: 'object',
    required: ['error', 'code'],
    properties: { error: { type: 'string', description: 'Human-readable message' }, code: ref('ErrorCode') },
  },
  FileStatus: { type: 'string', enum: [...FILE_STATUSES] },
  File: {
    type: 'object',
    required: ['id', 'uri', 'status', 'bytes', 'created_at', 'updated_at', 'filename', 'metadata', 'source', 'source_metadata', 'url', 'canonical_url', 'content_sha256'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      status: ref('FileStatus'),
      bytes: nullable('integer', 'Size in bytes, null until downloaded'),
      created_at: { type: 'integer', description: 'Unix time in milliseconds' },
      filename: { type: 'string' },
      uri: { type: 'string', description: '<uriPrefix><id>, default media-ingest://files/<id>' },
      metadata: nullable('object', 'User metadata, null if none', { additionalProperties: true }),
      media_type: { type: 'string', enum: ['video', 'audio'] },
      media_info: mediaInfo,
      video_info: videoInfo,
      thumbnail_url: { type: 'string', description: 'The default thumbnail (absent for audio, or until made)' },
      source: { type: 'string', description: 'Source plugin id: http, dropbox, tiktok, loom, or a plugin of your own' },
      source_metadata: { allOf: [ref('SourceMetadata')], nullable: true },
      url: { type: 'string', description: 'The URL as first submitted' },
      canonical_url: { type: 'string', description: 'The canonical URL of the source identity' },
      content_sha256: nullable('string', 'SHA-256 of the stored bytes (hex)', { pattern: '^[0-9a-f]{64}$' }),
      updated_at: { type: 'integer', description: 'Unix time in milliseconds' },
      error: {
        type: 'object',
        description: 'Why the file failed (status failed only)',
        required: ['code', 'message'],
        properties: { code: ref('ErrorCode'), message: { type: 'string' } },
      },
      progress: {
        type: 'object',
        description: 'Download progress (status pending/processing only)',
        required: ['bytes_received', 'bytes_total'],
        properties: {
          stage: { type: 'string', enum: ['resolving', 'downloading', 'probing', 'thumbnails'], description: 'What the run is doing' },
          bytes_received: { type: 'integer' },
          bytes_total: nullable('integer', 'Null when the size is unknown'),
        },
      },
    },
  },
  FileList: listOf('File', 'Files'),
  FileDelete: {
    type: 'object',
    required: ['id', 'object'],
    properties: { id: { type: 'string' }, object: { type: 'string', enum: ['file'] } },
  },
  FileUpdate: {
    type: 'object',
    properties: {
      metadata: nullable('object', 'Replaces the metadata (null clears it)', { additionalProperties: true }),
      filename: { type: 'string', minLength: 1, maxLength: 255 },
    },
  },
  FileSync: {
    type: 'object',
    required: ['url'],
    properties: {
      url: { type: 'string', description: 'Direct http(s) media URL, Dropbox file link, TikTok video or Loom share', example: 'https://example.com/video.mp4' },
      metadata: nullable('object', 'Stored with a new file; ignored when the URL was synced before', { additionalProperties: true }),
      enable_segment_thumbnails: { type: 'boolean', default: true },
    },
  },
  ThumbnailType: { type: 'string', description: "'file' or 'segment' (comma-separated for several)" },
  Thumbnail: {
    type: 'object',
    required: ['id', 'url', 'time', 'type', 'is_default', 'width', 'height'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      url: { type: 'string', description: 'Image URL (served by this API, bearer auth)' },
      time: { type: 'number', description: 'Seconds from the start of the media' },
      type: { type: 'string', enum: ['file', 'segment'] },
      segment_id: { type: 'string', format: 'uuid' },
      is_default: { type: 'boolean' },
      width: { type: 'integer' },
      height: { type: 'integer' },
    },
  },
  ThumbnailList: listOf('Thumbnail', 'Thumbnails'),
  FileSegment: {
    type: 'object',
    required: ['id', 'file_id', 'start_time', 'end_time', 'thumbnail_url', 'index'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      file_id: { type: 'string', format: 'uuid' },
      start_time: { type: 'number' },
      end_time: { type: 'number' },
      thumbnail_url: { type: 'string', description: 'Empty when the segment has no thumbnail' },
      index: { type: 'integer', minimum: 0, description: 'Position of the segment, from 0' },
    },
  },
  FileSegmentListResponse: listOf('FileSegment', 'Segments'),
  Health: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } },
};
