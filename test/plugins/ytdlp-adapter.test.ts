// Pure parts of the yt-dlp fallback: mapping yt-dlp's JSON (both cookie forms), its failures, the YouTube refusal,
// the trust-store arguments, and the TikTok provenance read from yt-dlp's info.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tiktokMetadataFromYtDlp } from '../../plugins/tiktok/index.js';
import { findYtDlpBinary, isYouTubeExtractor, isYouTubeUrl, mediaFromYtDlpInfo, parseYtDlpJson, splitYtDlpCookies, ytDlpFailure, ytDlpTrust, makePrivateDir } from '../../src/ytdlp/index.js';
import { CERT_FILES, ensureCerts } from '../support/fixture-server.js';

const CDN = 'https://v16-webapp-prime.tiktok.com/video/tos/alisg/7309876543210987654/persisted-play.mp4?signature=pp';

/** The shape yt-dlp 2023.03.04 prints for a TikTok web-page extraction (trimmed). */
const OLD_TIKTOK_INFO = {
  id: '7309876543210987654', title: 'Harbour at dawn #archive', description: 'Harbour at dawn #archive', duration: 45,
  timestamp: 1690000000, uploader: 'archive.cam', uploader_id: '6800000000000000042', creator: null, view_count: 1234,
  track: 'Harbour sounds', thumbnail: 'https://v19.tiktokcdn.com/obj/persisted-cover.jpeg', width: 320, height: 240,
  extractor: 'TikTok', extractor_key: 'TikTok', webpage_url: 'https://www.tiktok.com/@archive.cam/video/7309876543210987654',
  url: CDN, ext: 'mp4', protocol: 'https', format_id: '0',
  http_headers: {
    'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/110', Accept: 'text/html', 'Accept-Language': 'en-us,en;q=0.5',
    'Sec-Fetch-Mode': 'navigate', Referer: 'https://www.tiktok.com/@archive.cam/video/7309876543210987654',
    Cookie: 'tt_chain_token=abc123; ttwid=1%7Cx', 'Accept-Encoding': 'gzip', Host: 'evil.example',
  },
};

describe('mediaFromYtDlpInfo', () => {
  it('reads the selected format, keeps request headers, and turns the old Cookie header into host cookies', () => {
    const media = mediaFromYtDlpInfo(OLD_TIKTOK_INFO);
    expect(media).toMatchObject({ url: CDN, protocol: 'https', ext: 'mp4', extractor: 'TikTok' });
    expect(media.headers).toEqual({
      'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/110', Accept: 'text/html', 'Accept-Language': 'en-us,en;q=0.5',
      'Sec-Fetch-Mode': 'navigate', Referer: 'https://www.tiktok.com/@archive.cam/video/7309876543210987654',
    });
    expect(media.setCookies).toEqual(['tt_chain_token=abc123; Path=/', 'ttwid=1%7Cx; Path=/']);
  });

  it('reads the newer `cookies` field with its domains, and prefers it to a Cookie header', () => {
    const info = {
      ...OLD_TIKTOK_INFO,
      http_headers: { Referer: 'https://www.tiktok.com/' },
      cookies: 'tt_chain_token=abc123; Domain=.tiktok.com; Path=/; Secure; Expires=1893456000; ttwid=1%7Cx; Domain=.tiktok.com; Path=/',
    };
    expect(mediaFromYtDlpInfo(info).setCookies).toEqual([
      'tt_chain_token=abc123; Domain=.tiktok.com; Path=/; Secure; Expires=Tue, 01 Jan 2030 00:00:00 GMT',
      'ttwid=1%7Cx; Domain=.tiktok.com; Path=/',
    ]);
  });

  it.each([
    ['m3u8_native', 'https://cdn.example.com/master.m3u8'],
    ['http_dash_segments', 'https://cdn.example.com/manifest.mpd'],
    ['rtmp', 'rtmp://live.example.com/app'],
  ])('refuses a %s format with unsupported_media_type', (protocol, url) => {
    expect(() => mediaFromYtDlpInfo({ extractor_key: 'Generic', url, protocol })).toThrow(expect.objectContaining({ code: 'unsupported_media_type' }));
  });

  it('refuses an info object without a single file (merged formats) and a non-http URL', () => {
    expect(() => mediaFromYtDlpInfo({ extractor_key: 'X', requested_formats: [{ url: 'https://a/v' }, { url: 'https://a/a' }] })).toThrow(
      expect.objectContaining({ code: 'unsupported_media_type' }),
    );
    expect(() => mediaFromYtDlpInfo({ extractor_key: 'X', url: 'file:///etc/passwd', protocol: 'http' })).toThrow(
      expect.objectContaining({ code: 'unsupported_scheme' }),
    );
  });

  it('drops header values with line breaks (no header injection)', () => {
    const media = mediaFromYtDlpInfo({ extractor_key: 'X', url: 'https://a.example/v.mp4', protocol: 'https', http_headers: { 'X-Bad': 'a\r\nHost: b', Referer: 'https://a.example/' } });
    expect(media.headers).toEqual({ Referer: 'https://a.example/' });
  });
});

