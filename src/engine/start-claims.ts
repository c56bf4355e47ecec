import { IngestError } from '../errors.js';
import type { BusEvent, EventBus } from '../ports/event-bus.js';
import type { FileRow, Registry } from '../ports/registry.js';
import { cancelledBy } from '../plugin-kit.js';
import { asIngestError } from './file-commands.js';
import { sha256 } from './file-rows.js';

/** How long a start claim lasts without renewal (a dead claimant's claim frees after it), ms. */
export const START_CLAIM_LEASE_MS = 15_000;
/** How often the holder renews it, ms. */
const RENEW_MS = 5_000;
/** How often a waiting run reads the registry, first and at most, ms (events usually answer sooner). */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 500;

/** Thrown through the transfer when the identity a short link resolved to has a file already (see FileRun). */
export class FoundElsewhere extends IngestError {
  constructor(readonly row: FileRow) {
    super('internal', 'The file of this identity exists (found after resolving)', { retryable: false });
  }
}

/** What {@link awaitStart} found. */
export type StartOutcome =
  /** This run holds the start claim: it resolves and opens the media; `release()` once the file row exists or it stopped. */
  | { kind: 'held'; release: () => Promise<void> }
  /** The file exists (created by whichever run held the claim). */
  | { kind: 'exists'; row: FileRow }
  /** The run that held the claim was refused before a file existed; this run answers with the same error. */
  | { kind: 'refused'; error: IngestError };

/** What {@link awaitStart} works with. */
export interface StartClaimRequest {
  registry: Registry;
  bus: EventBus;
  /** The identity hash when the URL alone gives it, else the alias hash (a short link). */
  key: string;
  /** This run's job id. */
  holder: string;
  /** Finds the file of `key` (by identity or by alias). */
  find: () => Promise<FileRow | undefined>;
  signal: AbortSignal;
}

/**
 * The cross-process half of "one media, one download": before a new run resolves and opens a media, it takes the
 * start claim on its identity ({@link Registry.claimStart}). Exactly one run, in any process, holds it; the others
 * wait here, without a network slot, until the file row exists (read from the registry, or announced by the
 * holder's `run.ready`), the holder is refused (its `run.refused`, shared as in-process single-flight shares it),
 * or the claim is free again (its holder stopped or died: the lease expires), when one of them takes it.
 */
export async function awaitStart(request: StartClaimRequest): Promise<StartOutcome> {
  const { registry, key, holder, find, signal } = request;
  let pollMs = FIRST_POLL_MS;
  for (;;) {
    if (signal.aborted) throw cancelledBy(signal, 'The file run');
    const row = await find();
    if (row) return { kind: 'exists', row };
    const claim = await registry.claimStart(key, holder, START_CLAIM_LEASE_MS);
    if (claim.held) {
      // Its previous holder may have created the file and let go between the read and the claim.
      const created = await find();
      if (created) {
        await registry.releaseStart(key, holder);
        return { kind: 'exists', row: created };
      }
      return { kind: 'held', release: renewWhileHeld(registry, key, holder) };
    }
    const event = claim.holder ? await nextRunEvent(request.bus, claim.holder, pollMs, signal) : undefined;
    pollMs = Math.min(MAX_POLL_MS, pollMs * 2);
    if (event?.type === 'run.ready') {
      const ready = await registry.getFile(event.file.id);
      if (ready) return { kind: 'exists', row: ready };
    } else if (event?.type === 'run.refused' && event.error.code !== 'cancelled') {
      return { kind: 'refused', error: asIngestError(event.error) };
    }
  }
}

/** The claim of a new run: on its identity when the URL alone gives it (`identityKey`), else on its alias. */
export function awaitNewRunStart(base: Omit<StartClaimRequest, 'key' | 'find'>, identityKey: string | undefined, aliasHash: string): Promise<StartOutcome> {
  const { registry } = base;
  const identityHash = identityKey === undefined ? undefined : sha256(identityKey);
  const find = () => (identityHash ? registry.findByIdentity(identityHash) : registry.findByAlias(aliasHash));
  return awaitStart({ ...base, key: identityHash ?? aliasHash, find });
}

/** Claims the identity a short link resolved to: its release, or throws {@link FoundElsewhere} / the holder's refusal. */
export async function claimResolvedIdentity(base: Omit<StartClaimRequest, 'key' | 'find'>, identityKey: string): Promise<() => Promise<void>> {
  const key = sha256(identityKey);
  const outcome = await awaitStart({ ...base, key, find: () => base.registry.findByIdentity(key) });
  if (outcome.kind !== 'held') throw outcome.kind === 'refused' ? outcome.error : new FoundElsewhere(outcome.row);
  return outcome.release;
}

/** Renews the claim until the returned release is called (idempotent), which drops it. */
function renewWhileHeld(registry: Registry, key: string, holder: string): () => Promise<void> {
  const timer = setInterval(() => void registry.claimStart(key, holder, START_CLAIM_LEASE_MS).catch(() => undefined), RENEW_MS);
  timer.unref();
  let released: Promise<void> | undefined;
  return () => {
    clearInterval(timer);
    released ??= registry.releaseStart(key, holder).catch(() => undefined);
    return released;
  };
}

/** The holder's next `run.ready`/`run.refused`, or undefined after `ms` (or on abort). */
function nextRunEvent(bus: EventBus, jobId: string, ms: number, signal: AbortSignal): Promise<BusEvent | undefined> {
  return new Promise((resolve) => {
    const done = (event?: BusEvent): void => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
      resolve(event);
    };
    const onAbort = (): void => done();
    const unsubscribe = bus.subscribe({ jobId }, (event) => {
      if (event.type === 'run.ready' || event.type === 'run.refused') done(event);
    });
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
