/**
 * ORMap: a map of named fields, each holding a nested CRDT, with add-wins presence and
 * observed-remove ("reset-remove") of fields.
 *
 * Sources: Almeida, Shoker, Baquero, "Delta State Replicated Data Types", JPDC 2018, §7.3
 * (a map from keys to causal dot stores sharing one causal context); riak_dt's `riak_dt_map`
 * for the semantics: a field is named by (name, type), so a counter and a set may share a
 * name; updating a field creates it; removing it drops everything the remover had seen of
 * it; an update concurrent with the removal keeps the field, holding only that update's
 * effects (for a set field: only the elements added concurrently). Counter fields keep
 * riak_dt's known limit (./embedded.ts): an actor that updated the counter concurrently with
 * the removal keeps its whole total.
 *
 * Every nested state shares the map's causal context (./field-store.ts), which is what makes
 * the reset exact for sets, maps and registers, and keeps removed fields free of tombstones.
 * @module
 */
import { ValidationError } from '../errors.js';
import {
  EMPTY_CONTEXT,
  addDot,
  causalDescends,
  checkActor,
  covers,
  dotKey,
  equalContexts,
  includes,
  mergeContexts,
  nextDot,
  type CausalContext,
  type Dot,
} from './dots.js';
import { counterView, embedCounter, embedRegister, registerView } from './embedded.js';
import {
  equalMapStores,
  findField,
  joinMapStores,
  mapDepth,
  visitMapDots,
  type Field,
  type MapStore,
} from './field-store.js';
import { LWWRegister } from './lww-register.js';
import { ORSet } from './or-set.js';
import { isWellFormed } from './plain-value.js';
import { PNCounter } from './pn-counter.js';
import { dotPlaces, visitSetDots } from './set-store.js';
import type { Crdt, CrdtTag, CrdtType } from './types.js';

/** Deepest nesting of maps: a map is level 1, a map in one of its fields level 2, and so on. */
export const MAX_MAP_DEPTH = 16;

/** One field of a map's value: its name, its type, and the nested CRDT's value. */
export interface ORMapEntry {
  /** The field's name. */
  readonly key: string;
  /** Type tag of the CRDT in the field (one name may hold fields of several types). */
  readonly type: CrdtTag;
  /**
   * The nested CRDT's `value()`: an array of elements (`orset`), an array of
   * {@link ORMapEntry} (`ormap`), a number (`pncounter`) or the register's value, possibly `undefined` (`lwwregister`).
   */
  readonly value: unknown;
}

/** Calls its argument with every live dot of some store. */
type DotVisitor = (visit: (dot: Dot, at: string) => void) => void;

function checkName(key: unknown): string {
  if (typeof key !== 'string') throw new ValidationError(`a field name must be a string, got ${typeof key}`);
  if (!isWellFormed(key)) throw new ValidationError(`field name ${JSON.stringify(key)} must be well-formed Unicode (it has a lone surrogate)`);
  return key;
}

function tagOf(type: unknown): CrdtTag {
  if (type === ORSet) return ORSet.tag;
  if (type === ORMap) return ORMap.tag;
  if (type === PNCounter) return PNCounter.tag;
  if (type === LWWRegister) return LWWRegister.tag;
  throw new ValidationError('a field type must be ORSet, ORMap, PNCounter or LWWRegister');
}

/**
 * A map of named fields holding nested CRDTs: counters, registers, sets and maps. Immutable:
 * every operation returns a new map.
 *
 * A field is named by its key and its type (`PNCounter`, `LWWRegister`, `ORSet` or `ORMap`),
 * so fields of different types may share a key. `update` creates the field if needed and
 * applies a function to its current state; `remove` drops the field and everything this
 * replica had seen of it. An update concurrent with a remove wins: the field stays, holding
 * only that update's effects (a counter keeps the whole total of each actor that updated it
 * concurrently: the one inexact case, as in riak_dt).
 *
 * In `update`, the function must derive its result from the state it is given (through its
 * methods: `add`, `increment`, `assign`…), not from a state of another map or set: nested
 * sets and maps share this map's history of dots. A result holding dots from elsewhere in
 * the map is refused; merging in a view of another field (same history, other elements)
 * reads as a removal of everything and empties the field.
 *
 * @example
 * ```ts
 * let cart = ORMap.empty()
 *   .update('a', 'sku-42', PNCounter, (q) => q.increment('a', 2))
 *   .update('a', 'note', LWWRegister, (r) => r.assign('a', 'gift wrap', Date.now()));
 * const other = cart.remove('sku-42');                                   // replica b
 * cart = cart.update('a', 'sku-7', PNCounter, (q) => q.increment('a'));  // concurrently
 * ORMap.merge(cart, other).get('sku-7', PNCounter)?.value();             // 1
 * ORMap.merge(cart, other).has('sku-42');                                // false
 * ```
 */