describe('splitYtDlpCookies', () => {
  it('groups attributes with their cookie and keeps values containing "="', () => {
    expect(splitYtDlpCookies('a=b=c; Domain=.x.com; b=2; HttpOnly')).toEqual(['a=b=c; Domain=.x.com', 'b=2; HttpOnly']);
    expect(splitYtDlpCookies('')).toEqual([]);
  });
});

describe('parseYtDlpJson and ytDlpFailure', () => {
  it('parses one JSON object and refuses anything else', () => {
    expect(parseYtDlpJson('{"id":"x"}')).toEqual({ id: 'x' });
    expect(() => parseYtDlpJson('[1]')).toThrow(expect.objectContaining({ code: 'upstream_error' }));
    expect(() => parseYtDlpJson('WARNING: x')).toThrow(expect.objectContaining({ code: 'upstream_error' }));
  });

  it.each([
    ['ERROR: [TikTok] 7309876543210987654: This video is private', 'source_forbidden'],
    ['ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found', 'source_not_found'],
    ['ERROR: [TikTok] 1: Video not available', 'source_not_found'],
    ['ERROR: Unsupported URL: https://example.com/', 'unsupported_page_host'],
    ['ERROR: [x] y: HTTP Error 429: Too Many Requests', 'upstream_blocked'],
    ['ERROR: [x] y: Requested format is not available', 'unsupported_media_type'],
    ['ERROR: [x] y: Unable to download webpage: The read operation timed out', 'timeout'],
    ['ERROR: [x] y: Unable to extract data; please report this issue', 'upstream_error'],
    ['Traceback (most recent call last):\n  boom', 'upstream_error'],
  ])('maps %j to %s', (stderr, code) => {
    const error = ytDlpFailure(stderr, 1);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(/^yt-dlp failed \(exit 1\): /);
  });
});

describe('YouTube is never handed to yt-dlp', () => {
  it.each(['https://www.youtube.com/watch?v=x', 'https://youtu.be/x', 'https://music.youtube.com/x', 'https://www.youtube-nocookie.com/embed/x', 'HTTPS://M.YOUTUBE.COM./shorts/x'])(
    '%s is YouTube',
    (url) => expect(isYouTubeUrl(new URL(url))).toBe(true),
  );
  it('other hosts are not', () => {
    expect(isYouTubeUrl(new URL('https://notyoutube.com/watch?v=x'))).toBe(false);
    expect(isYouTubeExtractor('YoutubeTab')).toBe(true);
    expect(isYouTubeExtractor('TikTok')).toBe(false);
  });
});

describe('yt-dlp trust and binary', () => {
  it('adds the extra CA to the public roots through SSL_CERT_FILE, never turning verification off', () => {
    ensureCerts();
    const dir = makePrivateDir('mi-test-trust-');
    const trust = ytDlpTrust(CERT_FILES.ca, dir);
    expect(trust.args).toEqual(['--compat-options', 'no-certifi']);
    const bundle = readFileSync(trust.env.SSL_CERT_FILE!, 'utf8');
    expect(bundle).toContain(readFileSync(CERT_FILES.ca, 'utf8').trim());
    expect(bundle.split('BEGIN CERTIFICATE').length).toBeGreaterThan(100);
    expect(ytDlpTrust('', dir)).toMatchObject({ args: [], env: {} });
    expect(() => ytDlpTrust('/nonexistent/ca.pem', dir)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });

  it('finds a binary only where it is executable', () => {
    expect(findYtDlpBinary('', { PATH: '/nonexistent' })).toBeUndefined();
    expect(findYtDlpBinary('/nonexistent/yt-dlp')).toBeUndefined();
    expect(findYtDlpBinary('node', { PATH: process.env.PATH })).toMatch(/node$/);
  });
});

describe('tiktokMetadataFromYtDlp', () => {
  it('maps yt-dlp’s fields to the TikTok provenance, marked as extracted by yt-dlp', () => {
    expect(tiktokMetadataFromYtDlp(OLD_TIKTOK_INFO, '7309876543210987654')).toEqual({
      source_type: 'tiktok', id: '7309876543210987654', author_unique_id: 'archive.cam', author_nickname: null,
      author_id: '6800000000000000042', description: 'Harbour at dawn #archive', create_time: '2023-07-22T04:26:40.000Z',
      duration_seconds: 45, width: 320, height: 240, cover_url: 'https://v19.tiktokcdn.com/obj/persisted-cover.jpeg',
      music_title: 'Harbour sounds', play_count: 1234, extracted_by: 'yt-dlp',
    });
  });
});
