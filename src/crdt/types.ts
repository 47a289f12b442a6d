/**
 * Types shared by the CRDT modules: the type tags that name each CRDT in its encoding and in
 * an {@link ORMap} field, and the shape of a CRDT class as a value.
 * @module
 */
import type { LWWRegister } from './lww-register.js';
import type { ORMap } from './or-map.js';
import type { ORSet } from './or-set.js';
import type { PNCounter } from './pn-counter.js';

/**
 * Values that ORSet elements and LWWRegister values may hold: plain CBOR data. Compared by
 * their canonical CBOR encoding, so `{a: 1, b: 2}` and `{b: 2, a: 1}` are one element, `-0`
 * is `0`, and `5` and `5n` differ. Strings must be well-formed Unicode (no lone surrogates);
 * objects must be plain (`Object.prototype` or `null` prototype), arrays plain `Array`s;
 * nesting is limited to 32 levels. `undefined`, functions, `Map`, `Date` and class instances
 * are refused with a `ValidationError`.
 */
export type PlainValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | readonly PlainValue[]
  | { readonly [key: string]: PlainValue };

/** The type tag each CRDT is stored under: the first item of its encoding. */
export type CrdtTag = 'orset' | 'ormap' | 'pncounter' | 'lwwregister';

/** Every tag, in the order fields of different types under one name are sorted. */
export const CRDT_TAGS: readonly CrdtTag[] = Object.freeze(['lwwregister', 'ormap', 'orset', 'pncounter']);

/** Any of the CRDTs of this module. */
export type Crdt = ORSet<any> | ORMap | PNCounter | LWWRegister<any>;

/**
 * A CRDT class used as a value, e.g. `PNCounter` in `map.update(actor, 'qty', PNCounter, fn)`:
 * its tag and its empty state.
 */
export interface CrdtType<C extends Crdt = Crdt> {
  /** The type tag the CRDT is stored under. */
  readonly tag: CrdtTag;
  /** The CRDT's empty state (no one has changed it). */
  empty(): C;
}
