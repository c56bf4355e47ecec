/**
 * The Loom source plugin: public Loom videos (`loom.com/share/<id>`, `/embed/<id>`, with a title slug or `?sid=`).
 * `resolve` asks Loom's session API for a signed MP4/WebM URL (`transcoded-url`, then `raw-url`) and, best effort,
 * GraphQL/oEmbed for title, owner and dates. Streaming manifests (HLS/DASH) are refused, never passed on.
 */
import type { HttpResponse, ResolveContext, ResolvedSource, SourceIdentity, SourcePlugin } from '../../src/plugin-api.js';
import { loomBodyError } from './adapter.js';
import { resolveLoom } from './resolve.js';
import { isLoomHost, loomIdentity, parseLoomVideoId } from './urls.js';

export type { LoomAccess, LoomMediaUrlKind, LoomSourceMetadata, LoomUrlAnswer, LoomVideoMetadata } from './adapter.js';
export {
  GET_VIDEO_SSR_QUERY,
  LOOM_MEDIA_REQUEST_BODY,
  classifyLoomMediaUrl,
  decideLoomMedia,
  getVideoSsrBody,
  loomBodyError,
  loomFilename,
  loomSourceMetadata,
  parseGetVideoSsr,
  parseLoomOembed,
  parseLoomUrlAnswer,
} from './adapter.js';
import { SOURCE_METADATA_SCHEMA } from './schema.js';
export { fetchLoomMetadata, resolveLoom } from './resolve.js';
export type { LoomLink } from './urls.js';
export { loomCanonicalUrl, loomIdentity, loomMediaEndpoint, loomOembedUrl, parseLoomUrl, parseLoomVideoId } from './urls.js';

/** URL forms listed by `media-ingest plugins`. */
const URL_FORMS = [
  'https://www.loom.com/share/<id>[?sid=<uuid>]  (<id>: 32 hex characters; also loom.com)',
  'https://www.loom.com/share/<title-slug>-<id>',
  'https://www.loom.com/embed/<id>  (also with a title slug)',
  'https://www.loom.com/share/folder/<id>  (folders: refused with folder_not_supported)',
] as const;

/**
 * Creates the Loom source plugin (id `loom`). Identity `loom:<id>` (32 lowercase hex), canonical URL
 * `https://www.loom.com/share/<id>`. It matches every `loom.com` URL so that folder links get a clear
 * `folder_not_supported` and other Loom pages an `invalid_url`.
 */
export function loom(): SourcePlugin {
  return {
    id: 'loom',
    sourceMetadataSchema: SOURCE_METADATA_SCHEMA,
    description: 'Loom videos (share and embed links; folders are refused)',
    urlForms: URL_FORMS,

    matches(url: URL): boolean {
      return isLoomHost(url);
    },

    identify(url: URL): SourceIdentity {
      return loomIdentity(parseLoomVideoId(url));
    },

    async resolve(url: URL, ctx: ResolveContext): Promise<ResolvedSource> {
      return resolveLoom(parseLoomVideoId(url), ctx);
    },

    checkResponse(_response: HttpResponse, firstBytes: Buffer): void {
      const error = loomBodyError(firstBytes);
      if (error) throw error;
    },
  };
}

export default loom;
