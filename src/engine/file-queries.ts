import type { IngestConfig } from '../config/define-config.js';
import { IngestError } from '../errors.js';
import type { BlobStore, OpenedObject } from '../ports/blob-store.js';
import type { FileRow, Registry, ThumbnailRow } from '../ports/registry.js';
import { toFileView, toSegmentView, toThumbnailView } from './file-view.js';
import type { IngestFile, IngestSegment, IngestThumbnail, ViewOptions } from './file-view.js';
import { validateListQuery, validatePage } from './validate.js';
import type { ListQueryInput, PageInput, ThumbnailQueryInput } from './validate.js';

/** The part of the Registry port the read side uses. */
export type RegistryReads = Pick<Registry, 'getFile' | 'listFiles' | 'thumbnails' | 'segments' | 'defaultThumbnail' | 'defaultThumbnailOf'>;

/** A Cloudglue-style list page. */
export interface ListPage<T> {
  object: 'list';
  data: T[];
  total: number;
  limit: number;
  offset: number;
}

/** How a caller wants URLs in views: a server passes its request's origin (and mount prefix). */
export interface ViewContext {
  /** Base of thumbnail URLs. @default config.publicBaseUrl ('' gives `/v1/files/...` paths) */
  baseUrl?: string;
}

/** A thumbnail image opened for a server to send. */
export interface ThumbnailImage extends OpenedObject {
  format: 'jpg' | 'webp';
}

/**
 * Rows of the registry as Cloudglue-shaped views (also the payload of events). Plain (no DI decorators): the
 * container binds it by factory, and the CLI's read commands build one without the container.
 */
export class FileViews {
  readonly options: ViewOptions;

  constructor(
    config: Pick<IngestConfig, 'uriPrefix' | 'publicBaseUrl'>,
    private readonly registry: RegistryReads,
  ) {
    this.options = { uriPrefix: config.uriPrefix, publicBaseUrl: config.publicBaseUrl };
  }

  /** The File view of a row (with its default thumbnail's URL for videos). */
  async file(row: FileRow, context: ViewContext = {}): Promise<IngestFile> {
    if (row.media_type !== 'video') return toFileView(row, this.with(context));
    const joined = this.registry.defaultThumbnailOf?.(row);
    const thumbnail = joined === undefined ? await this.defaultThumbnail(row.id) : joined ?? undefined;
    return toFileView(row, this.with(context), thumbnail);
  }

  private defaultThumbnail(fileId: string): Promise<ThumbnailRow | undefined> {
    const { registry } = this;
    return registry.defaultThumbnail ? registry.defaultThumbnail(fileId) : registry.thumbnails(fileId).then((all) => all.find((t) => t.is_default));
  }

  /** The view options for a caller: its base URL, when it gives one, else the configured one. */
  with(context: ViewContext): ViewOptions {
    return context.baseUrl === undefined ? this.options : { ...this.options, publicBaseUrl: context.baseUrl };
  }
}

/**
 * The read side of the engine: validated queries and pagination over the registry. Needs only the Registry port, so
 * the CLI's read commands use it over a registry opened read-only, without the engine.
 */
export class FileQueries {
  constructor(
    private readonly registry: RegistryReads,
    private readonly views: FileViews,
  ) {}

  /** The row of a file, or `not_found`. */
  async requireRow(id: string): Promise<FileRow> {
    const row = typeof id === 'string' ? await this.registry.getFile(id) : undefined;
    if (!row) throw new IngestError('not_found', `No file with id ${String(id)}`);
    return row;
  }

  async get(id: string, context: ViewContext = {}): Promise<IngestFile> {
    return this.views.file(await this.requireRow(id), context);
  }

  async list(query: ListQueryInput = {}, context: ViewContext = {}): Promise<ListPage<IngestFile>> {
    const q = validateListQuery(query);
    const { rows, total } = await this.registry.listFiles(q);
    const data = await Promise.all(rows.map((r) => this.views.file(r, context)));
    return { object: 'list', data, total, limit: q.limit, offset: q.offset };
  }

  async thumbnails(id: string, query: ThumbnailQueryInput = {}, context: ViewContext = {}): Promise<ListPage<IngestThumbnail>> {
    await this.requireRow(id);
    const page = validatePage(query);
    const types = query.type ? String(query.type).split(',').map((t) => t.trim()) : undefined;
    let rows = await this.registry.thumbnails(id);
    if (types) rows = rows.filter((r) => types.includes(r.type));
    if (query.isDefault !== undefined) rows = rows.filter((r) => r.is_default === query.isDefault);
    const data = rows.slice(page.offset, page.offset + page.limit).map((r) => toThumbnailView(r, this.views.with(context)));
    return { object: 'list', data, total: rows.length, limit: page.limit, offset: page.offset };
  }

  async segments(id: string, query: PageInput = {}, context: ViewContext = {}): Promise<ListPage<IngestSegment>> {
    await this.requireRow(id);
    const page = validatePage(query);
    const rows = await this.registry.segments(id);
    const thumbs = new Map((await this.registry.thumbnails(id)).map((t) => [t.id, t]));
    const data = rows
      .slice(page.offset, page.offset + page.limit)
      .map((s) => toSegmentView(s, s.thumbnail_id ? thumbs.get(s.thumbnail_id) : undefined, this.views.with(context)));
    return { object: 'list', data, total: rows.length, limit: page.limit, offset: page.offset };
  }
}

/** A thumbnail image, opened from the blob store (`not_found` when the row or its object is missing). */
export async function openThumbnailImage(registry: Registry, blobs: BlobStore, fileId: string, thumbnailId: string): Promise<ThumbnailImage> {
  const row = await registry.thumbnail(fileId, thumbnailId);
  const missing = (): IngestError => new IngestError('not_found', `No thumbnail ${thumbnailId} for file ${fileId}`);
  if (!row) throw missing();
  const opened = await blobs.openThumbnail(row.path).catch(() => {
    throw missing();
  });
  return { ...opened, format: row.path.endsWith('.webp') ? 'webp' : 'jpg' };
}
