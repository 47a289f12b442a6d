/**
 * A hash table from byte-string keys to small non-negative integers, holding nothing the
 * garbage collector has to trace: MemoryStorage's index of a key space.
 *
 * A `Map` needs a JS string per key. In the in-process cluster (`bench/cluster.ts`) about
 * 330 of the ~430 bytes per put that survived a young-generation collection were those key
 * strings and the Maps' growing tables, and copying and then marking them is what set the
 * GC pauses behind the p99.9 latency. Here the slots are `Int32Array`s and the key bytes sit
 * in a {@link ValuePool} of the table's own (64 KiB pages), so storing a key leaves no new
 * object behind; a lookup makes none at all.
 *
 * Open addressing with linear probing (Knuth, TAOCP vol. 3, §6.4, Algorithm L), and
 * deletion by backward shift (ibid., Algorithm R): entries after a hole move back into it,
 * so no tombstones pile up and every probe ends at the first empty slot. A slot is three
 * int32s, `[hash, keyRef, value]`: with the full hash in the slot, a probe reads a key only
 * when the hashes agree, and growing never reads a key at all.
 *
 * The table is split 256 ways by the hash's top byte, and each part doubles on its own at
 * 70% load. Growing rehashes in one step, and a V8 `Map` doing that at 524k keys stalled
 * the process for 115 ms; a part holds a 256th of the keys, so its step is a 256th of that.
 * Parts never shrink: like the pool's pages, a table keeps its peak.
 *
 * Memory per key: 12 bytes a slot at 35–70% load (about 17–34 bytes) plus the key's chunk
 * in the pool (its length plus 2, rounded up to 16 bytes), none of it on the JS heap.
 * @module
 */
import { toLatin1 } from '../latin1.js';
import { LargeValues, ValuePool } from './value-pool.js';
import { hashBytes } from '../bytes-hash.js';

/** Parts per table: 2^PART_BITS, chosen by the hash's top bits. */
const PART_BITS = 8;
const PARTS = 1 << PART_BITS;
/** Int32s per slot, and where each field sits in it. */
const SLOT = 3;
const HASH = 0;
const KEY = 1;
const VALUE = 2;
/** The key ref of an empty slot; real refs are never negative. */
const EMPTY = -1;
/** Slots in a part when it is made (a power of two). */
const MIN_SLOTS = 8;
/** Set in a key ref that indexes the table's {@link LargeValues} rather than its pool. */
const LARGE = 1 << 30;

/** A 32-bit hash of `key`'s bytes, as a signed integer. */
export type KeyHash = (key: Uint8Array) => number;

export class KeyTable {
  /** Made on first use, so a space of a few keys costs a few small arrays. */
  readonly #parts: (Int32Array | undefined)[] = new Array<Int32Array | undefined>(PARTS).fill(undefined);
  /** Keys per part. */
  readonly #counts = new Int32Array(PARTS);
  readonly #pool = new ValuePool();
  /** Keys the pool declines (longer than 4094 bytes, or their size class full). */
  readonly #large = new LargeValues();
  readonly #hash: KeyHash;
  #size = 0;

  /** @param hash for tests: a weak hash forces the collisions a good one makes rare. */
  constructor(hash: KeyHash = hashBytes) {
    this.#hash = hash;
  }

  get size(): number {
    return this.#size;
  }

  /** The value of `key`, or -1 when it has none. */
  get(key: Uint8Array): number {
    const hash = this.#hash(key) | 0;
    const slots = this.#parts[hash >>> (32 - PART_BITS)];
    if (slots === undefined) return -1;
    const at = this.#find(slots, hash, key);
    return slots[at + KEY] === EMPTY ? -1 : slots[at + VALUE]!;
  }

