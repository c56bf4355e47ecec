import path from 'node:path';
import { IngestError } from '../errors.js';
import type { ContentAddressedStore } from '../store/blob-store.js';
import type { Registry } from '../store/registry.js';
import type { FileRow } from '../store/rows.js';
import { toFileView, toSegmentView, toThumbnailView } from './file-view.js';
import type { IngestFile, IngestSegment, IngestThumbnail, ViewOptions } from './file-view.js';
import { validateListQuery, validatePage } from './validate.js';
import type { ListQueryInput, PageInput, ThumbnailQueryInput } from './validate.js';

/** A Cloudglue-style list page. */
export interface ListPage<T> {
  object: 'list';
  data: T[];
  total: number;
  limit: number;
  offset: number;
}

/** The read side of the engine: rows of the registry as Cloudglue-shaped views, validated queries, pagination. */
export class FileQueries {
  constructor(
    private readonly registry: Registry,
    private readonly store: ContentAddressedStore,
    private readonly view: ViewOptions,
  ) {}

  /** The row of a file, or `not_found`. */
  requireRow(id: string): FileRow {
    const row = typeof id === 'string' ? this.registry.getFile(id) : undefined;
    if (!row) throw new IngestError('not_found', `No file with id ${String(id)}`);
    return row;
  }

  /** The File view of a row (with its default thumbnail's URL for videos). */
  toView(row: FileRow): IngestFile {
    const thumbnail = row.media_type === 'video' ? this.registry.defaultThumbnail(row.id) : undefined;
    return toFileView(row, this.view, thumbnail);
  }

  get(id: string): IngestFile {
    return this.toView(this.requireRow(id));
  }

  list(query: ListQueryInput = {}): ListPage<IngestFile> {
    const q = validateListQuery(query);
    const { rows, total } = this.registry.listFiles(q);
    return { object: 'list', data: rows.map((r) => this.toView(r)), total, limit: q.limit, offset: q.offset };
  }

  thumbnails(id: string, query: ThumbnailQueryInput = {}): ListPage<IngestThumbnail> {
    this.requireRow(id);
    const page = validatePage(query);
    const types = query.type ? String(query.type).split(',').map((t) => t.trim()) : undefined;
    let rows = this.registry.thumbnails(id);
    if (types) rows = rows.filter((r) => types.includes(r.type));
    if (query.isDefault !== undefined) rows = rows.filter((r) => r.is_default === query.isDefault);
    const data = rows.slice(page.offset, page.offset + page.limit).map((r) => toThumbnailView(r, this.view));
    return { object: 'list', data, total: rows.length, limit: page.limit, offset: page.offset };
  }

  segments(id: string, query: PageInput = {}): ListPage<IngestSegment> {
    this.requireRow(id);
    const page = validatePage(query);
    const rows = this.registry.segments(id);
    const thumbs = new Map(this.registry.thumbnails(id).map((t) => [t.id, t]));
    const data = rows
      .slice(page.offset, page.offset + page.limit)
      .map((s) => toSegmentView(s, s.thumbnail_id ? thumbs.get(s.thumbnail_id) : undefined, this.view));
    return { object: 'list', data, total: rows.length, limit: page.limit, offset: page.offset };
  }

  /** Absolute path of a thumbnail image, for servers. */
  thumbnailImagePath(fileId: string, thumbnailId: string): string {
    const row = this.registry.thumbnail(fileId, thumbnailId);
    if (!row) throw new IngestError('not_found', `No thumbnail ${thumbnailId} for file ${fileId}`);
    return path.join(this.store.dataDir, row.path);
  }
}
