/**
 * PN-Counter: a counter that replicas increment and decrement independently.
 *
 * Source: Shapiro, Preguiça, Baquero, Zawirski, "A comprehensive study of Convergent and
 * Commutative Replicated Data Types", INRIA RR-7506, 2011, §3.1.2–3.1.3 (Specifications 6
 * and 7): each actor counts its own increments (P) and decrements (N); a merge takes the
 * per-actor maximum of each; the value is ΣP − ΣN. riak_dt's `riak_dt_pncounter` is the same.
 *
 * Entries are kept sorted by actor, with no all-zero entry, so equal counters are equal
 * entry by entry and encode to equal bytes.
 * @module
 */
import { ValidationError } from '../errors.js';
import { checkActor } from './dots.js';

/** One actor's totals: everything it added (`p`) and subtracted (`n`), both >= 0. */
export interface PNCounterEntry {
  /** The actor (e.g. a member or client id) these totals belong to. */
  readonly actor: string;
  /** Total this actor added: a safe integer >= 0. */
  readonly p: number;
  /** Total this actor subtracted: a safe integer >= 0. */
  readonly n: number;
}

function checkAmount(amount: unknown): number {
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) {
    throw new ValidationError(`amount must be a safe integer >= 0, got ${String(amount)}`);
  }
  return amount;
}

/**
 * A counter that any replica can increment or decrement without coordination. Immutable:
 * every operation returns a new counter.
 *
 * `actor` names the replica making the change (a member id, say); one actor must never be
 * used by two replicas at once, or their changes overwrite each other. The value is exact
 * while its totals stay within `Number.MAX_SAFE_INTEGER`.
 *
 * @example
 * ```ts
 * const a = PNCounter.empty().increment('a', 5);
 * const b = PNCounter.empty().decrement('b', 2);
 * PNCounter.merge(a, b).value(); // 3
 * ```
 */
export class PNCounter {
  /** Type tag of this CRDT in encodings and ORMap fields. */
  static readonly tag = 'pncounter' as const;

  /** @internal Sorted by actor, no entry with p = n = 0. */
  readonly store: readonly PNCounterEntry[];

  private constructor(store: readonly PNCounterEntry[]) {
    this.store = store;
  }

  private static readonly EMPTY = new PNCounter([]);

  /** The counter at 0 that no one has changed. */
  static empty(): PNCounter {
    return PNCounter.EMPTY;
  }

  /** @internal A counter from canonical entries (the codec and ORMap check them). */
  static fromState(store: readonly PNCounterEntry[]): PNCounter {
    return store.length === 0 ? PNCounter.EMPTY : new PNCounter(store);
  }

  /** ΣP − ΣN over every actor. */
  value(): number {
    let total = 0;
    for (const e of this.store) total += e.p - e.n;
    return total;
  }

  /** Each actor's totals, sorted by actor (copies). */
  entries(): PNCounterEntry[] {
    return this.store.map((e) => ({ actor: e.actor, p: e.p, n: e.n }));
  }

  /** The counter with `amount` (a safe integer >= 0, default 1) added by `actor`. */
  increment(actor: string, amount = 1): PNCounter {
    return this.change(checkActor(actor), checkAmount(amount), 0);
  }

  /** The counter with `amount` (a safe integer >= 0, default 1) subtracted by `actor`. */
  decrement(actor: string, amount = 1): PNCounter {
    return this.change(checkActor(actor), 0, checkAmount(amount));
  }

  private change(actor: string, dp: number, dn: number): PNCounter {
    if (dp === 0 && dn === 0) return this;
    const store = this.store.slice();
    let i = 0;
    while (i < store.length && store[i]!.actor < actor) i++;
    const old = store[i]?.actor === actor ? store[i]! : undefined;
    const p = (old?.p ?? 0) + dp;
    const n = (old?.n ?? 0) + dn;
    if (!Number.isSafeInteger(p) || !Number.isSafeInteger(n)) {
      throw new ValidationError(`the totals of actor ${JSON.stringify(actor)} would pass Number.MAX_SAFE_INTEGER`);
    }
    store.splice(i, old === undefined ? 0 : 1, { actor, p, n });
    return new PNCounter(store);
  }

  /** The least counter that has seen everything both have: per-actor maxima of P and N. */
  merge(other: PNCounter): PNCounter {
    return new PNCounter(joinEntries(this.store, other.store));
  }

  /** `a.merge(b)`. */
  static merge(a: PNCounter, b: PNCounter): PNCounter {
    return a.merge(b);
  }

  /** Whether this counter has seen every change `other` has (`this ⊔ other = this`). */
  descends(other: PNCounter): boolean {
    let i = 0;
    for (const e of other.store) {
      while (i < this.store.length && this.store[i]!.actor < e.actor) i++;
      const mine = this.store[i];
      if (mine === undefined || mine.actor !== e.actor || mine.p < e.p || mine.n < e.n) return false;
    }
    return true;
  }

  /** Whether both counters hold the same entries. */
  equals(other: PNCounter): boolean {
    return this.store.length === other.store.length && this.descends(other) && other.descends(this);
  }
}

/** Per-actor maxima of two sorted entry lists. */
export function joinEntries(a: readonly PNCounterEntry[], b: readonly PNCounterEntry[]): readonly PNCounterEntry[] {
  if (a === b || b.length === 0) return a;
  if (a.length === 0) return b;
  const out: PNCounterEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.actor < y.actor)) {
      out.push(x!);
      i++;
    } else if (x === undefined || y.actor < x.actor) {
      out.push(y);
      j++;
    } else {
      out.push(x.p >= y.p && x.n >= y.n ? x : y.p >= x.p && y.n >= x.n ? y : { actor: x.actor, p: Math.max(x.p, y.p), n: Math.max(x.n, y.n) });
      i++;
      j++;
    }
  }
  return out;
}
