/**
 * Version vectors (vector clocks) as pure functions over plain immutable data.
 *
 * Source: DeCandia et al., "Dynamo: Amazon's Highly Available Key-value Store", SOSP 2007,
 * §4.4 (one (node, counter) pair per coordinating node; a version is obsolete when another
 * descends it; the clock is truncated by age once it grows past a threshold). The pruning
 * rule is riak_core's `vclock:prune/3`, which is the paper's truncation with Riak's knobs.
 *
 * A vector is a strictly actor-sorted array of `[actor, counter]` pairs with counters >= 1,
 * so equal vectors are deep-equal and encode to equal bytes, and every comparison is one
 * linear merge walk. Actors are member ids, i.e. arbitrary strings ("__proto__" included),
 * which is why they are never used as object keys here. Order is plain string `<` (UTF-16
 * code units): any total order would do, but every member must use the same one.
 * @module
 */
import { ValidationError } from '../errors.js';

/** A version vector: `[actor, counter]` pairs, strictly sorted by actor, counters >= 1. */
export type VersionVector = readonly (readonly [actor: string, counter: number])[];

/** The empty vector: everything descends it. */
export const EMPTY_VV: VersionVector = Object.freeze([]);

function isCounter(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1;
}

/**
 * A vector from `{actor: counter}` (tests, examples). Because the actors come from object
 * keys, an actor named "__proto__" cannot be written this way; build the array directly.
 */
export function vv(obj: Record<string, number>): VersionVector {
  const entries = Object.entries(obj);
  for (const [actor, counter] of entries) {
    if (!isCounter(counter)) throw new ValidationError(`counter of ${JSON.stringify(actor)} must be a safe integer >= 1, got ${counter}`);
  }
  entries.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return entries;
}

/** Whether `v` is in canonical form (strictly sorted string actors, safe counters >= 1). */
export function isVersionVector(v: unknown): v is VersionVector {
  if (!Array.isArray(v)) return false;
  let previous: string | undefined;
  for (const entry of v as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2) return false;
    const [actor, counter] = entry as unknown[];
    if (typeof actor !== 'string' || !isCounter(counter)) return false;
    if (previous !== undefined && !(previous < actor)) return false;
    previous = actor;
  }
  return true;
}

/** The counter of `actor` in `v`; 0 when absent. */
export function counterOf(v: VersionVector, actor: string): number {
  // Binary search: vectors are sorted, and this sits inside covers(), called per value.
  let lo = 0;
  let hi = v.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const entry = v[mid]!;
    if (entry[0] === actor) return entry[1];
    if (entry[0] < actor) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

/** Whether `a` has seen everything `b` has: `a[x] >= b[x]` for every actor. */
export function descends(a: VersionVector, b: VersionVector): boolean {
  if (b.length > a.length) return false;
  let i = 0;
  for (const [actor, counter] of b) {
    while (i < a.length && a[i]![0] < actor) i++;
    const entry = a[i];
    if (entry === undefined || entry[0] !== actor || entry[1] < counter) return false;
    i++;
  }
  return true;
}

/** Entry-by-entry equality (canonical form makes this structural). */
export function equalVV(a: VersionVector, b: VersionVector): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x[0] !== y[0] || x[1] !== y[1]) return false;
  }
  return true;
}

/** `a` descends `b` and they differ: `b` is an obsolete ancestor of `a`. */
export function dominates(a: VersionVector, b: VersionVector): boolean {
  return descends(a, b) && !equalVV(a, b);
}

/** Neither descends the other: the versions are siblings that a reader must reconcile. */
export function concurrent(a: VersionVector, b: VersionVector): boolean {
  return !descends(a, b) && !descends(b, a);
}