export class ORMap {
  /** Type tag of this CRDT in encodings and ORMap fields. */
  static readonly tag = 'ormap' as const;

  /** @internal Every dot this replica has seen, nested fields' included. */
  readonly ctx: CausalContext;
  /** @internal The present fields, sorted by (name, type). */
  readonly store: MapStore;

  private constructor(ctx: CausalContext, store: MapStore) {
    this.ctx = ctx;
    this.store = store;
  }

  private static readonly EMPTY = new ORMap(EMPTY_CONTEXT, []);

  /** The map with no fields. */
  static empty(): ORMap {
    return ORMap.EMPTY;
  }

  /** @internal A map from a canonical state (the codec checks it). */
  static fromState(ctx: CausalContext, store: MapStore): ORMap {
    return new ORMap(ctx, store);
  }

  /** How many fields the map holds. */
  get size(): number {
    return this.store.length;
  }

  /** Whether the field (`key`, `type`) is present; with no `type`, whether any field named `key` is. */
  has(key: string, type?: CrdtType): boolean {
    checkName(key);
    if (type !== undefined) return findField(this.store, key, tagOf(type)) >= 0;
    return this.store.some((f) => f.name === key);
  }

  /** The distinct field names, sorted. */
  keys(): string[] {
    const names: string[] = [];
    for (const f of this.store) if (names[names.length - 1] !== f.name) names.push(f.name);
    return names;
  }

  /** Every field with its nested value, sorted by key, then type tag. */
  value(): ORMapEntry[] {
    return this.store.map((f) => ({ key: f.name, type: f.type, value: this.view(f).value() }));
  }

  /**
   * The state of the field (`key`, `type`), or `undefined` if it is absent. A nested set or
   * map carries this map's whole causal context.
   */
  get<C extends Crdt>(key: string, type: CrdtType<C>): C | undefined {
    const index = findField(this.store, checkName(key), tagOf(type));
    return index < 0 ? undefined : (this.view(this.store[index]!) as C);
  }

  private view(field: Field): Crdt {
    switch (field.type) {
      case 'orset':
        return ORSet.fromState(this.ctx, field.store);
      case 'ormap':
        return new ORMap(this.ctx, field.store);
      case 'pncounter':
        return counterView(field.store);
      case 'lwwregister':
        return registerView(field.store);
    }
  }

