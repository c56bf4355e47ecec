/**
 * The Dropbox source plugin: public shared-file links (`/scl/fi/`, legacy `/s/`, embed `/e/scl/fi/`).
 * Resolution is offline: the direct-download URL is the share URL with `dl=1`, and the engine's guarded client
 * follows Dropbox's redirects to `*.dl.dropboxusercontent.com`. What comes back is checked by
 * {@link SourcePlugin.checkResponse}, because Dropbox answers a login-gated link with a 200 HTML login page.
 */
import type { HttpResponse, ResolveContext, ResolvedSource, SourceIdentity, SourcePlugin } from '../../src/plugin-api.js';
import { dropboxPageError, dropboxSourceMetadata } from './adapter.js';
import {
  dropboxDownloadUrl,
  dropboxFilename,
  dropboxIdentity,
  isDropboxHost,
  parseDropboxFileUrl,
} from './urls.js';

export type { DropboxSourceMetadata, DropboxPageKind, DropboxResponseFacts } from './adapter.js';
export { classifyDropboxPage, dropboxPageError, dropboxSourceMetadata, isHtmlBody } from './adapter.js';
export type { DropboxFileLink, DropboxLink } from './urls.js';
export {
  dropboxCanonicalUrl,
  dropboxDownloadUrl,
  dropboxFilename,
  dropboxIdentity,
  dropboxIdentityKey,
  parseDropboxFileUrl,
  parseDropboxUrl,
} from './urls.js';
import { SOURCE_METADATA_SCHEMA } from './schema.js';

/** URL forms listed by `media-ingest plugins`. */
const URL_FORMS = [
  'https://www.dropbox.com/scl/fi/<id>/<name>?rlkey=<key>[&dl=0|1][&st=<st>][&raw=1]  (also dropbox.com; downloaded with dl=1)',
  'https://www.dropbox.com/e/scl/fi/<id>/<name>?rlkey=<key>  (embed form)',
  'https://www.dropbox.com/s/<key>/<name>[?dl=0]  (legacy)',
  'https://www.dropbox.com/scl/fo/..., https://www.dropbox.com/sh/...  (folders: refused with folder_not_supported)',
] as const;

/**
 * Creates the Dropbox source plugin (id `dropbox`).
 *
 * It matches every `www.dropbox.com`/`dropbox.com` URL so that folder links (`/scl/fo/`, `/sh/`) get a clear
 * `folder_not_supported` and other Dropbox pages an `invalid_url`, rather than being fetched as plain HTTP.
 * Identity: `dropbox:scl:<id>:<rlkey>` or `dropbox:s:<key>`; `dl`, `st`, `raw` and tracking parameters never
 * change it.
 */
export function dropbox(): SourcePlugin {
  return {
    id: 'dropbox',
    sourceMetadataSchema: SOURCE_METADATA_SCHEMA,
    description: 'Dropbox shared-file links (single files; folders are refused)',
    urlForms: URL_FORMS,

    matches(url: URL): boolean {
      return isDropboxHost(url);
    },

    identify(url: URL): SourceIdentity {
      return dropboxIdentity(parseDropboxFileUrl(url));
    },

    async resolve(url: URL, ctx: ResolveContext): Promise<ResolvedSource> {
      const link = parseDropboxFileUrl(url);
      const identity = dropboxIdentity(link);
      const download = dropboxDownloadUrl(url, link);
      ctx.logger.debug({ plugin: 'dropbox', key: identity.key }, 'resolved Dropbox share link to its dl=1 URL');
      const resolved: ResolvedSource = {
        identity,
        // The jar only carries whatever Dropbox sets on its redirect hops; the link itself needs no cookies.
        download: { url: download, method: 'GET', headers: { 'User-Agent': ctx.userAgent }, cookieJar: ctx.cookies },
        sourceMetadata: { ...dropboxSourceMetadata(link, identity.canonicalUrl) },
      };
      const filename = dropboxFilename(link);
      if (filename !== undefined) resolved.filename = filename;
      return resolved;
    },

    checkResponse(response: HttpResponse, firstBytes: Buffer): void {
      const error = dropboxPageError(
        { url: response.url, status: response.status, redirects: response.redirects, contentType: response.header('content-type') },
        firstBytes,
      );
      if (error) throw error;
    },
  };
}

export default dropbox;
