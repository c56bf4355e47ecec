// A third-party source plugin for Vimeo watch pages (`https://vimeo.com/<id>`), a page host the URL policy refuses
// when no plugin takes it. It imports only the plugin API, as a plugin in its own package would.
import { IngestError } from '../../src/plugin-api.js';
import type { SourcePlugin } from '../../src/plugin-api.js';

const WATCH = /^\/(\d{3,12})\/?$/;

/** Vimeo through its (here: loopback stand-in) player config API. */
export function vimeo(): SourcePlugin {
  const idOf = (url: URL): string => {
    const id = WATCH.exec(url.pathname)?.[1];
    if (!id) throw new IngestError('invalid_url', `Not a Vimeo video link: ${url.origin}${url.pathname}`);
    return id;
  };
  const identity = (id: string) => ({ key: `vimeo:${id}`, canonicalUrl: `https://vimeo.com/${id}` });
  return {
    id: 'vimeo',
    description: 'Vimeo watch pages (test plugin)',
    urlForms: ['https://vimeo.com/<id>'],
    matches: (url) => ['vimeo.com', 'www.vimeo.com'].includes(url.hostname.toLowerCase()),
    identify: (url) => identity(idOf(url)),
    async resolve(url, ctx) {
      const id = idOf(url);
      const response = await ctx.http.request(`https://player.vimeo.com/video/${id}/config`, { signal: ctx.signal });
      if (response.status !== 200) {
        await response.dump();
        throw new IngestError('source_not_found', `Vimeo answered ${response.status} for video ${id}`);
      }
      const config = await response.json<{ title: string; progressive: Array<{ url: string }> }>(64 * 1024);
      return {
        identity: identity(id),
        download: { url: config.progressive[0]!.url },
        filename: `${config.title}.mp4`,
        sourceMetadata: { source_type: 'vimeo', video_id: id, title: config.title },
      };
    },
  };
}
