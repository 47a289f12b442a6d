/**
 * Which keys a store may hold, in a few bytes per key: a Bloom filter (Bloom, 1970) that
 * grows as keys are added, as a series of filters each twice the size of the one before
 * (Almeida, Baquero, Preguiça and Hutchison, "Scalable Bloom Filters", 2007). Each filter is
 * split into 64-byte blocks and a key's bits all fall in one block (Putze, Sanders and
 * Singler, "Cache-, Hash- and Space-Efficient Bloom Filters", 2007), so asking about a key
 * touches one cache line per filter.
 *
 * "Not there" is certain; "maybe" is wrong for about 1 key in 2,000 to 50,000 that were
 * never added (see {@link FIRST_BITS_PER_KEY}). Keys are never taken out: a deleted key
 * stays a "maybe". LevelStorage keeps one of these so that a read of a key it never stored
 * needs no trip to LevelDB (./level.ts).
 * @module
 */
import { hashBytes } from '../bytes-hash.js';

/** Bits in a block: one 64-byte cache line. */
const BLOCK_BITS = 512;
const BLOCK_WORDS = BLOCK_BITS / 32;
/**
 * Keys the first filter takes before a second, twice as large, is added: 320 KiB to start
 * with, so a store of up to ~130k keys has a single filter.
 */
const FIRST_CAPACITY = 1 << 17;
/**
 * Bits per key in the first filter; each later filter gets one more, so that their false
 * positive rates shrink as they grow. Measured: 1 key in 50,000 never added answers "maybe"
 * at 100k keys, 1 in 1,900 at 1M (2.6–6.2 bytes a key past the first filter). Each "maybe"
 * is a read LevelStorage makes through the thread pool; at 1 in 100 (10 bits a key), those
 * lone reads cost a cluster on LevelStorage a fifth of its puts.
 */
const FIRST_BITS_PER_KEY = 20;

/** One filter of the series. */
interface Filter {
  readonly words: Int32Array;
  readonly blocks: number;
  /** Bits set per key. */
  readonly probes: number;
  /** Keys it takes before the next filter is added. */
  readonly capacity: number;
  readonly bitsPerKey: number;
}

function filterFor(capacity: number, bitsPerKey: number): Filter {
  const blocks = Math.max(1, Math.ceil((capacity * bitsPerKey) / BLOCK_BITS));
  // The optimal count, bits per key times ln 2, capped: more probes than this cost time
  // and gain little in a 512-bit block.
  const probes = Math.min(16, Math.round(bitsPerKey * Math.LN2));
  return { words: new Int32Array(blocks * BLOCK_WORDS), blocks, probes, capacity, bitsPerKey };
}

/**
 * Seed of the second hash, which places the bits within the block the first chose. A
 * second pass over the key rather than the first hash remixed: keys whose first hashes
 * collide (one pair in 2^32, so one "maybe" in ~43 at 100M keys) then still differ in the
 * second.
 */
const SECOND_SEED = 0x9747b28c;

/** Where {@link locate} leaves a key's bits: word indexes and masks, `probes` of each. */
const wordAt = new Int32Array(16);
const maskAt = new Int32Array(16);

/**
 * Puts `key`'s bits in `filter` into {@link wordAt} and {@link maskAt}: h1 picks the block,
 * and a xorshift generator seeded with h2 picks the bits in it. (Double hashing, the usual
 * way, is too regular within 512 bits: keys whose probe sequences share a step overlap, and
 * false positives came out ten times the rate the bits per key promise.)
 */
function locate(filter: Filter, h1: number, h2: number): void {
  // Multiply-shift: the high bits of h1 spread keys evenly over any number of blocks.
  const base = Math.floor(((h1 >>> 0) * filter.blocks) / 0x1_0000_0000) * BLOCK_WORDS;
  let x = h2 === 0 ? 0x6d2b79f5 : h2;
  for (let i = 0; i < filter.probes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const bit = x >>> 23;
    wordAt[i] = base + (bit >>> 5);
    maskAt[i] = 1 << (bit & 31);
  }
}

export class KeyFilter {
  readonly #filters: Filter[];
  /** Keys added to the newest filter. */
  #count = 0;

  /** @param firstCapacity keys the first filter takes before the next is added (tests make it small) */
  constructor(firstCapacity = FIRST_CAPACITY) {
    if (!Number.isSafeInteger(firstCapacity) || firstCapacity < 1) throw new RangeError(`firstCapacity must be a positive integer, got ${firstCapacity}`);
    this.#filters = [filterFor(firstCapacity, FIRST_BITS_PER_KEY)];
  }

  /** False when `key` was certainly never added; true when it was, or (rarely) when it only may have been. */
  mayContain(key: Uint8Array): boolean {
    return this.#find(hashBytes(key), hashBytes(key, SECOND_SEED));
  }

  /** Adds `key`: from now on {@link mayContain} says true for it. */
  add(key: Uint8Array): void {
    const h1 = hashBytes(key);
    const h2 = hashBytes(key, SECOND_SEED);
    // A key some filter already answers for is not added again: rewrites of the same keys
    // must not grow the series.
    if (this.#find(h1, h2)) return;
    let newest = this.#filters[this.#filters.length - 1]!;
    if (this.#count >= newest.capacity) {
      newest = filterFor(newest.capacity * 2, newest.bitsPerKey + 1);
      this.#filters.push(newest);
      this.#count = 0;
    }
    locate(newest, h1, h2);
    for (let i = 0; i < newest.probes; i++) newest.words[wordAt[i]!]! |= maskAt[i]!;
    this.#count++;
  }

  /** Bytes the filters take. */
  get bytes(): number {
    return this.#filters.reduce((n, f) => n + f.words.byteLength, 0);
  }

  /** Filters in the series (for tests). */
  get filters(): number {
    return this.#filters.length;
  }

  #find(h1: number, h2: number): boolean {
    for (const filter of this.#filters) {
      locate(filter, h1, h2);
      let all = true;
      for (let i = 0; i < filter.probes && all; i++) all = (filter.words[wordAt[i]!]! & maskAt[i]!) !== 0;
      if (all) return true;
    }
    return false;
  }
}
