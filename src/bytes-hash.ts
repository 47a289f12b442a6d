/**
 * A fast, non-cryptographic 32-bit hash of a byte string, for spreading keys over the parts
 * of in-process tables: MemoryStorage's key table (../storage/key-table.ts), the replica
 * key lock's stripes (../replica/key-lock.ts) and LevelStorage's key filter
 * (../storage/key-filter.ts). Never stored or sent: it may change between
 * releases.
 * @module
 */

/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby, SMHasher; public domain), over `key`'s
 * bytes read as little-endian 32-bit words. Every byte goes through the multiply-rotate
 * mix and the final avalanche, so keys that share a long prefix (`cart:user-1`,
 * `cart:user-2`) and differ only at the end still spread over the parts by their top bits
 * and over the slots by their low ones. In process only, never stored: it may change.
 * @param seed another seed gives another hash, independent of the first (the key filter
 *   takes two)
 */
export function hashBytes(key: Uint8Array, seed = 0): number {
  const length = key.length;
  const words = length & ~3;
  let h = seed | 0;
  let i = 0;
  for (; i < words; i += 4) {
    h ^= mixWord(key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = length & 3;
  if (rest > 0) {
    let word = key[i]!;
    if (rest > 1) word |= key[i + 1]! << 8;
    if (rest > 2) word |= key[i + 2]! << 16;
    h ^= mixWord(word);
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function mixWord(word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}
