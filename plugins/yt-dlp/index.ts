/**
 * Opt-in source plugin for other sites yt-dlp can extract (never YouTube). Not registered by default: list it in
 * `pipeline.config.ts` with the hosts it may take, before the direct-http catch-all, e.g.
 * `ytDlpSites({ hosts: ['soundcloud.com'] })`. It needs the engine's yt-dlp runner (config `ytDlp`: enabled and
 * a binary configured or on PATH); yt-dlp only extracts, through the engine's guarded proxy, and the engine
 * downloads the single progressive file it reports (HLS/DASH-only sites are refused).
 *
 * Page hosts the engine's URL policy refuses upfront (Vimeo, Facebook, Instagram ...: `unsupported_page_host`)
 * never reach any plugin, this one included.
 */
import { IngestError, hostOf, titleFilename } from '../../src/plugin-api.js';
import type { ResolveContext, ResolvedSource, SourcePlugin } from '../../src/plugin-api.js';

/** Options of {@link ytDlpSites}. */
export interface YtDlpSitesOptions {
  /** Hosts handed to yt-dlp (each also covers its subdomains). Required: nothing is matched by default. */
  hosts: readonly string[];
}

const YOUTUBE = /(^|\.)(youtube\.com|youtube-nocookie\.com|youtubekids\.com|youtu\.be)$/;

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : typeof value === 'number' ? String(value) : null;
}

function seconds(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

/**
 * Creates the opt-in yt-dlp plugin (id `yt-dlp`). Identity `yt-dlp:<extractor>:<video id>` as yt-dlp reports it,
 * so it is known only after extraction (like a short link), and two URLs of one video are one file.
 */
export function ytDlpSites(options: YtDlpSitesOptions): SourcePlugin {
  const hosts = options.hosts.map((h) => h.trim().toLowerCase().replace(/\.$/, '')).filter(Boolean);
  if (hosts.length === 0) throw new Error('ytDlpSites: list the hosts it may take (options.hosts)');
  const youtube = hosts.find((h) => YOUTUBE.test(h));
  if (youtube) throw new Error(`ytDlpSites: YouTube (${youtube}) is never handled here; add it to a collection via add-media`);
  return {
    id: 'yt-dlp',
    description: `Pages yt-dlp can extract on ${hosts.join(', ')} (opt-in; never YouTube)`,
    urlForms: hosts.map((h) => `https://${h}/<page>  (and its subdomains; any page yt-dlp extracts to one progressive file)`),

    matches(url: URL): boolean {
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
      const host = hostOf(url);
      return !YOUTUBE.test(host) && hosts.some((h) => host === h || host.endsWith(`.${h}`));
    },

    identify(): undefined {
      return undefined;
    },

    async resolve(url: URL, ctx: ResolveContext): Promise<ResolvedSource> {
      if (!ctx.ytDlp) {
        throw new IngestError('unsupported_page_host', `${hostOf(url)} pages need yt-dlp, which is not installed or is disabled (config ytDlp)`);
      }
      const { info, download, extractor } = await ctx.ytDlp.extract(url, { signal: ctx.signal });
      const id = text(info['id']);
      if (!id) throw new IngestError('upstream_error', `yt-dlp (${extractor}) reported no id for ${url.href}`, { retryable: false });
      const webpage = text(info['webpage_url']);
      const canonicalUrl = webpage && /^https?:\/\//i.test(webpage) ? webpage : url.href;
      const title = text(info['title']);
      return {
        identity: { key: `yt-dlp:${extractor.toLowerCase()}:${id}`, canonicalUrl },
        download,
        filename: titleFilename(title, id, text(info['ext'])),
        sourceMetadata: {
          source_type: 'yt-dlp',
          extractor,
          id,
          title,
          uploader: text(info['uploader']),
          duration_seconds: seconds(info['duration']),
          webpage_url: canonicalUrl,
        },
      };
    },
  };
}

export default ytDlpSites;