  /**
   * Sets the value of `key` (an integer from 0 to 2^31 - 1), keeping a copy of the key if it
   * is new; the previous value, or -1 when there was none.
   */
  set(key: Uint8Array, value: number): number {
    if ((value | 0) !== value || value < 0) throw new RangeError(`KeyTable values are integers from 0 to 2^31 - 1, got ${value}`);
    const hash = this.#hash(key) | 0;
    const part = hash >>> (32 - PART_BITS);
    const slots = (this.#parts[part] ??= emptySlots(MIN_SLOTS));
    const at = this.#find(slots, hash, key);
    if (slots[at + KEY] !== EMPTY) {
      const old = slots[at + VALUE]!;
      slots[at + VALUE] = value;
      return old;
    }
    slots[at + HASH] = hash;
    slots[at + KEY] = this.#storeKey(key);
    slots[at + VALUE] = value;
    this.#size++;
    const count = this.#counts[part]! + 1;
    this.#counts[part] = count;
    // Growing after the insert is safe: below 70% load before it, a free slot was left.
    if (count * 10 > (slots.length / SLOT) * 7) this.#parts[part] = grow(slots);
    return -1;
  }

  /** Removes `key`; its value, or -1 when it had none. */
  delete(key: Uint8Array): number {
    const hash = this.#hash(key) | 0;
    const part = hash >>> (32 - PART_BITS);
    const slots = this.#parts[part];
    if (slots === undefined) return -1;
    const at = this.#find(slots, hash, key);
    const ref = slots[at + KEY]!;
    if (ref === EMPTY) return -1;
    const old = slots[at + VALUE]!;
    if ((ref & LARGE) === 0) this.#pool.free(ref);
    else this.#large.free(ref ^ LARGE);
    removeSlot(slots, at / SLOT);
    this.#counts[part] = this.#counts[part]! - 1;
    this.#size--;
    return old;
  }

  /** Every key as a Latin-1 string (../latin1.ts), in no particular order. */
  keys(): string[] {
    const out = new Array<string>(this.#size);
    let n = 0;
    for (const slots of this.#parts) {
      if (slots === undefined) continue;
      for (let at = 0; at < slots.length; at += SLOT) {
        const ref = slots[at + KEY]!;
        if (ref === EMPTY) continue;
        out[n++] = (ref & LARGE) === 0 ? toLatin1(this.#pool.view(ref)) : this.#large.text(ref ^ LARGE);
      }
    }
    return out;
  }

  /** Where `key` sits in `slots`, or the empty slot where it would go: an index of its HASH field. */
  #find(slots: Int32Array, hash: number, key: Uint8Array): number {
    const mask = slots.length / SLOT - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const at = i * SLOT;
      const ref = slots[at + KEY]!;
      if (ref === EMPTY) return at;
      if (slots[at + HASH] === hash && this.#keyEquals(ref, key)) return at;
    }
  }

  #keyEquals(ref: number, key: Uint8Array): boolean {
    return (ref & LARGE) === 0 ? this.#pool.equals(ref, key) : this.#large.equals(ref ^ LARGE, key);
  }

  /** A copy of `key` in the pool, or among the large keys when the pool declines it; its ref. */
  #storeKey(key: Uint8Array): number {
    return this.#pool.store(key) ?? LARGE | this.#large.add(key);
  }
}

/** A part of `count` slots (a power of two), all empty. */
function emptySlots(count: number): Int32Array {
  return new Int32Array(count * SLOT).fill(EMPTY);
}

/** `old`'s entries in a part twice its size, placed by the hashes kept in their slots. */
function grow(old: Int32Array): Int32Array {
  const slots = emptySlots((old.length / SLOT) * 2);
  const mask = slots.length / SLOT - 1;
  for (let from = 0; from < old.length; from += SLOT) {
    if (old[from + KEY] === EMPTY) continue;
    const hash = old[from + HASH]!;
    let i = hash & mask;
    while (slots[i * SLOT + KEY] !== EMPTY) i = (i + 1) & mask;
    const to = i * SLOT;
    slots[to + HASH] = hash;
    slots[to + KEY] = old[from + KEY]!;
    slots[to + VALUE] = old[from + VALUE]!;
  }
  return slots;
}

/**
 * Empties slot `hole`, then walks the run of full slots after it, moving back into the hole
 * each entry that may sit there, which opens a hole where it was (Knuth's Algorithm R). An
 * entry may not move to a slot before its home, its hash's first slot: its probe starts
 * there and would never reach it.
 */
function removeSlot(slots: Int32Array, hole: number): void {
  const mask = slots.length / SLOT - 1;
  for (let i = (hole + 1) & mask; ; i = (i + 1) & mask) {
    const from = i * SLOT;
    if (slots[from + KEY] === EMPTY) break;
    const home = slots[from + HASH]! & mask;
    // The entry stays when its home lies cyclically within (hole, i].
    if (hole <= i ? hole < home && home <= i : hole < home || home <= i) continue;
    const to = hole * SLOT;
    slots[to + HASH] = slots[from + HASH]!;
    slots[to + KEY] = slots[from + KEY]!;
    slots[to + VALUE] = slots[from + VALUE]!;
    hole = i;
  }
  slots[hole * SLOT + KEY] = EMPTY;
}
