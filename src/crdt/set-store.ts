/**
 * The dot store of an add-wins observed-remove set: each element present with the dots of
 * the adds that put it there (a "DotMap⟨E, DotSet⟩" in Almeida, Shoker, Baquero, "Delta
 * State Replicated Data Types", JPDC 2018, §7.2, "add-wins set"). Shared by ORSet and by
 * ORMap's set fields, whose stores all live under the map's one causal context.
 *
 * Entries are sorted by the canonical encoding of their element (bytewise), each with a
 * non-empty, sorted list of dots, so equal stores are equal entry by entry.
 * @module
 */
import { dotKey, equalDots, joinDots, type CausalContext, type Dot, type Dots } from './dots.js';

/** One element and the dots of the adds that are still live for it. */
export interface SetEntry {
  /** {@link keyOf} of `bytes`: compares as the bytes do. */
  readonly key: string;
  /** Canonical CBOR of the element. */
  readonly bytes: Uint8Array;
  /** Never empty. */
  readonly dots: Dots;
}

export type SetStore = readonly SetEntry[];

/** Index of the entry with `key`, or `-(insertion point) - 1` when there is none. */
export function findEntry(store: SetStore, key: string): number {
  let lo = 0;
  let hi = store.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = store[mid]!.key;
    if (k === key) return mid;
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

/** `store` with the entry at `index` (from {@link findEntry}) replaced, inserted or, if `entry` is undefined, removed. */
export function setEntryAt(store: SetStore, index: number, entry: SetEntry | undefined): SetStore {
  const out = store.slice();
  if (index >= 0) {
    if (entry === undefined) out.splice(index, 1);
    else out[index] = entry;
  } else if (entry !== undefined) {
    out.splice(-index - 1, 0, entry);
  }
  return out;
}

/** The join of two set stores under their contexts; elements left with no dot are gone. */
export function joinSetStores(a: SetStore, ca: CausalContext, b: SetStore, cb: CausalContext): SetStore {
  if (a === b) return a;
  const out: SetEntry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    const c = x === undefined ? 1 : y === undefined ? -1 : x.key === y.key ? 0 : x.key < y.key ? -1 : 1;
    const left = c <= 0 ? x!.dots : [];
    const right = c >= 0 ? y!.dots : [];
    const dots = joinDots(left, ca, right, cb);
    const base = c <= 0 ? x! : y!;
    if (dots.length > 0) out.push(equalDots(dots, base.dots) ? base : { key: base.key, bytes: base.bytes, dots });
    if (c <= 0) i++;
    if (c >= 0) j++;
  }
  return out;
}

/** Whether two set stores hold the same elements with the same dots. */
export function equalSetStores(a: SetStore, b: SetStore): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.key !== b[i]!.key || !equalDots(a[i]!.dots, b[i]!.dots)) return false;
  }
  return true;
}

/** Calls `visit` with every live dot and a string naming where it is (`prefix` + element). */
export function visitSetDots(store: SetStore, prefix: string, visit: (dot: Dot, at: string) => void): void {
  for (const entry of store) {
    const at = `${prefix}e${entry.key}`;
    for (const dot of entry.dots) visit(dot, at);
  }
}

/** Every live dot of `visitor`'s store by {@link dotKey}, with where it is. */
export function dotPlaces(visitor: (visit: (dot: Dot, at: string) => void) => void): Map<string, { dot: Dot; at: string }> {
  const places = new Map<string, { dot: Dot; at: string }>();
  visitor((dot, at) => places.set(dotKey(dot), { dot, at }));
  return places;
}