/** Entry-wise maximum: the least vector that descends both. */
export function mergeVV(a: VersionVector, b: VersionVector): VersionVector {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: (readonly [string, number])[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x[0] === y[0]) {
      out.push(x[1] >= y[1] ? x : y);
      i++;
      j++;
    } else if (x[0] < y[0]) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/** `v` with `actor`'s counter one higher: the clock of a new version coordinated by `actor`. */
export function increment(v: VersionVector, actor: string): VersionVector {
  return withCounter(v, actor, counterOf(v, actor) + 1);
}

/** `v` with `actor`'s counter set to `counter` (>= 1), keeping the sort. */
export function withCounter(v: VersionVector, actor: string, counter: number): VersionVector {
  if (typeof actor !== 'string') throw new ValidationError('actor must be a string');
  if (!isCounter(counter)) throw new ValidationError(`counter of ${JSON.stringify(actor)} must be a safe integer >= 1, got ${counter}`);
  const out = v.slice();
  let i = 0;
  while (i < out.length && out[i]![0] < actor) i++;
  if (out[i]?.[0] === actor) out[i] = [actor, counter];
  else out.splice(i, 0, [actor, counter]);
  return out;
}

/**
 * Reconciles versions syntactically (§4.4): the ones no other version dominates, in first-seen
 * order, equal ones collapsed to one.
 */
export function maximal(list: readonly VersionVector[]): VersionVector[] {
  const out: VersionVector[] = [];
  list.forEach((v, i) => {
    if (out.some((kept) => equalVV(kept, v))) return;
    if (list.some((other, j) => j !== i && dominates(other, v))) return;
    out.push(v);
  });
  return out;
}

/** A vector entry with the time its actor last coordinated a write, for pruning. */
export interface TimedEntry {
  readonly actor: string;
  readonly counter: number;
  /** Milliseconds, on the same clock as `nowMs` in {@link prune}. */
  readonly timestamp: number;
}

/** Pruning thresholds (riak_core's bucket properties, in milliseconds). */
export interface PruneOptions {
  /** Never prune a vector of at most this many entries. Riak: 50. */
  small: number;
  /** Drop oldest entries while there are more than this many. Riak: 50. */
  big: number;
  /** Never drop an entry written less than this long ago. Riak: 20 s. */
  youngMs: number;
  /** Drop entries written more than this long ago (beyond `small`). Riak: 1 day. */
  oldMs: number;
}

/** riak_core's defaults (`small_vclock`, `big_vclock`, `young_vclock`, `old_vclock`), in ms. */
export const RIAK_PRUNE_DEFAULTS: Readonly<PruneOptions> = Object.freeze({
  small: 50,
  big: 50,
  youngMs: 20_000,
  oldMs: 86_400_000,
});

/**
 * Truncates a vector as Dynamo does (§4.4) with riak_core's rule: oldest entries first
 * (ties broken by actor, so every replica prunes the same way), stop at `small` entries or
 * at an entry younger than `youngMs`; otherwise drop the oldest while the vector is over
 * `big` or that entry is older than `oldMs`.
 *
 * Dropping an entry can only make descendants look concurrent (extra siblings), never make
 * a concurrent version look obsolete; that is the paper's argument for tolerating it.
 * Returns the survivors sorted by actor. ./clock-pruning.ts applies it to a
 * key's stored versions, passing over entries that still name a value.
 */
export function prune<E extends Pick<TimedEntry, 'actor' | 'timestamp'>>(entries: readonly E[], nowMs: number, options: PruneOptions): E[] {
  for (const key of ['small', 'big', 'youngMs', 'oldMs'] as const) {
    const n = options[key];
    if (typeof n !== 'number' || Number.isNaN(n) || n < 0) throw new ValidationError(`prune option ${key} must be a number >= 0, got ${n}`);
  }
  if (!Number.isFinite(nowMs)) throw new ValidationError(`nowMs must be a finite number, got ${nowMs}`);
  const byAge = entries.slice().sort((x, y) => x.timestamp - y.timestamp || (x.actor < y.actor ? -1 : x.actor > y.actor ? 1 : 0));
  let start = 0;
  while (byAge.length - start > options.small) {
    const age = nowMs - byAge[start]!.timestamp;
    if (age < options.youngMs) break;
    if (byAge.length - start > options.big || age > options.oldMs) start++;
    else break;
  }
  return byAge.slice(start).sort((x, y) => (x.actor < y.actor ? -1 : x.actor > y.actor ? 1 : 0));
}
