/**
 * URL normalisation for idempotency: two URLs that differ only in ways that cannot change what a server
 * returns map to the same string. Only safe equivalences are applied (RFC 3986 §6.2.2 plus WHATWG
 * parsing); the query keeps its parameter order and values, because signed URLs depend on them.
 */

/** RFC 3986 §2.3 unreserved characters: percent-encoding them is equivalent to writing them literally. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * Normalises the percent-encoding of a path or query string (RFC 3986 §6.2.2.1–2): `%41` → `A`,
 * `%7e` → `~` (unreserved characters are decoded), every other escape is upper-cased (`%2f` → `%2F`).
 * Anything else, including `+` and reserved characters, is kept as written.
 */
export function normalizePercentEncoding(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_escape, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/**
 * The identity string of a URL, used as an idempotency alias.
 *
 * Starting from the WHATWG parse (which already lower-cases the scheme and host, drops the default port,
 * resolves dot segments and decodes the host), it also: strips a trailing dot from the host, drops the
 * fragment, drops a lone `?`, normalises percent-encoding in path and query (see
 * {@link normalizePercentEncoding}) and turns an empty path into `/`. Query parameter order and values are
 * otherwise preserved. Pure: `url` is not modified.
 */
export function normalizeUrl(url: URL): string {
  const scheme = url.protocol.toLowerCase();
  const rawHost = url.hostname.toLowerCase();
  const host = rawHost.replace(/\.+$/, '') || rawHost;
  const port = url.port === '' || isDefaultPort(scheme, url.port) ? '' : `:${url.port}`;
  const userinfo =
    url.username === '' && url.password === ''
      ? ''
      : `${url.username}${url.password === '' ? '' : `:${url.password}`}@`;
  const path = normalizePercentEncoding(url.pathname === '' ? '/' : url.pathname);
  // WHATWG gives `search === ''` both for no query and for a lone `?`: either way, nothing is appended.
  const query = normalizePercentEncoding(url.search);
  const authority = url.host === '' && !url.href.startsWith(`${url.protocol}//`) ? '' : `//${userinfo}${host}${port}`;
  return `${scheme}${authority}${path}${query}`;
}

/** True when `port` is the default port of `scheme` (WHATWG already drops these; kept as a safeguard). */
function isDefaultPort(scheme: string, port: string): boolean {
  return (scheme === 'http:' && port === '80') || (scheme === 'https:' && port === '443');
}
