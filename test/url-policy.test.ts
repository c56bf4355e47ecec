import { describe, expect, it } from 'vitest';
import { IngestError, type ErrorCode } from '../src/errors.js';
import { URL_RULES, parseAndCheckUrl } from '../src/url/policy.js';
import { normalizeUrl } from '../src/url/normalize.js';

const options = { maxUrlLength: 8192 };

/** [url, expected code, text the message must contain (case-insensitive)] */
type Refusal = [url: string, code: ErrorCode, names: string];

const YT = 'add-media';
const youtube: Refusal[] = [
  ['https://www.youtube.com/watch?v=dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['https://youtube.com/watch?v=dQw4w9WgXcQ&t=42s', 'youtube_not_supported', YT],
  ['https://www.youtube.com/shorts/abcdefghijk', 'youtube_not_supported', YT],
  ['https://www.youtube.com/live/abcdefghijk', 'youtube_not_supported', YT],
  ['https://www.youtube.com/embed/abcdefghijk', 'youtube_not_supported', YT],
  ['https://www.youtube.com/v/abcdefghijk', 'youtube_not_supported', YT],
  ['https://www.youtube.com/playlist?list=PL1234567890', 'youtube_not_supported', YT],
  ['https://youtu.be/dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['https://youtu.be/dQw4w9WgXcQ?si=abc', 'youtube_not_supported', YT],
  ['https://m.youtube.com/watch?v=dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['https://music.youtube.com/watch?v=dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['https://youtube-nocookie.com/embed/dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['https://www.youtubekids.com/watch?v=dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['https://youtubekids.com/watch?v=dQw4w9WgXcQ', 'youtube_not_supported', YT],
  // Tricks: case, trailing dot, explicit port, full-width characters, surrounding whitespace.
  ['HTTPS://WWW.YouTube.COM/watch?v=dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['https://www.youtube.com./watch?v=dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['https://www.youtube.com../watch?v=dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['https://%79outu.be/dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['https://www.youtube.com:443/watch?v=dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['https://ｙｏｕｔｕｂｅ.com/watch?v=dQw4w9WgXcQ', 'youtube_not_supported', YT],
  ['  https://youtu.be/dQw4w9WgXcQ \n', 'youtube_not_supported', YT],
  ['http://youtube.com/', 'youtube_not_supported', YT],
];

const connectors: Refusal[] = [
  ['s3://my-bucket/videos/a.mp4', 'connector_required', 'Amazon S3'],
  ['gs://my-bucket/videos/a.mp4', 'connector_required', 'Google Cloud Storage'],
  ['gdrive://1AbCdEfGh', 'connector_required', 'Google Drive'],
  ['dropbox://Apps/video.mp4', 'connector_required', 'Dropbox'],
  ['zoom://meeting/123', 'connector_required', 'Zoom'],
  ['gong://call/123', 'connector_required', 'Gong'],
  ['grain://recording/123', 'connector_required', 'Grain'],
  ['recall://bot/123', 'connector_required', 'Recall'],
  ['iconik://asset/123', 'connector_required', 'iconik'],
  ['S3://my-bucket/a.mp4', 'connector_required', 'Amazon S3'],
  ['https://drive.google.com/file/d/1AbCdEfGhIjKlMn/view?usp=sharing', 'connector_required', 'Google Drive'],
  ['https://drive.google.com/open?id=1AbCdEfGhIjKlMn', 'connector_required', 'Google Drive'],
  ['https://docs.google.com/file/d/1AbCdEfGhIjKlMn/edit', 'connector_required', 'Google Drive'],
  ['https://us02web.zoom.us/rec/share/AbCdEf.123', 'connector_required', 'Zoom'],
  ['https://zoom.us/rec/play/AbCdEf', 'connector_required', 'Zoom'],
  ['https://acme.zoom.us/rec/share/xyz?startTime=1', 'connector_required', 'Zoom'],
  ['https://zoom.us/clips/share/AbCdEf', 'connector_required', 'Zoom'],
  ['https://app.gong.io/call?id=1234567890', 'connector_required', 'Gong'],
  ['https://us-12345.app.gong.io/call?id=1234567890', 'connector_required', 'Gong'],
  ['https://grain.com/share/recording/abc/def', 'connector_required', 'Grain'],
  ['https://grain.co/share/recording/abc/def', 'connector_required', 'Grain'],
  ['https://grain.com/recordings/abc', 'connector_required', 'Grain'],
  ['https://us-east-1.recall.ai/api/v1/bot/123', 'connector_required', 'Recall'],
  ['https://api.recall.ai/api/v1/bot/123', 'connector_required', 'Recall'],
  ['https://app.iconik.io/share/assets/abc-123', 'connector_required', 'iconik'],
  ['https://DRIVE.GOOGLE.COM./file/d/1AbC/view', 'connector_required', 'Google Drive'],
];

const DIRECT = 'direct download';
const pageHosts: Refusal[] = [
  ['https://vimeo.com/123456789', 'unsupported_page_host', 'vimeo.com'],
  ['https://www.vimeo.com/123456789/abcdef1234', 'unsupported_page_host', 'Vimeo'],
  ['https://vimeo.com/showcase/1234567', 'unsupported_page_host', 'Vimeo'],
  ['https://vimeo.com/channels/staffpicks/123456', 'unsupported_page_host', 'Vimeo'],
  ['https://player.vimeo.com/video/123456789?h=abc', 'unsupported_page_host', 'player.vimeo.com'],
  ['https://app.box.com/s/abcdef123456', 'unsupported_page_host', 'Box'],
  ['https://box.com/s/abcdef123456', 'unsupported_page_host', 'box.com'],
  ['https://acme.app.box.com/s/abcdef123456', 'unsupported_page_host', 'acme.app.box.com'],
  ['https://app.box.com/v/my-video', 'unsupported_page_host', 'Box'],
  ['https://1drv.ms/v/s!AbCdEf', 'unsupported_page_host', '1drv.ms'],
  ['https://onedrive.live.com/?cid=ABC&id=ABC!123', 'unsupported_page_host', 'OneDrive'],
  ['https://onedrive.live.com/embed?cid=ABC&resid=ABC!123', 'unsupported_page_host', 'onedrive.live.com'],
  ['https://acme-my.sharepoint.com/:v:/g/personal/u/AbCd', 'unsupported_page_host', 'SharePoint'],
  ['https://www.dailymotion.com/video/x8abcde', 'unsupported_page_host', 'Dailymotion'],
  ['https://dai.ly/x8abcde', 'unsupported_page_host', 'Dailymotion'],
  ['https://www.facebook.com/someone/videos/1234567890/', 'unsupported_page_host', 'Facebook'],
  ['https://www.facebook.com/watch/?v=1234567890', 'unsupported_page_host', 'Facebook'],
  ['https://fb.watch/abcDEF/', 'unsupported_page_host', 'Facebook'],
  ['https://www.instagram.com/p/AbCdEf/', 'unsupported_page_host', 'Instagram'],
  ['https://www.instagram.com/reel/AbCdEf/', 'unsupported_page_host', 'Instagram'],
  ['https://x.com/someone/status/1234567890123456789', 'unsupported_page_host', 'x.com'],
  ['https://twitter.com/someone/status/1234567890123456789', 'unsupported_page_host', 'Twitter'],
  ['https://www.twitch.tv/videos/123456789', 'unsupported_page_host', 'Twitch'],
  ['https://clips.twitch.tv/FunnyClip', 'unsupported_page_host', 'Twitch'],
  ['https://streamable.com/abc12', 'unsupported_page_host', 'Streamable'],
  ['https://VIMEO.com./123456789', 'unsupported_page_host', 'vimeo.com'],
];

const schemes: Refusal[] = [
  ['file:///etc/passwd', 'unsupported_scheme', 'file:'],
  ['FILE:///C:/video.mp4', 'unsupported_scheme', 'file:'],
  ['ftp://ftp.example.com/video.mp4', 'unsupported_scheme', 'ftp:'],
  ['data:video/mp4;base64,AAAA', 'unsupported_scheme', 'data:'],
  ['javascript:alert(1)', 'unsupported_scheme', 'javascript:'],
  ['blob:https://example.com/uuid', 'unsupported_scheme', 'blob:'],
  ['ws://example.com/socket', 'unsupported_scheme', 'ws:'],
  ['mailto:someone@example.com', 'unsupported_scheme', 'mailto:'],
];

const invalid: Refusal[] = [
  ['https://user:pass@example.com/video.mp4', 'invalid_url', 'credentials'],
  ['https://user@example.com/video.mp4', 'invalid_url', 'credentials'],
  ['https://:secret@example.com/video.mp4', 'invalid_url', 'credentials'],
  [`https://example.com/${'a'.repeat(8200)}.mp4`, 'invalid_url', 'limit is 8192'],
  ['not a url', 'invalid_url', 'not a valid'],
  ['http://', 'invalid_url', 'not a valid'],
  ['https://', 'invalid_url', 'not a valid'],
  ['', 'invalid_url', 'empty'],
  ['   \t\n ', 'invalid_url', 'empty'],
  ['/relative/path.mp4', 'invalid_url', 'not a valid'],
  ['example.com/video.mp4', 'invalid_url', 'not a valid'],
  ['https://exa mple.com/a.mp4', 'invalid_url', 'not a valid'],
  ['http://[::1/a.mp4', 'invalid_url', 'not a valid'],
];

const mustPass: string[] = [
  'https://example.com/video.mp4',
  'http://example.com/audio.mp3',
  'https://cdn.example.com/path/to/clip.webm?token=abc&expires=123',
  'https://my-bucket.s3.amazonaws.com/a.mp4?X-Amz-Signature=abc&X-Amz-Expires=60',
  'https://www.dropbox.com/scl/fi/abc123/video.mp4?rlkey=xyz&dl=0',
  'https://www.dropbox.com/s/abc123/video.mp4?dl=0',
  'https://www.dropbox.com/scl/fo/abc123/def?rlkey=xyz', // folders are refused by the Dropbox plugin
  'https://www.tiktok.com/@u/video/1234567890123456789',
  'https://vm.tiktok.com/ZMabcdefg/',
  'https://www.loom.com/share/0123456789abcdef0123456789abcdef',
  'https://www.loom.com/share/folder/0123456789abcdef0123456789abcdef', // refused by the Loom plugin
  'https://vod-progressive.akamaized.net/exp=1~acl=%2Fvimeo~hmac=abc/vimeo-prod/123.mp4',
  'https://vod-progressive-ak.vimeocdn.com/exp=1/123/file.mp4',
  'https://player.vimeo.com/external/123456789.hd.mp4?s=abc&profile_id=175',
  'https://public.boxcloud.com/d/1/abc/download',
  'https://app.box.com/shared/static/abcdef.mp4',
  'https://onedrive.live.com/download?cid=ABC&resid=ABC!123&authkey=xyz',
  'https://drive.google.com/uc?export=download&id=1AbC',
  'https://video.twimg.com/ext_tw_video/1/pu/vid/720x1280/a.mp4',
  'https://scontent.xx.fbcdn.net/v/t42/video.mp4',
  'https://ssrweb.zoom.us/replay/2024/file.mp4', // not a /rec/ page
  'https://notyoutube.com/video.mp4',
  'https://youtube.com.evil.example/video.mp4',
  'https://vimeo.com.example.org/123',
  'https://gong.io/blog/video.mp4',
  'http://1.2.3.4/a.mp4',
  'http://[2001:db8::1]:8080/a.mp4',
  'https://example.com:8443/a.mp4',
  '  https://example.com/trimmed.mp4  ',
];

function refusalOf(url: string): IngestError {
  try {
    parseAndCheckUrl(url, options);
  } catch (err) {
    expect(err).toBeInstanceOf(IngestError);
    return err as IngestError;
  }
  throw new Error(`expected ${JSON.stringify(url)} to be refused`);
}

const label = (url: string): string => (url.length > 80 ? `${url.slice(0, 77)}...` : JSON.stringify(url));

describe('parseAndCheckUrl refusals', () => {
  const all = [...youtube, ...connectors, ...pageHosts, ...schemes, ...invalid];
  it.each(all.map(([url, code, names]) => [label(url), url, code, names] as const))(
    '%s → %s',
    (_label, url, code, names) => {
      const err = refusalOf(url);
      expect(err.code).toBe(code);
      expect(err.httpStatus).toBe(400);
      expect(err.message.toLowerCase()).toContain(names.toLowerCase());
    },
  );

  it('connector messages tell to use the data connector', () => {
    for (const [url] of connectors) expect(refusalOf(url).message).toMatch(/use the .+ data connector/);
  });

  it('page-host messages say direct download URLs still work', () => {
    for (const [url] of pageHosts) expect(refusalOf(url).message.toLowerCase()).toContain(DIRECT);
  });

  it('never echoes the password of a credentialed URL', () => {
    expect(refusalOf('https://alice:hunter2@example.com/a.mp4').message).not.toContain('hunter2');
  });

  it('respects the configured length limit', () => {
    const url = `https://example.com/${'a'.repeat(40)}.mp4`;
    expect(() => parseAndCheckUrl(url, { maxUrlLength: 200 })).not.toThrow();
    expect(() => parseAndCheckUrl(url, { maxUrlLength: 30 })).toThrow(/limit is 30/);
  });
});

describe('parseAndCheckUrl accepts', () => {
  it.each(mustPass.map((url) => [label(url), url] as const))('%s', (_label, url) => {
    const parsed = parseAndCheckUrl(url, options);
    expect(parsed).toBeInstanceOf(URL);
    expect(parsed.href).toBe(new URL(url.trim()).href);
  });
});

describe('URL_RULES', () => {
  it('has unique ids and well-formed rows', () => {
    const ids = URL_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of URL_RULES) {
      expect(typeof rule.match).toBe('function');
      expect(typeof rule.message).toBe('function');
    }
  });

  it('every rule is exercised by at least one refusal above', () => {
    const urls = [...youtube, ...connectors, ...pageHosts, ...schemes, ...invalid].map(([u]) => u.trim());
    for (const rule of URL_RULES) {
      const hit = urls.some((u) => URL.canParse(u) && rule.match(new URL(u)));
      expect(hit, `rule ${rule.id}`).toBe(true);
    }
  });
});

describe('normalizeUrl', () => {
  const norm = (u: string): string => normalizeUrl(new URL(u));

  const aliases: string[][] = [
    ['https://example.com/a/b.mp4', 'HTTPS://EXAMPLE.COM/a/b.mp4', 'https://Example.Com:443/a/b.mp4', 'https://example.com./a/b.mp4', 'https://example.com/a/b.mp4#t=10', 'https://example.com/a/b.mp4?', 'https://example.com/a/b.mp4?#frag'],
    ['http://example.com/x.mp4', 'http://example.com:80/x.mp4', 'HTTP://EXAMPLE.com.:80/x.mp4#'],
    ['https://example.com/~user/v.mp4', 'https://example.com/%7euser/v.mp4', 'https://example.com/%7Euser/v.mp4'],
    ['https://example.com/A.mp4', 'https://example.com/%41.mp4', 'https://example.com/%41%2e%6d%70%34'],
    ['https://example.com/a%2Fb.mp4', 'https://example.com/a%2fb.mp4'],
    ['https://example.com/v.mp4?q=a%2Fb&x=~', 'https://example.com/v.mp4?q=a%2fb&x=%7E'],
    ['https://example.com', 'https://example.com/', 'https://example.com:443'],
    ['https://example.com/b', 'https://example.com/a/../b', 'https://example.com/./b'],
  ];
  it.each(aliases.map((group) => [group[0]!, group] as const))('aliases of %s collapse', (_first, group) => {
    const expected = norm(group[0]!);
    for (const u of group) expect(norm(u), u).toBe(expected);
  });

  it('produces the canonical form', () => {
    expect(norm('HTTPS://Example.COM.:443/%7euser/%2fx.mp4?b=2&a=%2f#frag')).toBe('https://example.com/~user/%2Fx.mp4?b=2&a=%2F');
    expect(norm('https://example.com:8443/a')).toBe('https://example.com:8443/a');
  });

  const distinct: string[] = [
    'https://example.com/a.mp4',
    'https://example.com/A.mp4',
    'https://example.com/a.mp4/',
    'https://example.com/b.mp4',
    'https://example.com/a.mp4?x=1',
    'https://example.com/a.mp4?x=2',
    'https://example.com/a.mp4?x=1&y=2',
    'https://example.com/a.mp4?y=2&x=1',
    'https://example.com/a.mp4?x=a%2Fb',
    'https://example.com/a.mp4?x=a/b',
    'https://example.com/a.mp4?x=a+b',
    'https://example.com/a.mp4?x=a%2Bb',
    'http://example.com/a.mp4',
    'https://example.com:8443/a.mp4',
    'https://www.example.com/a.mp4',
  ];
  it('keeps different paths, queries, schemes, ports and hosts apart', () => {
    const seen = new Map<string, string>();
    for (const u of distinct) {
      const n = norm(u);
      expect(seen.get(n), `${u} collides with ${seen.get(n)}`).toBeUndefined();
      seen.set(n, u);
    }
  });

  it('is idempotent and pure', () => {
    for (const u of [...aliases.flat(), ...distinct]) {
      const parsed = new URL(u);
      const before = parsed.href;
      const once = normalizeUrl(parsed);
      expect(parsed.href).toBe(before);
      expect(normalizeUrl(new URL(once))).toBe(once);
    }
  });
});