  /**
   * The map with the field (`key`, `type`) updated by `actor`: `fn` gets the field's current
   * state (the type's empty state if the field is absent) and returns the new one. The field
   * is present afterwards, even if `fn` changed nothing.
   */
  update<C extends Crdt>(actor: string, key: string, type: CrdtType<C>, fn: (current: C) => C): ORMap {
    checkActor(actor);
    checkName(key);
    const tag = tagOf(type);
    if (typeof fn !== 'function') throw new ValidationError('update needs a function from the current state to the new one');
    const index = findField(this.store, key, tag);
    const field = index >= 0 ? this.store[index] : undefined;
    let ctx = this.ctx;
    let next: Field;
    switch (tag) {
      case 'orset': {
        const store = field?.type === 'orset' ? field.store : [];
        const result: unknown = fn(ORSet.fromState(ctx, store) as C);
        if (!(result instanceof ORSet)) throw new ValidationError('the update function of an ORSet field must return an ORSet');
        ctx = this.derivedContext(result.ctx);
        this.checkDerived((visit) => visitSetDots(store, '', visit), (visit) => visitSetDots(result.store, '', visit));
        next = { name: key, type: tag, presence: [], store: result.store };
        break;
      }
      case 'ormap': {
        const store = field?.type === 'ormap' ? field.store : [];
        const result: unknown = fn(new ORMap(ctx, store) as C);
        if (!(result instanceof ORMap)) throw new ValidationError('the update function of an ORMap field must return an ORMap');
        if (1 + mapDepth(result.store) > MAX_MAP_DEPTH) throw new ValidationError(`maps may nest at most ${MAX_MAP_DEPTH} levels deep`);
        ctx = this.derivedContext(result.ctx);
        this.checkDerived((visit) => visitMapDots(store, '', visit), (visit) => visitMapDots(result.store, '', visit));
        next = { name: key, type: tag, presence: [], store: result.store };
        break;
      }
      case 'pncounter': {
        const store = field?.type === 'pncounter' ? field.store : [];
        const view = counterView(store);
        const result: unknown = fn(view as C);
        if (!(result instanceof PNCounter)) throw new ValidationError('the update function of a PNCounter field must return a PNCounter');
        const embedded = embedCounter(ctx, store, view, result, actor);
        ctx = embedded.ctx;
        next = { name: key, type: tag, presence: [], store: embedded.store };
        break;
      }
      case 'lwwregister': {
        const store = field?.type === 'lwwregister' ? field.store : [];
        const view = registerView(store);
        const result: unknown = fn(view as C);
        if (!(result instanceof LWWRegister)) throw new ValidationError('the update function of an LWWRegister field must return an LWWRegister');
        const embedded = embedRegister(ctx, store, view, result, actor);
        ctx = embedded.ctx;
        next = { name: key, type: tag, presence: [], store: embedded.store };
        break;
      }
    }
    // One fresh presence dot replaces the ones this replica saw: the field is present until
    // a remove that has seen this update, and survives any that has not.
    const dot = nextDot(ctx, actor);
    next = { ...next, presence: [dot] };
    const stored = this.store.slice();
    if (index >= 0) stored[index] = next;
    else stored.splice(-index - 1, 0, next);
    return new ORMap(addDot(ctx, dot), stored);
  }

  /** The context of a nested set or map an update returned, checked to extend this map's. */
  private derivedContext(ctx: CausalContext): CausalContext {
    if (!includes(ctx, this.ctx)) {
      throw new ValidationError('the update function must return the state it was given, updated (its history is missing dots of this map)');
    }
    return ctx;
  }

  /**
   * Throws unless every live dot of an update's result that this map had already seen was
   * live in the field before: dots taken from another field, or ones removed, would make
   * one dot name two things.
   */
  private checkDerived(before: DotVisitor, after: DotVisitor): void {
    const had = new Set<string>();
    before((dot) => had.add(dotKey(dot)));
    after((dot) => {
      if (covers(this.ctx, dot) && !had.has(dotKey(dot))) {
        throw new ValidationError('the update function must return the state it was given, updated (it holds dots from elsewhere in this map)');
      }
    });
  }

  /**
   * The map without the field (`key`, `type`), or without every field named `key` when no
   * `type` is given. Removes what this replica has seen of the field: an update elsewhere
   * that it had not seen keeps the field alive after a merge.
   */
  remove(key: string, type?: CrdtType): ORMap {
    checkName(key);
    const tag = type === undefined ? undefined : tagOf(type);
    const store = this.store.filter((f) => f.name !== key || (tag !== undefined && f.type !== tag));
    return store.length === this.store.length ? this : new ORMap(this.ctx, store);
  }

  /** The least map that has seen everything both have seen. */
  merge(other: ORMap): ORMap {
    if (!(other instanceof ORMap)) throw new ValidationError('can only merge an ORMap with an ORMap');
    if (other === this) return this;
    return new ORMap(mergeContexts(this.ctx, other.ctx), joinMapStores(this.store, this.ctx, other.store, other.ctx));
  }

  /** `a.merge(b)`. */
  static merge(a: ORMap, b: ORMap): ORMap {
    return a.merge(b);
  }

  /** Whether this map has seen every update and remove `other` has (`this ⊔ other = this`). */
  descends(other: ORMap): boolean {
    return causalDescends(this.ctx, placesOf(this.store), other.ctx, placesOf(other.store));
  }

  /** Whether both maps are the same state (same fields, nested states and history). */
  equals(other: ORMap): boolean {
    return equalContexts(this.ctx, other.ctx) && equalMapStores(this.store, other.store);
  }
}

function placesOf(store: MapStore): ReturnType<typeof dotPlaces> {
  return dotPlaces((visit) => visitMapDots(store, '', visit));
}
