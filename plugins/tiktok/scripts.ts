/**
 * Finding embedded `<script>` data in a TikTok page without a DOM parser. Pure.
 */

/** One `<script ...>` start tag (attribute values may hold `>` inside quotes), its body, and its end tag. */
const SCRIPT = /<script\b((?:[^>"']|"[^"]*"|'[^']*')*)>([\s\S]*?)<\/script\s*>/gi;
/** One attribute: name, then an optional double-quoted, single-quoted or bare value. */
const ATTRIBUTE = /([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

/** The attributes of a start tag, names lower-cased (the first occurrence of a name wins, as in HTML). */
export function parseAttributes(source: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const match of source.matchAll(ATTRIBUTE)) {
    const name = match[1]!.toLowerCase();
    if (!attributes.has(name)) attributes.set(name, match[2] ?? match[3] ?? match[4] ?? '');
  }
  return attributes;
}

/**
 * The text of the first `<script>` whose `id` attribute is exactly `id`, whatever the attribute order, quoting
 * (double, single, none) and whitespace; undefined when there is none. `data-id="..."` and ids that merely
 * start with `id` do not count.
 */
export function extractScriptById(html: string, id: string): string | undefined {
  for (const match of html.matchAll(SCRIPT)) {
    if (parseAttributes(match[1] ?? '').get('id') === id) return match[2] ?? '';
  }
  return undefined;
}

/** Markers of TikTok's bot-challenge interstitial: "Please wait..." and the `cs`/`wci` elements. */
const CHALLENGE_MARKERS = [/please wait\.\.\./i, /\bid\s*=\s*["']?(cs|wci)["'\s>]/i];

/** True when the page looks like TikTok's bot challenge (used only to word the error; the code is the same). */
export function looksLikeChallenge(html: string): boolean {
  return CHALLENGE_MARKERS.some((marker) => marker.test(html));
}
