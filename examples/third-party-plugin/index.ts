/**
 * A third-party source plugin, kept outside `plugins/` to show that adding a source needs no change to media-ingest
 * itself: a folder with this file, and one line in a `pipeline.config.ts` (see ./pipeline.config.ts).
 *
 * It handles the invented "Example VOD" service: watch pages `https://vod.example.test/watch/<id>` (and
 * `/embed/<id>`) resolve through a small JSON API (`GET https://vod-api.example.test/v1/videos/<id>`) to a
 * progressive MP4/WebM file on its CDN. Fixtures: test/fixtures/ (beside its contract case and stand-in site in test/).
 *
 * Plugins import only the published plugin API. In this repository that is the relative path below; a plugin in
 * its own package writes `import { IngestError } from 'media-ingest/plugin';` (and the same for the types).
 */
import { IngestError, errorForStatus } from '../../src/plugin-api.js';
import type { HttpResponse, ResolveContext, ResolvedSource, SourceIdentity, SourcePlugin } from '../../src/plugin-api.js';

/** Options of {@link exampleVod}. */
export interface ExampleVodOptions {
  /**
   * Origin of the service's JSON API.
   * @default 'https://vod-api.example.test'
   */
  apiOrigin?: string;
}

/** What the API says about a video (only the fields used here). */
interface VideoAnswer {
  id?: string;
  title?: string;
  channel?: { id?: string; name?: string };
  published_at?: string;
  duration?: number;
  visibility?: 'public' | 'unlisted' | 'private';
  status?: 'ready' | 'processing' | 'failed';
  renditions?: Array<{ kind?: string; container?: string; height?: number; url?: string }>;
}

const WATCH_HOSTS = new Set(['vod.example.test', 'www.vod.example.test']);
const VIDEO_PATH = /^\/(?:watch|embed)\/([A-Za-z0-9_-]{3,64})\/?$/;
const API_BODY_LIMIT = 256 * 1024;

function videoId(url: URL): string {
  const id = VIDEO_PATH.exec(url.pathname)?.[1];
  if (!id) throw new IngestError('invalid_url', `Not an Example VOD video link: ${url.origin}${url.pathname} (expected /watch/<id>)`);
  return id;
}

function identity(id: string): SourceIdentity {
  return { key: `example-vod:${id}`, canonicalUrl: `https://vod.example.test/watch/${id}` };
}

/** Maps a non-2xx API answer to the engine's codes (the plugin kit's mapping, with Retry-After honoured). */
function apiError(response: HttpResponse, id: string): IngestError {
  return errorForStatus(response.status, { what: `Example VOD API for video ${id}`, retryAfter: response.header('retry-after') });
}

/** The best progressive rendition (tallest MP4/WebM over https); manifests are never handed on. */
function pickRendition(video: VideoAnswer, id: string): { url: string; container: string } {
  const progressive = (video.renditions ?? [])
    .filter((r) => r.kind === 'progressive' && (r.container === 'mp4' || r.container === 'webm') && r.url?.startsWith('https://'))
    .sort((a, b) => (b.height ?? 0) - (a.height ?? 0));
  const best = progressive[0];
  if (best?.url) return { url: best.url, container: best.container ?? 'mp4' };
  if ((video.renditions ?? []).some((r) => r.kind === 'hls')) {
    throw new IngestError('unsupported_media_type', `Example VOD video ${id} is only available as an HLS stream, which is not supported`);
  }
  throw new IngestError('unsupported_media_type', `Example VOD video ${id} has no downloadable file`);
}

/** Creates the Example VOD source plugin (id `example-vod`). */
export function exampleVod(options: ExampleVodOptions = {}): SourcePlugin {
  const apiOrigin = options.apiOrigin ?? 'https://vod-api.example.test';
  return {
    id: 'example-vod',
    description: 'Example VOD videos (an invented service: the third-party plugin example)',
    urlForms: ['https://vod.example.test/watch/<id>', 'https://vod.example.test/embed/<id>  (also www.vod.example.test)'],

    matches(url: URL): boolean {
      return (url.protocol === 'https:' || url.protocol === 'http:') && WATCH_HOSTS.has(url.hostname.toLowerCase().replace(/\.$/, ''));
    },

    identify(url: URL): SourceIdentity {
      return identity(videoId(url));
    },

    async resolve(url: URL, ctx: ResolveContext): Promise<ResolvedSource> {
      const id = videoId(url);
      const response = await ctx.http.request(`${apiOrigin}/v1/videos/${encodeURIComponent(id)}`, {
        headers: { Accept: 'application/json', 'User-Agent': ctx.userAgent },
        signal: ctx.signal,
        maxBytes: API_BODY_LIMIT,
      });
      if (response.status < 200 || response.status >= 300) {
        await response.dump();
        throw apiError(response, id);
      }
      const video = await response.json<VideoAnswer>(API_BODY_LIMIT);
      if (video.visibility === 'private') throw new IngestError('source_forbidden', `Example VOD video ${id} is private`);
      if (video.status === 'processing') {
        throw new IngestError('upstream_error', `Example VOD video ${id} is still processing; try again later`, { retryable: true });
      }
      const rendition = pickRendition(video, id);
      ctx.logger.debug({ plugin: 'example-vod', id }, 'resolved Example VOD video');
      return {
        identity: identity(id),
        download: { url: rendition.url, method: 'GET', headers: { 'User-Agent': ctx.userAgent } },
        filename: `${(video.title ?? id).replace(/[\u0000-\u001f/\\]+/g, ' ').trim() || id}.${rendition.container}`,
        sourceMetadata: {
          source_type: 'example-vod',
          video_id: id,
          title: video.title ?? null,
          channel: video.channel?.name ?? null,
          published_at: video.published_at ?? null,
          duration_seconds: typeof video.duration === 'number' ? video.duration : null,
        },
      };
    },
  };
}

export default exampleVod;
