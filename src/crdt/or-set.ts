/**
 * ORSet: an add-wins observed-remove set without tombstones.
 *
 * Sources: Shapiro, Preguiça, Baquero, Zawirski, "A comprehensive study of Convergent and
 * Commutative Replicated Data Types", INRIA RR-7506, 2011, §3.3.5 (the OR-Set: a remove
 * cancels only the adds it has observed); Bieniusa, Zawirski, Preguiça, Shapiro, Baquero,
 * Balegas, Duarte, "An optimized conflict-free replicated set", arXiv:1210.3368, 2012 (tag
 * each add with a dot and summarise everything seen in a version vector, so a remove just
 * drops the element's dots and leaves no tombstone); Almeida, Shoker, Baquero, "Delta State
 * Replicated Data Types", JPDC 2018, §7.2 (the same as a dot store plus causal context, with
 * deltas). riak_dt's `riak_dt_orswot` is the second paper's design.
 *
 * State: a causal context (everything this replica has seen) and, per element, the dots of
 * the adds still live for it. An add gives the element one new dot and drops the dots it
 * had (all observed); a remove drops the element's dots; a merge keeps a dot both sides hold
 * or one side holds and the other has never seen. So an add concurrent with a remove
 * survives the merge (its dot is unseen by the remover), and a remove takes out only the
 * adds its replica had seen.
 * @module
 */
import { ValidationError } from '../errors.js';
import {
  EMPTY_CONTEXT,
  addDot,
  causalDescends,
  checkActor,
  contextOf,
  equalContexts,
  mergeContexts,
  nextDot,
  type CausalContext,
} from './dots.js';
import { decodeValue, encodeValue, keyOf } from './plain-value.js';
import { dotPlaces, equalSetStores, findEntry, joinSetStores, setEntryAt, visitSetDots, type SetStore } from './set-store.js';
import type { PlainValue } from './types.js';

/**
 * An add-wins observed-remove set of plain values (see {@link PlainValue}; compared by
 * canonical CBOR, so `{a: 1, b: 2}` and `{b: 2, a: 1}` are one element). Immutable: every
 * operation returns a new set.
 *
 * `actor` names the replica making an add (a member id, say); one actor must never be used
 * by two replicas at once, or their adds collide. A remove needs no actor: it removes the
 * adds this replica has seen, and an add elsewhere that it had not seen survives the merge.
 *
 * `addDelta` and `removeDelta` return just the change, itself an ORSet: ship it instead of
 * the whole set, and `merge` it into any replica (`set.add(a, x)` equals
 * `set.merge(set.addDelta(a, x))`).
 *
 * @example
 * ```ts
 * const a = ORSet.empty<string>().add('a', 'milk').add('a', 'eggs');
 * const b = a.remove('milk');                 // replica b removes what it saw
 * const a2 = a.add('a', 'milk');              // concurrently, a adds milk again
 * ORSet.merge(a2, b).value();                 // ['eggs', 'milk']: the add wins
 * ```
 */
export class ORSet<T = PlainValue> {
  /** Type tag of this CRDT in encodings and ORMap fields. */
  static readonly tag = 'orset' as const;

  /** @internal Every dot this replica has seen. */
  readonly ctx: CausalContext;
  /** @internal The live elements, sorted by encoding. */
  readonly store: SetStore;

  private constructor(ctx: CausalContext, store: SetStore) {
    this.ctx = ctx;
    this.store = store;
  }

  private static readonly EMPTY = new ORSet<unknown>(EMPTY_CONTEXT, []);

  /** The set no one has added to. */
  static empty<T = PlainValue>(): ORSet<T> {
    return ORSet.EMPTY as ORSet<T>;
  }

  /** @internal A set from a canonical state (the codec and ORMap check it). */
  static fromState<T>(ctx: CausalContext, store: SetStore): ORSet<T> {
    return new ORSet<T>(ctx, store);
  }

  /** How many elements the set holds. */
  get size(): number {
    return this.store.length;
  }

  /** Whether `element` is in the set. */
  has(element: T): boolean {
    return findEntry(this.store, keyOf(encodeValue(element, 'an element'))) >= 0;
  }

  /** The elements (fresh copies), in the order of their canonical encodings. */
  value(): T[] {
    return this.store.map((entry) => decodeValue(entry.bytes) as T);
  }

  /** The set with `element` added by `actor`. */
  add(actor: string, element: T): ORSet<T> {
    const bytes = encodeValue(element, 'an element');
    const key = keyOf(bytes);
    const dot = nextDot(this.ctx, checkActor(actor));
    const store = setEntryAt(this.store, findEntry(this.store, key), { key, bytes, dots: [dot] });
    return new ORSet<T>(addDot(this.ctx, dot), store);
  }

  /** The set without `element`: removes the adds of it this replica has seen. */
  remove(element: T): ORSet<T> {
    const index = findEntry(this.store, keyOf(encodeValue(element, 'an element')));
    return index < 0 ? this : new ORSet<T>(this.ctx, setEntryAt(this.store, index, undefined));
  }

  /**
   * Just the change `add(actor, element)` makes: the element with its new dot, and a context
   * of that dot and the dots it replaces.
   */
  addDelta(actor: string, element: T): ORSet<T> {
    const bytes = encodeValue(element, 'an element');
    const key = keyOf(bytes);
    const dot = nextDot(this.ctx, checkActor(actor));
    const old = this.store[findEntry(this.store, key)]?.dots ?? [];
    return new ORSet<T>(addDot(contextOf(old), dot), [{ key, bytes, dots: [dot] }]);
  }

  /** Just the change `remove(element)` makes: no elements, a context of the removed dots. */
  removeDelta(element: T): ORSet<T> {
    const index = findEntry(this.store, keyOf(encodeValue(element, 'an element')));
    return new ORSet<T>(index < 0 ? EMPTY_CONTEXT : contextOf(this.store[index]!.dots), []);
  }

  /** The least set that has seen everything both have seen (a delta is a set too). */
  merge(other: ORSet<T>): ORSet<T> {
    if (!(other instanceof ORSet)) throw new ValidationError('can only merge an ORSet with an ORSet');
    if (other === this) return this;
    return new ORSet<T>(mergeContexts(this.ctx, other.ctx), joinSetStores(this.store, this.ctx, other.store, other.ctx));
  }

  /** `a.merge(b)`. */
  static merge<T>(a: ORSet<T>, b: ORSet<T>): ORSet<T> {
    return a.merge(b);
  }

  /**
   * Whether this set has seen every add and remove `other` has (`this ⊔ other = this`).
   */
  descends(other: ORSet<T>): boolean {
    return causalDescends(this.ctx, placesOf(this.store), other.ctx, placesOf(other.store));
  }

  /** Whether both sets are the same state (same elements, dots and history). */
  equals(other: ORSet<T>): boolean {
    return equalContexts(this.ctx, other.ctx) && equalSetStores(this.store, other.store);
  }
}

function placesOf(store: SetStore): ReturnType<typeof dotPlaces> {
  return dotPlaces((visit) => visitSetDots(store, '', visit));
}
