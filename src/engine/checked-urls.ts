import { parseAndCheckUrl } from '../url/policy.js';
import { normalizeUrl } from '../url/normalize.js';
import { sha256 } from './file-rows.js';

/** A submitted URL the policy accepted: its parsed form (`href`) and the hash of its normalised form (its alias). */
export interface CheckedUrl {
  href: string;
  aliasHash: string;
}

/**
 * The URL policy check of `sync`, remembered for the most recently submitted texts. Parsing, the policy and the
 * normalisation are pure functions of the text and the (immutable) config, so a re-sync of the same text repeats
 * none of them. Only accepted URLs are kept (a refused text is checked, and refused, every time); the memo holds at
 * most `capacity` texts, each at most `maxUrlLength` characters.
 */
export class CheckedUrls {
  private readonly accepted = new Map<string, CheckedUrl>();

  constructor(private readonly maxUrlLength: number, private readonly capacity = 256) {}

  /** Checks `rawUrl` against the policy (throws its IngestError when refused). */
  check(rawUrl: string): CheckedUrl {
    const known = this.accepted.get(rawUrl);
    if (known) return known;
    const url = parseAndCheckUrl(rawUrl, { maxUrlLength: this.maxUrlLength, pageHosts: false });
    const checked: CheckedUrl = Object.freeze({ href: url.href, aliasHash: sha256(`alias:${normalizeUrl(url)}`) });
    // Only texts no longer than the limit are kept (the policy trims first, so a padded text may pass yet be long).
    if (rawUrl.length > this.maxUrlLength) return checked;
    if (this.accepted.size >= this.capacity) this.accepted.delete(this.accepted.keys().next().value!);
    this.accepted.set(rawUrl, checked);
    return checked;
  }
}
